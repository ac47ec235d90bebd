//! Replaying Power records written by the real store writer.

use std::path::Path;

use super::super::flags;
use super::super::PowerReading;
use super::super::PowerSource;
use super::super::SourceId;
use super::*;
use crate::clock::Anchor;
use crate::config::StoreConfig;
use crate::record::Event;
use crate::record::EventKind;
use crate::record::PowerBlockBuilder;
use crate::record::Record;
use crate::record::SealReason;
use crate::store::SegmentIdent;
use crate::store::Writer;

const INA: &str = "ina219 0x40 on /dev/i2c-1, 10000 µΩ shunt";
const PMIC: &str = "pmic rails (no 5 V input current)";

fn block(source: SourceId, label: &str, period_us: u64, readings: &[PowerReading]) -> Record {
    let mut b = PowerBlockBuilder::new(source, label, period_us);
    for r in readings {
        b.push(r).unwrap();
    }
    Record::Power(b.finish().unwrap())
}

fn ina(mono_us: u64, current_ua: i64, flags: u32) -> PowerReading {
    PowerReading {
        mono_us,
        source: SourceId::Ina219,
        bus_uv: Some(5_100_000),
        current_ua: Some(current_ua),
        power_uw: 5_100_000 * current_ua / 1_000_000,
        shunt_uv: Some(current_ua / 100),
        flags,
    }
}

/// One daemon session: opens the store at `mono_us`, appends `records`, seals.
fn session(dir: &Path, boot_id: &str, mono_us: u64, records: &[Record]) {
    let ident = SegmentIdent {
        device_id: "dev".into(),
        boot_id: boot_id.into(),
        host: "pi".into(),
    };
    let anchor = Anchor {
        mono_us,
        wall_unix_us: 1_700_000_000_000_000,
    };
    let (mut w, _) = Writer::open(
        StoreConfig::default().options(dir.to_path_buf()),
        ident,
        anchor,
    )
    .unwrap();
    for r in records {
        w.append(r).unwrap();
    }
    w.close(SealReason::Shutdown, mono_us + 1_000_000).unwrap();
}

/// Polls `src` from `start_us` every `step_us` until it ends; the readings played.
fn play(src: &mut ReplaySource, start_us: u64, step_us: u64) -> Vec<PowerReading> {
    let mut out = Vec::new();
    let mut now = start_us;
    loop {
        match src.poll(now) {
            Ok(Some(r)) => out.push(r),
            Ok(None) => now += step_us,
            Err(PowerError::Ended { .. }) => return out,
            Err(e) => panic!("{e}"),
        }
    }
}

/// A record that is not a power reading.
fn note() -> Record {
    Record::Event(Event {
        mono_us: 1,
        kind: EventKind::Stop {
            reason: "test".into(),
        },
    })
}

#[test]
fn a_state_directory_replays_every_power_reading_on_the_clock() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let note = note();
    // Boot a: two INA219 blocks 10 ms apart, one reading flagged stuck.
    session(
        &dir,
        "boot-a",
        2_000_000,
        &[
            note.clone(),
            block(
                SourceId::Ina219,
                INA,
                10_000,
                &[ina(2_000_000, 600_000, 0), ina(2_010_000, 601_000, 0)],
            ),
            block(
                SourceId::Ina219,
                INA,
                10_000,
                &[ina(2_020_000, 602_000, flags::STUCK)],
            ),
        ],
    );
    // Boot b: the monotonic clock restarted; a PMIC reading, then another 250 ms later.
    session(
        &dir,
        "boot-b",
        40_000,
        &[
            block(
                SourceId::Pmic,
                PMIC,
                100_000,
                &[
                    PowerReading::power_only(50_000, SourceId::Pmic, 4_200_000),
                    PowerReading::power_only(300_000, SourceId::Pmic, 4_300_000),
                ],
            ),
            note,
        ],
    );
    let mut src = ReplaySource::open(&dir).unwrap();
    assert_eq!(src.len(), 5);
    assert_eq!(src.period_us(), 10_000, "the first block's recorded period");
    assert_eq!(
        src.label(),
        format!(
            "replay of {} (5 readings recorded by {INA} | {PMIC}; not measured now)",
            dir.display()
        )
    );
    let played = play(&mut src, 7_000_000, 1_000);
    let expect = |t, r: PowerReading| PowerReading {
        mono_us: t,
        source: SourceId::Replay,
        ..r
    };
    // Boot b starts one recorded period (10 ms) after boot a's last reading (at +20 ms),
    // and keeps its own spacing (250 ms).
    assert_eq!(
        played,
        [
            expect(7_000_000, ina(0, 600_000, 0)),
            expect(7_010_000, ina(0, 601_000, 0)),
            expect(7_020_000, ina(0, 602_000, flags::STUCK)),
            PowerReading::power_only(7_030_000, SourceId::Replay, 4_200_000),
            PowerReading::power_only(7_280_000, SourceId::Replay, 4_300_000),
        ]
    );
}

#[test]
fn one_segment_file_replays_its_own_readings() {
    let tmp = tempfile::tempdir().unwrap();
    session(
        tmp.path(),
        "boot-a",
        1_000,
        &[block(
            SourceId::Ina219,
            INA,
            10_000,
            &[ina(5_000, 1_000_000, 0), ina(17_000, 2_000_000, 0)],
        )],
    );
    session(
        tmp.path(),
        "boot-a",
        90_000,
        &[block(SourceId::Ina219, INA, 10_000, &[ina(95_000, 1, 0)])],
    );
    let first = tmp.path().join(format!("{:020}.ewlog", 0));
    let mut src = ReplaySource::open(&first).unwrap();
    assert!(src.label().starts_with(&format!(
        "replay of {} (2 readings recorded by {INA};",
        first.display()
    )));
    let played: Vec<(u64, i64)> = play(&mut src, 100, 1)
        .iter()
        .map(|r| (r.mono_us, r.current_ua.unwrap()))
        .collect();
    assert_eq!(played, [(100, 1_000_000), (12_100, 2_000_000)]);
}

#[test]
fn a_log_without_power_readings_is_a_named_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    session(&dir, "boot-a", 1_000, &[note()]);
    let e = ReplaySource::open(&dir).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "replay trace {}: the log holds no power readings (Power records); replay a log \
             recorded with a power source configured ([power] source), or a CSV trace",
            dir.display()
        )
    );
    let seg = dir.join(format!("{:020}.ewlog", 0));
    let e = ReplaySource::open(&seg).unwrap_err().to_string();
    assert!(e.starts_with(&format!(
        "replay trace {}: the log holds no power",
        seg.display()
    )));
}

#[test]
fn a_path_that_is_no_trace_says_what_it_should_be() {
    let tmp = tempfile::tempdir().unwrap();
    let e = ReplaySource::open(tmp.path()).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "replay trace {}: a directory, but no edgewatt segments",
            tmp.path().display()
        )),
        "{e}"
    );
    let bin = tmp.path().join("trace.bin");
    std::fs::write(&bin, [0xff, 0xfe, 0x00, 0x01]).unwrap();
    let e = ReplaySource::open(&bin).unwrap_err().to_string();
    assert!(
        e.contains("neither a CSV trace (it is not text), an edgewatt segment (*.ewlog) nor a state directory"),
        "{e}"
    );
    // A damaged header costs only the header (the store still reads the frames after
    // it); here there are none, so nothing to replay, said with the file's name.
    let bad = tmp.path().join("bad.ewlog");
    std::fs::write(&bad, b"EDGEWATT\x00\x05\x01\x00").unwrap();
    let e = ReplaySource::open(&bad).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "replay trace {}: the log holds no power readings",
            bad.display()
        )),
        "{e}"
    );
}

/// A later boot whose clock reads later than the last reading (a long uptime) is placed one
/// period after it too, not after the gap between two unrelated clocks; a daemon restart
/// in the same boot keeps its real gap; a corrupt frame costs its own readings only.
#[test]
fn boots_are_joined_by_one_period_and_damage_costs_only_its_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let one = |t: u64, ua: i64| block(SourceId::Ina219, INA, 10_000, &[ina(t, ua, 0)]);
    session(
        &dir,
        "boot-a",
        1_000_000,
        &[one(1_000_000, 1), one(1_010_000, 2)],
    );
    // Same boot, 1 s later: the gap is real.
    session(
        &dir,
        "boot-a",
        2_000_000,
        &[one(2_010_000, 3), one(2_020_000, 33)],
    );
    // Another boot with a clock far ahead.
    session(
        &dir,
        "boot-b",
        90_000_000,
        &[one(90_000_000, 4), one(90_020_000, 5)],
    );
    let second = dir.join(format!("{:020}.ewlog", 3));
    // Its first frame (reading 3) is damaged.
    let mut bytes = std::fs::read(&second).unwrap();
    let (at, len) = crate::store::SegmentReader::open(&second)
        .unwrap()
        .items()
        .map(|i| (i.offset(), i.end() - i.offset()))
        .next()
        .unwrap();
    bytes[(at + len / 2) as usize] ^= 0x04;
    std::fs::write(&second, &bytes).unwrap();

    let mut src = ReplaySource::open(&dir).unwrap();
    let played: Vec<(u64, i64)> = play(&mut src, 0, 1_000)
        .iter()
        .map(|r| (r.mono_us, r.current_ua.unwrap()))
        .collect();
    // Replay time starts at the first poll: 0, 10 ms; reading 3 is lost, 33 keeps its
    // place 1.01 s later (same boot); boot b one period after, with its own 20 ms spacing.
    assert_eq!(
        played,
        [
            (0, 1),
            (10_000, 2),
            (1_020_000, 33),
            (1_030_000, 4),
            (1_050_000, 5)
        ],
        "the corrupt frame at {}:{at}",
        second.display()
    );
}
