//! The CLI end to end on fixture trees: exact values in, exact values out; bad input
//! gives clear errors naming the thing.

use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::common::dump;
use crate::common::edgewatt;
use crate::common::inspect;
use crate::common::run_config;
use crate::common::signal;
use crate::common::Ready;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A config reading the fixture tree `name`, writing to `dir/state`.
fn fixture_config(dir: &Path, name: &str) -> PathBuf {
    let root = fixture(name);
    let path = dir.join("edgewatt.toml");
    std::fs::write(
        &path,
        format!(
            "state_dir = \"{}\"\ndevice_id = \"test-pi\"\n[sampler]\nrate_hz = 20\n\
             proc_root = \"{}\"\nsys_root = \"{}\"\n[store]\nfsync_interval_ms = 100\n",
            dir.join("state").display(),
            root.join("proc").display(),
            root.join("sys").display()
        ),
    )
    .unwrap();
    path
}

fn of_type<'a>(records: &'a [Value], t: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == t).collect()
}

fn events<'a>(records: &'a [Value], name: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["event"] == name).collect()
}

#[test]
fn a_run_on_the_pi5_fixture_logs_its_exact_values() {
    let dir = tempfile::tempdir().unwrap();
    let config = fixture_config(dir.path(), "pi5");
    run_config(&config, "0.5");
    let records = dump(&dir.path().join("state"));
    let samples = of_type(&records, "sample");
    // 0.5 s at 20 Hz: ticks 0..=10, sampled or reported missed.
    let ticks = samples.len() as u64 + crate::common::missed_ticks(&records);
    assert!((10..=12).contains(&ticks), "{} samples", samples.len());
    let s = samples[0];
    assert_eq!(s["cpu_ticks"][0]["user"], 41234);
    assert_eq!(s["cpu_ticks"][0]["idle"], 903_412);
    assert_eq!(
        s["cpu_ticks"].as_array().unwrap().len(),
        5,
        "aggregate + 4 cores"
    );
    assert_eq!(s["cpu_ticks"][1]["user"], 10412);
    assert_eq!(s["mem_kb"]["total"], 8_245_616);
    assert_eq!(s["mem_kb"]["available"], 7_380_944);
    assert_eq!(s["temps_mc"]["thermal_zone0:cpu-thermal"], 52300);
    assert_eq!(s["freqs_khz"]["policy0"], 2_400_000);
    assert_eq!(s["throttled"], 0x50005);
    let tick_numbers: Vec<u64> = samples
        .iter()
        .map(|s| s["tick"].as_u64().unwrap())
        .collect();
    let skipped: u64 = tick_numbers.windows(2).map(|w| w[1] - w[0] - 1).sum();
    assert_eq!(tick_numbers[0], 0);
    assert_eq!(
        skipped,
        crate::common::missed_ticks(&records),
        "every skipped tick is reported"
    );
    let start = events(&records, "start");
    assert_eq!(start.len(), 1);
    assert_eq!(start[0]["interval_us"], 50_000);
    assert_eq!(events(&records, "stop")[0]["reason"], "duration reached");
    assert!(events(&records, "config")[0]["toml"]
        .as_str()
        .unwrap()
        .contains("rate_hz = 20"));
    let seg = &inspect(&dir.path().join("state"))[0];
    assert_eq!(seg["device_id"], "test-pi");
    assert_eq!(seg["seal_reason"], "Shutdown");
    assert_eq!(seg["samples"], samples.len() as u64);
    assert_eq!(seg["corrupt_frames"], 0);
}

#[test]
fn unreadable_sources_are_logged_as_events_and_sampling_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = fixture_config(dir.path(), "broken");
    run_config(&config, "0.3");
    let records = dump(&dir.path().join("state"));
    let errors = events(&records, "read_error");
    assert!(
        errors
            .iter()
            .any(|e| e["source"].as_str().unwrap().contains("thermal_zone0/temp")),
        "a read error names the temperature file: {errors:?}"
    );
    let samples = of_type(&records, "sample");
    assert!(samples.len() >= 5, "sampling went on");
    assert!(samples
        .iter()
        .all(|s| s["temps_mc"]["thermal_zone0:cpu-thermal"].is_null()));
    assert!(
        samples.iter().all(|s| !s["mem_kb"].is_null()),
        "other readings still valid"
    );
}

#[test]
fn a_bad_config_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[sampler]\nrate_hz = 10\nrate = 5\n").unwrap();
    let out = edgewatt()
        .args(["config", "check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:3:1: unknown field `rate`", path.display())),
        "{err}"
    );
    std::fs::write(&path, "[sampler]\nrate_hz = 10\n").unwrap();
    let ok = edgewatt()
        .args(["config", "check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(ok.status.success());
}

#[test]
fn a_second_daemon_on_the_same_state_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut first =
        Ready::new(dir.path()).spawn(edgewatt().args(["run", "--state-dir"]).arg(&state));
    let second = edgewatt()
        .args(["run", "--duration-s", "1", "--state-dir"])
        .arg(&state)
        .output()
        .unwrap();
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(second.status.code(), Some(2));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains(&state.display().to_string()), "{err}");
    assert!(
        err.contains(&first.id().to_string()),
        "names the holder's pid: {err}"
    );
}

#[test]
fn an_unusable_state_dir_is_a_clear_error() {
    // /proc refuses new directories even to root.
    let out = edgewatt()
        .args([
            "run",
            "--duration-s",
            "1",
            "--state-dir",
            "/proc/edgewatt-state",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/proc/edgewatt-state"), "{err}");
}

#[test]
fn sigterm_flushes_and_seals() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let child = Ready::new(dir.path()).run(&state, 50);
    std::thread::sleep(Duration::from_millis(1500));
    signal(child.id(), libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let records = dump(&state);
    assert_eq!(events(&records, "stop")[0]["reason"], "SIGTERM");
    // ~1.5 s at 50 Hz, all flushed at the stop even though the fsync interval is 1 s.
    let n = of_type(&records, "sample").len();
    assert!((50..=90).contains(&n), "{n} samples");
    assert_eq!(inspect(&state)[0]["seal_reason"], "Shutdown");
}

#[test]
fn a_full_disk_keeps_the_daemon_sampling_and_names_the_segment() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config = crate::common::fast_config(dir.path(), 100);
    // dash's `ulimit -f` counts 512-byte blocks: 3 KiB per file. Writes past it fail
    // with EFBIG, as they would with ENOSPC on a full disk.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 6; exec \"$0\" run --rate-hz 50 --duration-s 3 --config \"$1\" --state-dir \"$2\"")
        .arg(edgewatt().get_program())
        .arg(&config)
        .arg(&state)
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "records were lost, so the run fails: {err}"
    );
    assert!(err.contains("File too large"), "{err}");
    assert!(
        err.contains(".ewlog.open"),
        "the error names the segment: {err}"
    );
    assert_eq!(
        err.matches("sampling goes on").count(),
        1,
        "one error line, not one per tick: {err}"
    );
    // What reached the disk is intact and readable, and the next start repairs it.
    crate::common::ok(&state, &["run", "--duration-s", "0.2"]);
    let segments = inspect(&state);
    assert_eq!(segments[0]["corrupt_frames"], 0, "{}", segments[0]);
    assert_eq!(segments[0]["seal_reason"], "Recovered");
    let samples = segments[0]["samples"].as_u64().unwrap();
    assert!(
        samples >= 20,
        "samples before the limit were kept: {samples}"
    );
    assert!(segments[0]["bytes"].as_u64().unwrap() <= 3 * 1024 + 64);
}

#[test]
fn a_reader_that_goes_away_is_a_clean_end_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    crate::common::ok(&state, &["run", "--duration-s", "1", "--rate-hz", "50"]);
    for args in [
        vec!["dump", "--format", "jsonl"],
        vec!["inspect"],
        vec!["sample", "--seconds", "2"],
    ] {
        let mut child = edgewatt()
            .args(&args)
            .arg("--state-dir")
            .arg(&state)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Like `| head -0`: the reader closes its end before reading anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}

/// A segment gone from the middle of a log (deleted, or never copied from a bucket) is told
/// by `inspect`: the seqs between the seal before it and the next segment's name.
#[test]
fn inspect_tells_a_segment_missing_from_the_middle() {
    use edgewatt::synth::calib::spread;
    use edgewatt::synth::calib::write;
    use edgewatt::synth::calib::Flushing;
    use edgewatt::synth::calib::PowerTruth;
    use edgewatt::synth::calib::SynthLog;
    let dir = tempfile::tempdir().unwrap();
    let truth = PowerTruth {
        idle_w: 3.0,
        cpu_w_per_pct: 0.04,
        ram_w_per_mb: 0.0,
        cpu_ghz_w_per_pct_ghz: 0.0,
    };
    let log = SynthLog {
        flushing: Some(Flushing::SHORT_SEGMENTS),
        ..SynthLog::new(truth, spread(12, false))
    };
    write(dir.path(), &log).unwrap();
    let whole = inspect(dir.path());
    assert!(whole.len() >= 3, "{} segments", whole.len());
    assert!(whole.iter().all(|s| s["missing_seqs_before"].is_null()));
    let gone = &whole[1];
    std::fs::remove_file(gone["path"].as_str().unwrap()).unwrap();
    let out = crate::common::ok(dir.path(), &["inspect", "--format", "json"]);
    let after = crate::common::jsonl(&out.stdout);
    let (from, to) = (
        gone["first_seq"].as_u64().unwrap(),
        gone["last_seq"].as_u64().unwrap(),
    );
    assert_eq!(
        after[1]["missing_seqs_before"],
        serde_json::json!([from, to])
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("seqs {from}–{to} are in no segment before")),
        "{err}"
    );
    let text = crate::common::ok(dir.path(), &["inspect"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!(
            "seqs {from}–{to} before it are in no segment here"
        )),
        "{text}"
    );
}
