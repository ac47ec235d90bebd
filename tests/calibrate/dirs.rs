//! Where a calibration is written and looked for: the `calibration/` directory of the state
//! directory read (`--dir`), as `upload` does, not the configured state directory's.

use edgewatt::synth::calib::spread;
use edgewatt::synth::calib::SynthLog;

use super::synth_dir;
use super::TRUTH;
use crate::common::edgewatt;
use crate::common::succeeded;

/// `edgewatt ARGS --state-dir STATE`: stdout and stderr.
fn run(args: &[&str], state: &std::path::Path) -> (String, String) {
    let out = succeeded(
        edgewatt()
            .args(args)
            .arg("--state-dir")
            .arg(state)
            .output()
            .unwrap(),
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// rev-k: `calibrate --dir X` wrote to the configured state directory (/var/lib/edgewatt,
/// not writable on a laptop) and `report --dir X` did not look in X; a file there named
/// after no device was passed over without a word.
#[test]
fn a_calibration_lives_in_the_calibration_directory_of_the_state_directory_read() {
    let log = synth_dir(&SynthLog::new(TRUTH, spread(12, false)));
    let configured = tempfile::tempdir().unwrap();
    let x = log.path().to_str().unwrap();
    run(
        &["calibrate", "--dir", x, "--id", "cal-x"],
        configured.path(),
    );
    let file = log.path().join("calibration/synthetic-pi.toml");
    assert!(file.is_file());
    assert!(!configured.path().join("calibration").exists());

    let (json, _) = run(
        &["report", "--dir", x, "--format", "json"],
        configured.path(),
    );
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json["calibrations"][0]["source"], "estimate:cal-x",
        "{json}"
    );
    assert_eq!(json["calibrations"][0]["board_average"], false);

    // Named after no device: told, and the board average used.
    std::fs::rename(&file, log.path().join("calibration/mypi.toml")).unwrap();
    let (json, stderr) = run(
        &["report", "--dir", x, "--format", "json"],
        configured.path(),
    );
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["calibrations"][0]["board_average"], true, "{json}");
    let said = "holds mypi.toml but no calibration named after device synthetic-pi";
    assert!(json["problems"].to_string().contains(said), "{json}");
    assert!(stderr.contains(said), "{stderr}");
    let (_, stderr) = run(&["export", "runs", "--dir", x], configured.path());
    assert!(stderr.contains(said), "{stderr}");
}

/// Two state directories, the first with a calibration for the device that does not read,
/// the second with a good one: the good one is used and the bad one is not said to leave
/// the device on the board average (rev-k review: the refusal was kept).
#[test]
fn a_good_calibration_in_a_later_directory_wins_over_a_refused_one() {
    let log = synth_dir(&SynthLog::new(TRUTH, spread(12, false)));
    let configured = tempfile::tempdir().unwrap();
    let x = log.path().to_str().unwrap();
    run(
        &["calibrate", "--dir", x, "--id", "cal-good"],
        configured.path(),
    );
    let bad = tempfile::tempdir().unwrap();
    std::fs::create_dir(bad.path().join("calibration")).unwrap();
    std::fs::write(
        bad.path().join("calibration/synthetic-pi.toml"),
        "idle_w = [\n",
    )
    .unwrap();
    let b = bad.path().to_str().unwrap();
    let (json, stderr) = run(
        &["report", "--dir", b, "--dir", x, "--format", "json"],
        configured.path(),
    );
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json["calibrations"][0]["source"], "estimate:cal-good",
        "{json}"
    );
    assert!(
        !json["problems"].to_string().contains("board average"),
        "{json}"
    );
    assert!(!stderr.contains("synthetic-pi.toml:"), "{stderr}");
    let (_, stderr) = run(
        &["export", "runs", "--dir", b, "--dir", x],
        configured.path(),
    );
    assert!(!stderr.contains("synthetic-pi.toml"), "{stderr}");
}

/// Outside review (stop 27): a device's own file with a bad value stopped `calibrate` (exit
/// 2, nothing written) though every message named `calibrate` as the fix; another device's
/// file named with `--calibration` was used for the errors before without a word. Both are
/// now told, the errors before are the board average's, and the fit replaces the bad file.
/// A directory named with `--calibration` tells a file named after no device read, as the
/// default directories do.
#[test]
fn a_calibration_that_cannot_be_used_is_told_and_replaced_by_calibrate() {
    let log = synth_dir(&SynthLog::new(TRUTH, spread(12, false)));
    let configured = tempfile::tempdir().unwrap();
    let x = log.path().to_str().unwrap();
    run(
        &["calibrate", "--dir", x, "--id", "first"],
        configured.path(),
    );
    let file = log.path().join("calibration/synthetic-pi.toml");
    let good = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, good.replace("cpu_w_per_pct = ", "cpu_w_per_pct = -")).unwrap();
    let (out, stderr) = run(
        &["calibrate", "--dir", x, "--id", "again"],
        configured.path(),
    );
    assert!(stderr.contains("synthetic-pi.toml:"), "{stderr}");
    assert!(
        stderr.contains("use the shipped Pi 5 board average"),
        "{stderr}"
    );
    assert!(
        out.contains("before (estimate:pi5-board-powerjoular, board average)"),
        "{out}"
    );
    let fitted = std::fs::read_to_string(&file).unwrap();
    assert!(fitted.contains("\"again\""), "{fitted}");

    // Another device's file: refused for the errors before, unless forced.
    let other = log.path().join("other.toml");
    std::fs::write(
        &other,
        fitted.replace("device_id = \"synthetic-pi\"", "device_id = \"pi-b\""),
    )
    .unwrap();
    let o = other.to_str().unwrap();
    let scratch = log.path().join("scratch.toml");
    let s = scratch.to_str().unwrap();
    let args = ["calibrate", "--dir", x, "--calibration", o, "-o", s];
    let (out, stderr) = run(&args, configured.path());
    assert!(
        stderr.contains("was fitted on device pi-b, not synthetic-pi"),
        "{stderr}"
    );
    assert!(
        out.contains("before (estimate:pi5-board-powerjoular"),
        "{out}"
    );
    let forced: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--force-calibration"])
        .collect();
    let (out, stderr) = run(&forced, configured.path());
    assert!(!stderr.contains("pi-b"), "{stderr}");
    assert!(out.contains("before (estimate:again)"), "{out}");

    // A directory named with --calibration, holding only another device's file.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&other, dir.path().join("pi-b.toml")).unwrap();
    let d = dir.path().to_str().unwrap();
    let (_, stderr) = run(
        &["report", "--dir", x, "--calibration", d],
        configured.path(),
    );
    let said = "holds pi-b.toml but no calibration named after device synthetic-pi";
    assert!(stderr.contains(said), "{stderr}");
}
