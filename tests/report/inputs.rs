//! What the report is given that it cannot read or use: directories, a threshold, a
//! segment missing from the middle of a log. Each is named, with what to do.

use edgewatt::synth::calib::Flushing;

use super::four_runs;
use super::log_dir;
use super::report;

/// No directory read: an error naming each, nothing written (rev-k: an empty report, "no
/// runs in the logs read", exit 1).
#[test]
fn no_directory_read_is_an_error_naming_each() {
    let tmp = tempfile::tempdir().unwrap();
    let out_file = tmp.path().join("report.json");
    let (a, b) = (tmp.path().join("nope-a"), tmp.path().join("nope-b"));
    let out = crate::common::edgewatt()
        .args(["report", "--format", "json", "-o"])
        .arg(&out_file)
        .arg("--dir")
        .arg(&a)
        .arg("--dir")
        .arg(&b)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no log could be read"), "{stderr}");
    assert!(
        stderr.contains("nope-a") && stderr.contains("nope-b"),
        "{stderr}"
    );
    assert!(!stderr.contains("no runs in the logs read"), "{stderr}");
    assert!(!out_file.exists());
}

/// A coverage threshold out of 0–100 %, a negative one too, is named as such (rev-k: `-5`
/// got clap's "unexpected argument '-5'", exit 2 and no word of the range).
#[test]
fn a_coverage_threshold_out_of_range_is_named() {
    let dir = log_dir(four_runs(), 3, |_| {});
    let empty = tempfile::tempdir().unwrap();
    for (pct, command) in [
        ("-5", "report"),
        ("150", "report"),
        ("NaN", "report"),
        ("-5", "export"),
        ("-5", "calibrate"),
    ] {
        let out = crate::common::edgewatt()
            .args([command])
            .args(if command == "export" {
                &["runs"][..]
            } else {
                &[][..]
            })
            .args(["--min-coverage-pct", pct, "--dir"])
            .arg(dir.path())
            .arg("--dir")
            .arg(empty.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{pct}: {stderr}");
        // The one thing said, not after "… holds no segments" of the empty directory.
        assert!(
            stderr.starts_with("edgewatt: error: "),
            "{command} {pct}: {stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "--min-coverage-pct {pct} is not a share of 0 to 100 %"
            )),
            "{pct}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{pct}");
    }
}

/// A segment deleted from the middle of a log (by hand, a failed copy): named by the report
/// and by export from the seals around it, with a cache or without (rev-k: only `inspect`
/// said so; the report read as a whole log).
#[test]
fn a_segment_missing_from_the_middle_is_named() {
    let runs = (0..4).flat_map(|_| four_runs()).collect();
    let dir = log_dir(runs, 3, |l| l.flushing = Some(Flushing::SHORT_SEGMENTS));
    let segs: Vec<_> = (edgewatt::store::list_segments(dir.path())
        .unwrap()
        .into_iter())
    .map(|s| s.path)
    .collect();
    assert!(segs.len() >= 3, "{segs:?}");
    let (_, whole, _) = report(&[dir.path()], &[]);
    assert!(
        !whole["problems"].to_string().contains("in no segment"),
        "{whole}"
    );
    std::fs::remove_file(&segs[1]).unwrap();
    let next = segs[2].display().to_string();
    for extra in [&[][..], &["--no-cache"][..]] {
        let (_, json, stderr) = report(&[dir.path()], extra);
        let problems = json["problems"].to_string();
        assert!(
            problems.contains("are in no segment before"),
            "{extra:?}: {json}"
        );
        assert!(problems.contains(&next), "{extra:?}: {json}");
        assert!(stderr.contains("a segment was deleted"), "{stderr}");
    }
    let out = crate::common::edgewatt()
        .args(["export", "runs", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("are in no segment before"), "{stderr}");
}
