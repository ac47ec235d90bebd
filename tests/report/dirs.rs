//! What a report says of the directories and files it is given: one without segments, a
//! file named like a segment but not as one, an empty segment file.

use super::edge::llm_dir;
use super::report;

/// A directory without a segment (a wrong path, a daemon that never logged there) is named
/// on stderr: otherwise it reads as a log without runs.
#[test]
fn a_directory_without_segments_is_named() {
    let (full, empty) = (llm_dir(), tempfile::tempdir().unwrap());
    let (code, json, stderr) = report(&[full.path(), empty.path()], &[]);
    assert_eq!(code, 0);
    assert_eq!(json["runs"].as_array().unwrap().len(), 4, "{json}");
    let said = format!("{} holds no segments (<seq>.ewlog)", empty.path().display());
    assert!(stderr.contains(&said), "{stderr}");
    assert!(
        !stderr.contains(&full.path().display().to_string()),
        "{stderr}"
    );
    let out = crate::common::edgewatt()
        .args(["export", "runs", "--dir"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&said));
    // The configured state directory too, when no --dir is named.
    let out = crate::common::edgewatt()
        .arg("--state-dir")
        .arg(empty.path())
        .arg("report")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "no runs");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&said));
    // A segment under another name (outside review, stop 27: passed over without a word,
    // and the directory said to hold no *.ewlog): named by every reader of the directory.
    let seg = edgewatt::store::list_segments(full.path()).unwrap()[0]
        .path
        .clone();
    let misnamed = empty.path().join("x.ewlog");
    std::fs::copy(seg, &misnamed).unwrap();
    let named = format!(
        "{}: not named as a segment (its first seq in 20 digits, then .ewlog), so not read",
        misnamed.display()
    );
    for cmd in [
        &["report"][..],
        &["export", "runs"],
        &["inspect"],
        &["dump"],
    ] {
        let out = crate::common::edgewatt()
            .arg("--state-dir")
            .arg(empty.path())
            .args(cmd)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&named), "{cmd:?}: {err}");
    }
}

/// An empty segment file (created and never written, or a failed copy) is
/// named as such, with what to do, not as a damaged header whose records are still read;
/// the runs of the other segments all come out.
#[test]
fn an_empty_segment_is_named_as_empty() {
    let dir = llm_dir();
    let empty = dir.path().join("00000000000099999999.ewlog");
    std::fs::write(&empty, b"").unwrap();
    let (code, json, stderr) = report(&[dir.path()], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["runs"].as_array().unwrap().len(), 4, "{json}");
    let said = format!(
        "{}: empty (0 bytes), no records in it: created and never written (a crash as it \
         was opened), or a copy that failed (then copy it again)",
        empty.display()
    );
    assert!(stderr.contains(&said), "{stderr}");
    assert!(!stderr.contains("records still read"), "{stderr}");
}
