//! Edge cases: a clear message, never NaN or a panic.

use edgewatt::synth::calib::SynthCase;
use edgewatt::synth::calib::SynthRun;

use super::fit;
use super::four_runs;
use super::llm_run;
use super::log_dir;
use super::report;

fn problems(json: &serde_json::Value) -> String {
    json["problems"].to_string()
}

#[test]
fn an_empty_state_directory_says_there_are_no_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (code, json, stderr) = report(&[dir.path()], &[]);
    assert_eq!(code, 1);
    assert!(problems(&json).contains("no runs"), "{json}");
    assert!(stderr.contains("no runs"), "{stderr}");
}

#[test]
fn one_token_length_and_a_single_point_say_what_the_law_needs() {
    let runs = vec![llm_run(100, 50.0, SynthCase::default()); 3];
    let dir = log_dir(runs, 1, |_| {});
    let (code, json, _) = report(&[dir.path()], &[]);
    assert_eq!(code, 0);
    let cpu = fit(&json["llm"][0]["fits"], "cpu_auc");
    assert!(cpu["slope"].is_null());
    assert!(cpu["problem"].as_str().unwrap().contains("vary x"), "{cpu}");
    let one = log_dir(vec![llm_run(100, 50.0, SynthCase::default())], 1, |_| {});
    let (_, json, _) = report(&[one.path()], &[]);
    let cpu = fit(&json["llm"][0]["fits"], "cpu_auc");
    assert!(
        cpu["problem"].as_str().unwrap().contains("at least"),
        "{cpu}"
    );
    let errors = &json["estimate_errors"][0];
    assert!(errors["r2"].is_null());
    assert!(
        errors["problem"]
            .as_str()
            .unwrap()
            .starts_with("no R²: the measured energy of the 1 runs"),
        "{errors}"
    );
    // The means per token of one run have no CI: said once for the three, not a bare "-".
    let notes = &json["llm"][0]["decode_notes"];
    assert!(json["llm"][0]["decode_s_per_token"].is_null());
    assert_eq!(notes.as_array().map(Vec::len), Some(1), "{notes}");
    assert!(
        notes[0]
            .as_str()
            .unwrap()
            .starts_with("decode s/token, decode J/token, prefill J/token:")
            && notes[0].as_str().unwrap().contains("at least 2 needed"),
        "{notes}"
    );
    assert!(!json.to_string().contains("NaN"));
}

#[test]
fn all_runs_failed_is_named_with_their_error() {
    let runs: Vec<SynthRun> = [50, 100, 200]
        .iter()
        .map(|&t| SynthRun {
            ok: false,
            ..llm_run(t, 50.0, SynthCase::default())
        })
        .collect();
    let dir = log_dir(runs, 1, |_| {});
    let (_, json, _) = report(&[dir.path()], &[]);
    assert!(problems(&json).contains("all 3 runs failed"), "{json}");
    assert!(json["llm"].as_array().unwrap().is_empty());
    // Each section without a table says that one reason, not its own "nothing of mine"
    // (rev-k: "no VLM runs", "no workload names a base", a decode section of bare notes).
    let md = super::markdown(dir.path());
    let why = "all 3 runs failed: nothing to fit";
    assert_eq!(md.matches(why).count(), 5, "{md}");
    for wrong in ["no VLM runs", "no workload names", "means over runs"] {
        assert!(!md.contains(wrong), "{wrong}: {md}");
    }
}

#[test]
fn without_measured_energy_the_estimate_stands_alone_and_says_so() {
    let runs = four_runs();
    let dir = log_dir(runs, 1, |l| l.ina219 = false);
    let (code, json, _) = report(&[dir.path()], &[]);
    assert_eq!(code, 0);
    assert!(
        json["notes"]
            .to_string()
            .contains("no run has trusted measured energy"),
        "{json}"
    );
    let law = &json["llm"][0]["fits"];
    assert!(fit(law, "energy_measured")["slope"].is_null());
    assert!(
        fit(law, "energy_estimated")["slope"]["value"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(json["runs"][0]["energy_measured_j"].is_null());
    assert_eq!(json["runs"][0]["energy_note"], "no power readings");
    // Per token: no energy to divide, said so, not "0 points, at least 2 needed" (rev-g).
    let notes = json["llm"][0]["decode_notes"].to_string();
    assert!(
        notes.contains("decode J/token, prefill J/token: no run has a trusted measured net"),
        "{notes}"
    );
    assert!(json["calibrations"][0]["board_average"].as_bool().unwrap());
    assert!(json["estimate_errors"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("no run has trusted measured"));
}

#[test]
fn a_power_gap_flags_the_run_and_leaves_it_out_unless_included() {
    let runs = four_runs();
    let dir = log_dir(runs, 1, |l| l.outage = 0.3);
    let (_, json, _) = report(&[dir.path()], &[]);
    let flags = json["runs"][0]["flags"].to_string();
    assert!(flags.contains("energy coverage"), "{flags}");
    assert!(
        json["llm"].as_array().unwrap().is_empty(),
        "flagged runs are left out"
    );
    let (_, json, _) = report(&[dir.path()], &["--include-flagged"]);
    assert_eq!(json["llm"][0]["runs"], 4);
}

#[test]
fn several_directories_are_reported_together_and_a_missing_one_is_named() {
    let runs = |seed| {
        log_dir(
            [50, 100, 200]
                .iter()
                .map(|&t| llm_run(t, 50.0, SynthCase::default()))
                .collect(),
            seed,
            |_| {},
        )
    };
    let (a, b) = (runs(1), runs(2));
    let missing = a.path().join("nope");
    let (code, json, _) = report(&[a.path(), b.path(), &missing], &[]);
    // The others' report comes out; the one not read makes it exit 2 (rev-k: exit 0, a
    // script could not tell a mistyped directory from a log without runs).
    assert_eq!(code, 2);
    assert_eq!(json["runs"].as_array().unwrap().len(), 6);
    assert!(problems(&json).contains("nope"), "{json}");
    // Read from the two that could be read, not from the missing one (rev-c).
    let sources = json["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2, "{sources:?}");
    assert!(!sources.iter().any(|s| s.as_str().unwrap().contains("nope")));
}

pub(super) fn llm_dir() -> tempfile::TempDir {
    let runs = four_runs();
    log_dir(runs, 3, |_| {})
}

fn write_calibration(dir: &std::path::Path, device: &str) -> std::path::PathBuf {
    let mut cal = edgewatt::estimate::Calibration::pi5_board_average();
    cal.id = "other-board".into();
    cal.device_id = device.into();
    cal.board_average = false;
    let path = dir.join("other.toml");
    cal.save(&path).unwrap();
    path
}

/// A calibration refused for a device: its runs keep the shipped board average, the report
/// comes out (exit 0) and says why, on stderr and in its problems.
#[test]
fn a_calibration_of_another_device_is_refused_for_it_and_the_report_comes_out() {
    let dir = llm_dir();
    let cal = write_calibration(dir.path(), "other-pi");
    let cal_arg = cal.to_str().unwrap();
    let (code, json, stderr) = report(&[dir.path()], &["--calibration", cal_arg]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("other-pi")
            && stderr.contains("--force-calibration")
            && stderr.contains(
                "the estimates of device synthetic-pi use the shipped Pi 5 board average"
            ),
        "{stderr}"
    );
    assert!(
        json["problems"].to_string().contains("other-pi"),
        "{}",
        json["problems"]
    );
    let board = edgewatt::estimate::Calibration::pi5_board_average().source();
    assert_eq!(json["runs"][0]["energy_estimated_source"], board.as_str());
    assert!(json["runs"].as_array().unwrap().len() > 3);
    let (code, json, _) = report(
        &[dir.path()],
        &["--calibration", cal_arg, "--force-calibration"],
    );
    assert_eq!(code, 0);
    assert_eq!(
        json["runs"][0]["energy_estimated_source"],
        "estimate:other-board"
    );
}

#[test]
fn a_calibration_with_a_bad_value_is_named_with_its_line_and_column_and_the_report_comes_out() {
    let dir = llm_dir();
    let path = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(write_calibration(dir.path(), "synthetic-pi")).unwrap();
    let line = text.lines().position(|l| l.starts_with("idle_w")).unwrap() + 1;
    let cases = [
        ("idle_w = \"four\" #", "invalid type"),
        ("idle_w = 1e300 #", "idle_w = 1e300 W must be"),
        ("idle_w = nan #", "idle_w = NaN W must be"),
    ];
    for (edit, said) in cases {
        std::fs::write(&path, text.replace("idle_w = ", edit)).unwrap();
        let (code, json, stderr) =
            report(&[dir.path()], &["--calibration", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{edit}: {stderr}");
        assert!(
            stderr.contains(&format!("{}:{line}:", path.display()))
                && stderr.contains(said)
                && stderr.contains("correct it")
                && stderr.contains("board average"),
            "{edit}: {stderr}"
        );
        let board = edgewatt::estimate::Calibration::pi5_board_average().source();
        assert_eq!(
            json["runs"][0]["energy_estimated_source"],
            board.as_str(),
            "{edit}"
        );
    }
}

/// The JSON is made on several threads and written as it comes: a write that fails (a full
/// disk) ends the report with the error named, neither hanging nor panicking; a reader that
/// goes away (`| head`) ends it quietly.
#[test]
fn a_report_that_cannot_be_written_says_so_and_a_closed_pipe_ends_it() {
    let dir = llm_dir();
    for format in ["json", "text"] {
        let out = crate::common::edgewatt()
            .args([
                "report",
                "--format",
                format,
                "--output",
                "/dev/full",
                "--dir",
            ])
            .arg(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{format}: {stderr}");
        assert!(
            stderr.contains("/dev/full") && stderr.contains("No space left on device"),
            "{format}: {stderr}"
        );
    }
    // Far more JSON than a pipe holds (64 KiB), so the report is still writing when its
    // reader goes.
    let runs: Vec<SynthRun> = (0..300)
        .map(|i| llm_run(50 + i % 7 * 50, 50.0, SynthCase::default()))
        .collect();
    let long = log_dir(runs, 5, |_| {});
    let file = long.path().join("report.json");
    crate::common::edgewatt()
        .args(["report", "--format", "json", "--output"])
        .arg(&file)
        .arg("--dir")
        .arg(long.path())
        .status()
        .unwrap();
    assert!(std::fs::metadata(&file).unwrap().len() > 256 << 10);
    let mut child = crate::common::edgewatt()
        .args(["report", "--format", "json", "--dir"])
        .arg(long.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    assert_eq!(&first[..], b"{\n  \"sourc");
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The same state directory named twice (as itself and through another path) is read once,
/// and said so: its runs counted twice narrowed every CI by √2 and doubled calibrate's
/// runs, its cross-validation testing each run on its own copy.
#[test]
fn a_directory_named_twice_is_read_once_and_said_so() {
    let dir = llm_dir();
    let again = dir.path().join(".");
    let (code, json, stderr) = report(&[dir.path(), &again], &[]);
    assert_eq!(code, 0);
    assert_eq!(json["runs"].as_array().unwrap().len(), 4, "{json}");
    assert!(
        stderr.contains(&again.display().to_string()) && stderr.contains("read once"),
        "{stderr}"
    );
    let export = |dirs: &[&std::path::Path]| {
        crate::common::edgewatt()
            .args(["export", "runs", "--no-cache"])
            .args(dirs.iter().flat_map(|d| [std::path::Path::new("--dir"), d]))
            .output()
            .unwrap()
    };
    let (once, twice) = (export(&[dir.path()]), export(&[dir.path(), &again]));
    assert_eq!(twice.status.code(), Some(0));
    assert_eq!(once.stdout, twice.stdout);
}

/// A copy of a log in another directory (a backup, a second download of a device's
/// segments) counts once, from the cache or not, and the report says so: counted twice,
/// every law had twice its runs and CIs √2 too narrow.
#[test]
fn a_copy_of_a_log_in_another_directory_counts_once() {
    let (dir, copy) = (llm_dir(), tempfile::tempdir().unwrap());
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, copy.path().join(path.file_name().unwrap())).unwrap();
    }
    let (_, alone, _) = report(&[dir.path()], &["--no-cache"]);
    // 4 runs and the plan's idle lead-in.
    let alone_fit = fit(&alone["llm"][0]["fits"], "cpu_auc").clone();
    assert_eq!(alone_fit["n"], 4, "{alone_fit}");
    for extra in [&["--no-cache"][..], &[][..]] {
        let (code, json, stderr) = report(&[dir.path(), copy.path()], extra);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(
            json["runs"].as_array().unwrap().len(),
            4,
            "{extra:?}: {json}"
        );
        assert_eq!(
            fit(&json["llm"][0]["fits"], "cpu_auc"),
            &alone_fit,
            "{extra:?}"
        );
        assert!(
            stderr.contains("5 runs or idle spans were read twice"),
            "{extra:?}: {stderr}"
        );
    }
}

/// Every run flagged (a 30 % hole in each run's power readings): the report says so, with
/// the flag and `--include-flagged`, not that the runs are too few or not LLM runs (rev-g).
#[test]
fn every_run_flagged_is_said_so_with_what_to_do() {
    let runs = four_runs();
    let dir = log_dir(runs, 1, |l| l.outage = 0.3);
    let (_, json, _) = report(&[dir.path()], &[]);
    let said = problems(&json);
    assert!(
        said.contains("no law could be fitted: every successful run is flagged (energy coverage")
            && said.contains("--include-flagged fits them"),
        "{said}"
    );
    let (_, json, _) = report(&[dir.path()], &["--include-flagged"]);
    assert_eq!(json["problems"].as_array().map(Vec::len), Some(0), "{json}");
}
