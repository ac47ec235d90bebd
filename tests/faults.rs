//! Faults the daemon and the readers meet on a real machine: a stalled process, a segment
//! damaged in the middle.

use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use edgewatt::clock::Anchor;
use edgewatt::config::StoreConfig;
use edgewatt::record::Event;
use edgewatt::record::EventKind;
use edgewatt::record::Record;
use edgewatt::record::SampleBlockBuilder;
use edgewatt::record::SealReason;
use edgewatt::store::SegmentIdent;
use edgewatt::store::Writer;
use serde_json::Value;

use crate::common::dump;
use crate::common::dump_damaged;
use crate::common::inspect;
use crate::common::inspect_damaged;
use crate::common::signal;
use crate::common::Ready;

#[test]
fn a_stalled_daemon_logs_late_ticks_and_stays_on_its_grid() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let child = Ready::new(dir.path()).run(&state, 50);
    std::thread::sleep(Duration::from_millis(600));
    signal(child.id(), libc::SIGSTOP);
    std::thread::sleep(Duration::from_millis(400));
    signal(child.id(), libc::SIGCONT);
    std::thread::sleep(Duration::from_millis(400));
    signal(child.id(), libc::SIGTERM);
    assert!(child.wait_with_output().unwrap().status.success());

    let records = dump(&state);
    let late: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"] == "sampler_late")
        .collect();
    let missed: u64 = late.iter().map(|e| e["missed"].as_u64().unwrap()).sum();
    // 400 ms stopped at 20 ms per tick: about 20 ticks skipped, not replayed in a burst.
    assert!((15..=25).contains(&missed), "missed {missed}: {late:?}");
    let ticks: Vec<u64> = records
        .iter()
        .filter(|r| r["type"] == "sample")
        .map(|r| r["tick"].as_u64().unwrap())
        .collect();
    let skipped: u64 = ticks.windows(2).map(|w| w[1] - w[0] - 1).sum();
    assert_eq!(
        skipped, missed,
        "the samples' tick numbers show the same hole"
    );
    let seg = &inspect(&state)[0];
    assert!(seg["gaps"].as_u64().unwrap() >= 1, "{seg}");
    assert!(seg["largest_gap_ms"].as_u64().unwrap() >= 350, "{seg}");
}

#[test]
fn a_segment_damaged_in_the_middle_keeps_every_other_record() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    // Blocks every 100 ms continue each other, with a key block every second: damage
    // costs at most the samples up to the next key block.
    let config = dir.path().join("edgewatt.toml");
    std::fs::write(
        &config,
        "[store]\nfsync_interval_ms = 100\nkey_block_interval_s = 1\n[power]\nsource = \"none\"\n",
    )
    .unwrap();
    crate::common::ok(
        &state,
        &[
            "run",
            "--rate-hz",
            "50",
            "--duration-s",
            "4",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let before = dump(&state);
    let seg = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "ewlog"))
        .unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 8] {
        *b ^= 0xA5;
    }
    std::fs::write(&seg, &bytes).unwrap();

    let (after, err) = dump_damaged(&state);
    assert!(err.contains("corrupt bytes at offset"), "{err}");
    assert!(
        err.contains(&seg.display().to_string()),
        "names the file: {err}"
    );
    let samples = |v: &[Value]| v.iter().filter(|r| r["type"] == "sample").count();
    let lost = samples(&before) - samples(&after);
    assert!(lost > 0, "the damaged block's samples are gone");
    // One damaged block, plus the continuations up to the next key block: ≤ 1 s + 1 block.
    assert!(lost <= 50 + 5, "{lost} samples lost");
    // Blocks that follow a lost one say so, rather than being misread or silently dropped.
    let missing_base = err.matches("unreadable up to the next key block").count();
    let corrupt = err.matches("corrupt bytes at offset").count();
    assert!(corrupt + missing_base >= 1, "{err}");
    // Every record that survived is exactly as it was written: nothing misread.
    for r in &after {
        assert!(before.contains(r), "misread record {r}");
    }
    let summary = &inspect_damaged(&state)[0];
    assert!(
        summary["corrupt_frames"].as_u64().unwrap() >= 1,
        "{summary}"
    );
}

/// One flipped bit in a segment's header (byte 20, the anchor): `dump` still prints every
/// record, with `wall` null until a clock-step event re-anchors; `inspect` counts them
/// and says the header is damaged.
#[test]
fn a_damaged_header_loses_only_device_boot_and_wall_times() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let seg = write_samples_events_and_a_clock_step(&state);

    let before = dump(&state);
    assert_eq!(before.len(), 20 + 3 + 1, "samples, events, seal");
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[20] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();

    let (after, err) = dump_damaged(&state);
    assert!(
        err.contains("header frame unreadable (CRC mismatch)")
            && err.contains("wall times unknown"),
        "{err}"
    );
    // Every record is there, as written; before the clock step its wall time is unknown.
    let mut want = before.clone();
    for v in &mut want[..21] {
        v["wall"] = Value::Null;
    }
    assert_eq!(after, want);
    assert_eq!(after[22]["wall"], before[22]["wall"]);
    assert!(after[22]["wall"].is_string());

    // A time filter cannot place records of unknown wall time: only re-anchored ones pass.
    let out = crate::common::ok(
        &state,
        &[
            "dump",
            "--format",
            "jsonl",
            "--since",
            "1700000000",
            "--allow-damaged",
        ],
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 3);
    check_inspect_names_the_damaged_header(&state);
}

/// A sealed segment in `state`: 20 samples, a stop event, a clock step, another stop
/// event; returns its path.
fn write_samples_events_and_a_clock_step(state: &Path) -> PathBuf {
    let ident = SegmentIdent::new("dev-1".into(), "boot-a".into());
    let anchor = Anchor {
        mono_us: 1_000_000,
        wall_unix_us: 1_700_000_000_000_000,
    };
    let (mut w, _) = Writer::open(
        StoreConfig::default().options(state.to_path_buf()),
        ident,
        anchor,
    )
    .unwrap();
    let layout = edgewatt::synth::pi5_layout();
    let mut block = SampleBlockBuilder::new(layout.clone());
    for s in edgewatt::synth::trace(&layout, 20, 3) {
        block.push(&s).unwrap();
    }
    let event = |mono_us, kind| Record::Event(Event { mono_us, kind });
    w.append(&Record::Samples(block.finish().unwrap())).unwrap();
    let stop = || EventKind::Stop {
        reason: "test".into(),
    };
    w.append(&event(2_000_000, stop())).unwrap();
    let step = EventKind::ClockStep {
        old_offset_us: 1_699_999_999_000_000,
        new_offset_us: 1_700_000_100_000_000,
        wall_unix_us: 1_700_000_103_000_000,
    };
    w.append(&event(3_000_000, step)).unwrap();
    w.append(&event(4_000_000, stop())).unwrap();
    w.close(SealReason::Shutdown, 5_000_000).unwrap()
}

/// `inspect` on the segment whose header lost a bit: it says so, and still counts every
/// sample and frame.
fn check_inspect_names_the_damaged_header(state: &Path) {
    let seg = &inspect_damaged(state)[0];
    assert_eq!(seg["header_ok"], false, "{seg}");
    assert_eq!(
        seg["header_error"], "header frame unreadable (CRC mismatch)",
        "{seg}"
    );
    assert_eq!(seg["device_id"], Value::Null);
    assert_eq!(seg["first_wall"], Value::Null);
    assert_eq!(
        (seg["samples"].as_u64(), seg["frames"].as_u64()),
        (Some(20), Some(5))
    );
    assert_eq!(seg["seal_reason"], "Shutdown");
}

/// A daemon writing its open segment: `dump` and `inspect` exit 0 on its directory, also
/// when they meet the frame it is writing (an unterminated last frame, made here by hand
/// so the test does not depend on catching a write). A segment that cannot be read exits 1.
#[test]
fn a_live_daemons_directory_reads_clean_and_an_unreadable_segment_fails() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut child = Ready::new(dir.path()).run(&state, 20);
    crate::common::ok(&state, &["dump", "--format", "jsonl"]);
    crate::common::ok(&state, &["inspect"]);
    child.kill().unwrap();
    child.wait().unwrap();

    let open = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".ewlog.open"))
        .expect("the killed daemon's open segment");
    let mut bytes = std::fs::read(&open).unwrap();
    bytes.extend_from_slice(&[0x07, 0x01, 0x02]);
    std::fs::write(&open, &bytes).unwrap();
    let records = dump(&state);
    assert!(records.iter().any(|r| r["event"] == "start"));
    let seg = &inspect(&state)[0];
    assert_eq!(seg["open"], true, "{seg}");
    assert_eq!(seg["unterminated_tail_bytes"], 3, "{seg}");
    assert_eq!(
        (seg["corrupt_frames"].as_u64(), seg["damaged"].as_bool()),
        (Some(0), Some(false))
    );

    // There but not readable (a directory: root reads any file): damage, exit 1. (One that
    // is not there is a wrong path, exit 2: `cli_options`.)
    let unreadable = dir.path().join("00000000000000000007.ewlog");
    std::fs::create_dir(&unreadable).unwrap();
    let out = crate::common::edgewatt()
        .args(["dump", "--segment"])
        .arg(&unreadable)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&unreadable.display().to_string()) && err.contains("1 unreadable segments"),
        "{err}"
    );
}
