//! `status` on state directories written by the real store writer, read at a given time.

mod plans;
mod sensor;

use std::collections::BTreeMap;

use super::health::View;
use super::*;
use crate::record::group;
use crate::record::Event;
use crate::record::EventKind;
use crate::record::PowerBlockBuilder;
use crate::record::PowerReading;
use crate::record::Record;
use crate::record::Run;
use crate::record::RunPhase;
use crate::record::Sample;
use crate::record::SampleBlockBuilder;
use crate::record::SampleLayout;
use crate::record::SealReason;
use crate::record::SourceId;
use crate::store::SegmentIdent;
use crate::store::Writer;

const S: u64 = 1_000_000;
/// Wall time of monotonic 0 in these logs: 2023-11-14 22:13:20 UTC.
const WALL0_US: i64 = 1_700_000_000_000_000;

fn at(mono_us: u64) -> Anchor {
    Anchor {
        mono_us,
        wall_unix_us: WALL0_US + mono_us as i64,
    }
}

fn cfg(dir: &Path) -> Config {
    Config {
        state_dir: dir.to_path_buf(),
        ..Config::default()
    }
}

/// A daemon session in `dir`, as the daemon writes it: start and config events, then
/// 10 Hz samples and power readings over `[0, until_us]` in 1 s blocks, then `extra`.
/// The writer is returned open (it holds the lock, as a running daemon does).
fn session(config: &Config, until_us: u64, extra: Vec<Record>) -> Writer {
    let (mut w, _) = Writer::open(
        config.store_options(),
        SegmentIdent::new("pi".into(), "boot".into()),
        at(0),
    )
    .unwrap();
    for kind in [
        EventKind::Start {
            version: "0.1.0".into(),
            pid: 1,
            interval_us: 100_000,
        },
        EventKind::Config {
            toml: config.to_toml(),
        },
    ] {
        w.append(&Record::Event(Event { mono_us: 0, kind }))
            .unwrap();
    }
    let layout = SampleLayout {
        cpus: 3,
        ..SampleLayout::default()
    };
    let mut samples = SampleBlockBuilder::with_key_every(layout.clone(), 1000);
    let mut power = PowerBlockBuilder::new(SourceId::Replay, "replay of t.csv", 100_000);
    for i in 0..=until_us / 100_000 {
        let mut s = Sample::empty(&layout);
        s.tick = i;
        s.mono_us = i * 100_000;
        s.set_valid(group::CPU, true);
        samples.push(&s).unwrap();
        power
            .push(&PowerReading::power_only(
                s.mono_us,
                SourceId::Replay,
                3_000_000,
            ))
            .unwrap();
        if i % 10 == 9 {
            let seq = w
                .append(&Record::Samples(samples.finish().unwrap()))
                .unwrap();
            samples.committed(seq);
            w.append(&Record::Power(power.finish().unwrap())).unwrap();
        }
    }
    if let Some(b) = samples.finish() {
        w.append(&Record::Samples(b)).unwrap();
    }
    if let Some(b) = power.finish() {
        w.append(&Record::Power(b)).unwrap();
    }
    for r in extra {
        w.append(&r).unwrap();
    }
    w.sync().unwrap();
    w
}

fn event(mono_us: u64, kind: EventKind) -> Record {
    Record::Event(Event { mono_us, kind })
}

fn status_at(config: &Config, now: Anchor) -> Status {
    status(config, now, &TimeZone::UTC).unwrap()
}

fn kinds(st: &Status) -> Vec<ConditionKind> {
    st.conditions.iter().map(|c| c.kind).collect()
}

#[test]
fn a_running_daemon_with_fresh_samples_and_readings_is_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let config = cfg(dir.path());
    let _w = session(&config, 30 * S, Vec::new());
    let st = status_at(&config, at(32 * S));
    assert_eq!(st.conditions, [], "{st:#?}");
    assert!(st.healthy());
    assert_eq!(st.daemon.state, DaemonState::Running);
    assert_eq!(st.daemon.pid, Some(std::process::id()));
    assert_eq!(st.last_sample_unix_us, Some(WALL0_US + 30_000_000));
    assert_eq!(st.last_sample_age_s, Some(2.0));
    assert_eq!(st.sensor.state, "ok");
    assert_eq!(st.sensor.source, "replay of t.csv");
    assert_eq!(st.sensor.last_reading_age_s, Some(2.0));
    let seg = st.segment.as_ref().unwrap();
    assert!(seg.open && seg.bytes > 0, "{seg:?}");
    assert_eq!(st.disk.segments, 1);
    assert_eq!(st.disk.log_bytes, seg.bytes);
    assert_eq!(st.disk.retain_bytes, 1 << 30);
    assert!(st.disk.fs_available_bytes.is_some());
}

#[test]
fn a_running_daemon_whose_samples_stopped_reaching_the_disk_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let config = cfg(dir.path());
    let _w = session(&config, 30 * S, Vec::new());
    // The default fsync interval is 5 s: samples older than 15 s are stale.
    let st = status_at(&config, at(46 * S));
    assert_eq!(
        kinds(&st),
        [ConditionKind::StaleSamples, ConditionKind::SensorLost]
    );
    assert!(
        st.conditions[0]
            .message
            .starts_with("the last sample logged 16 s ago (more than 15 s)"),
        "{:?}",
        st.conditions
    );
    assert!(status_at(&config, at(44 * S)).healthy());
}

#[test]
fn a_stopped_daemon_says_why_it_stopped_and_is_not_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let config = cfg(dir.path());
    let stop = event(
        30 * S,
        EventKind::Stop {
            reason: "SIGTERM".into(),
        },
    );
    let w = session(&config, 30 * S, vec![stop]);
    w.close(SealReason::Shutdown, 30 * S).unwrap();
    let st = status_at(&config, at(3600 * S));
    assert_eq!(st.daemon.state, DaemonState::Stopped);
    assert_eq!(st.daemon.stop_reason.as_deref(), Some("SIGTERM"));
    assert_eq!(st.daemon.stopped_unix_s, Some(1_700_000_030));
    assert_eq!(st.daemon.uptime_s, None);
    assert_eq!(kinds(&st), [ConditionKind::NotRunning], "{st:#?}");
    assert!(!st.segment.unwrap().open);
    // A stopped daemon's old samples are not "stale", nor is its sensor lost.
    assert_eq!(st.sensor.state, "ok");
}

#[test]
fn no_daemon_ever_and_no_directory_are_not_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let st = status_at(&cfg(dir.path()), at(S));
    assert_eq!(st.daemon.state, DaemonState::NeverStarted);
    assert_eq!(kinds(&st), [ConditionKind::NotRunning]);
    assert_eq!(st.last_sample_unix_us, None);
    let gone = dir.path().join("nope");
    let e = status(&cfg(&gone), at(S), &TimeZone::UTC).unwrap_err();
    assert!(matches!(e, StatusError::Dir { .. }), "{e}");
    assert!(e.to_string().contains("nope"), "{e}");
}

#[test]
fn a_log_past_retention_and_a_full_disk_are_conditions() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = cfg(dir.path());
    config.store.retain_bytes = 4096;
    config.store.segment_max_bytes = 4096;
    let _w = session(&config, 300 * S, Vec::new());
    let lock = lock_state(dir.path(), Path::new("/proc")).unwrap();
    let found = scan(dir.path(), None).unwrap();
    assert!(found.segments.iter().map(|s| s.len_bytes).sum::<u64>() > 8192);
    let saved = BTreeMap::new();
    let view = View {
        now: at(301 * S),
        lock: &lock,
        scan: &found,
        cfg: &config,
        saved: Ok(&saved),
        tz: &TimeZone::UTC,
        space: Some((1000, 1 << 30)),
    };
    let st = view.status(dir.path().to_path_buf());
    assert_eq!(
        kinds(&st),
        [ConditionKind::DiskFull, ConditionKind::OverRetention],
        "{:?}",
        st.conditions
    );
    assert_eq!(
        st.conditions[0].message,
        "disk full: 1000 bytes free, less than one segment (4096 bytes)"
    );
}

#[test]
fn a_torn_write_at_the_end_loses_nothing_written_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = cfg(dir.path());
    let w = session(&config, 30 * S, Vec::new());
    let seg = crate::store::list_segments(dir.path())
        .unwrap()
        .pop()
        .unwrap();
    drop(w); // a crash: the segment stays open
             // The fault, for real: half a frame of garbage appended, as a torn write leaves it.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&seg.path)
        .unwrap();
    std::io::Write::write_all(&mut f, &[0x41, 0x17, 0x99, 0x03]).unwrap();
    let st = status_at(&config, at(31 * S));
    assert_eq!(st.last_sample_unix_us, Some(WALL0_US + 30_000_000));
    assert_eq!(st.sensor.last_reading_unix_us, Some(WALL0_US + 30_000_000));
    assert_eq!(
        st.damage, "",
        "the open segment's unterminated tail is not damage"
    );
    // The daemon did not stop cleanly: not running, no stop reason.
    assert_eq!(st.daemon.state, DaemonState::Stopped);
    assert_eq!(
        st.conditions[0].message,
        "the daemon is not running (it did not stop cleanly)"
    );
}
