//! Command-line options against real logs: dump's type, time and segment filters, a flag
//! overriding the config file, and a state directory on a read-only file system.

use std::path::Path;

use serde_json::Value;

use crate::common::dump;
use crate::common::edgewatt;
use crate::common::jsonl;
use crate::common::ok;

fn count_of(records: &[Value], t: &str) -> usize {
    records.iter().filter(|r| r["type"] == t).count()
}

/// Two short runs: two sealed segments of samples and events.
fn two_runs(state: &Path) {
    for seconds in ["0.6", "0.4"] {
        ok(state, &["run", "--duration-s", seconds, "--rate-hz", "20"]);
    }
}

#[test]
fn dump_filters_by_type_time_and_segment() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    two_runs(&state);
    let all = dump(&state);
    let (samples, events, seals) = (
        count_of(&all, "sample"),
        count_of(&all, "event"),
        count_of(&all, "seal"),
    );
    assert!(
        samples >= 10 && events >= 4 && seals == 2,
        "{samples} {events} {seals}"
    );

    // --type: exactly the records of those types, in the same number.
    let out = ok(
        &state,
        &["dump", "--format", "jsonl", "--type", "sample,seal"],
    );
    let picked = jsonl(&out.stdout);
    assert_eq!(picked.len(), samples + seals);
    assert!(picked
        .iter()
        .all(|r| r["type"] == "sample" || r["type"] == "seal"));

    // --since is inclusive, --until exclusive, both on wall time.
    let walls: Vec<&str> = all
        .iter()
        .filter(|r| r["type"] == "sample")
        .map(|r| r["wall"].as_str().expect("samples carry wall time"))
        .collect();
    let (since, until) = (walls[3], walls[8]);
    let out = ok(
        &state,
        &[
            "dump", "--format", "jsonl", "--type", "sample", "--since", since, "--until", until,
        ],
    );
    let window: Vec<String> = jsonl(&out.stdout)
        .iter()
        .map(|r| r["wall"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(window, walls[3..8], "samples 3..8 by wall time");

    // --segment: one file's records only, sequence numbers from its own first frame.
    let mut segments: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ewlog"))
        .collect();
    segments.sort();
    assert_eq!(segments.len(), 2);
    let out = ok(
        &state,
        &[
            "dump",
            "--format",
            "jsonl",
            "--segment",
            segments[1].to_str().unwrap(),
        ],
    );
    let second = jsonl(&out.stdout);
    let first_seq = second[0]["seq"].as_u64().unwrap();
    assert!(first_seq > 0, "the second segment does not start at seq 0");
    assert_eq!(count_of(&second, "seal"), 1);
    let tail: Vec<&Value> = all
        .iter()
        .filter(|r| r["seq"].as_u64().unwrap() >= first_seq)
        .collect();
    assert_eq!(second.iter().collect::<Vec<_>>(), tail);
}

/// Outside review (stop 27): a --segment that is not there was damaged data (exit 1,
/// "--allow-damaged to accept"); a time that is no time was taken (NaN: no filter).
#[test]
fn dump_refuses_a_segment_that_is_not_there_and_a_time_that_is_no_time() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    two_runs(&state);
    let missing = state.join("nope.ewlog");
    let out = edgewatt()
        .args([
            "dump",
            "--segment",
            missing.to_str().unwrap(),
            "--allow-damaged",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("nope.ewlog: cannot read it: check the path"),
        "{err}"
    );
    for bad in [
        "NaN",
        "inf",
        "2025-02-31T00:00:00Z",
        "2025-06-15T15:10:-30Z",
    ] {
        let out = edgewatt()
            .args([
                "dump",
                "--state-dir",
                state.to_str().unwrap(),
                "--since",
                bad,
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains(&format!("cannot read time {bad:?}")), "{err}");
    }
}

#[test]
fn a_flag_overrides_the_same_key_in_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config = dir.path().join("edgewatt.toml");
    std::fs::write(
        &config,
        "state_dir = \"/nonexistent/from-the-file\"\n[sampler]\nrate_hz = 5\n",
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    // The file's rate (its state_dir is overridden by `--state-dir`, which `ok` passes).
    ok(&state, &["run", "--duration-s", "0.3", "--config", cfg]);
    // The flag wins over the file: 25 Hz.
    ok(
        &state,
        &[
            "run",
            "--duration-s",
            "0.3",
            "--config",
            cfg,
            "--rate-hz",
            "25",
        ],
    );
    let starts: Vec<u64> = dump(&state)
        .iter()
        .filter(|r| r["event"] == "start")
        .map(|r| r["interval_us"].as_u64().unwrap())
        .collect();
    assert_eq!(starts, [200_000, 40_000]);
    let out = ok(&state, &["config", "show", "--config", cfg]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains(&format!("state_dir = \"{}\"", state.display())),
        "{shown}"
    );
    assert!(shown.contains("rate_hz = 5"), "{shown}");
}

#[test]
fn a_read_only_state_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let bin = edgewatt().get_program().to_owned();
    // SAFETY: geteuid has no preconditions.
    let out = if unsafe { libc::geteuid() } == 0 {
        // Root writes through permission bits: mount a read-only tmpfs over the directory
        // in a private mount namespace instead.
        std::process::Command::new("unshare")
            .args(["-m", "sh", "-c"])
            .arg(r#"mount -t tmpfs -o ro tmpfs "$1" || exit 97; exec "$0" run --duration-s 1 --state-dir "$1""#)
            .arg(&bin)
            .arg(&ro)
            .env("RUST_LOG", "warn")
            .output()
            .expect("spawn unshare")
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        edgewatt()
            .args(["run", "--duration-s", "1", "--state-dir"])
            .arg(&ro)
            .output()
            .unwrap()
    };
    if out.status.code() == Some(97) {
        eprintln!("skipped: cannot mount a read-only tmpfs here (no CAP_SYS_ADMIN)");
        return;
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(ro.to_str().unwrap()),
        "names the directory: {err}"
    );
    assert!(
        err.contains("Read-only file system") || err.contains("Permission denied"),
        "{err}"
    );
    assert!(err.contains("make it writable"), "says what to do: {err}");
}
