//! `edgewatt report` through the cache of a state directory's cost rows: the same report
//! with and without it, a cache written where the user's cache directory says, and a
//! cache that cannot be written told on stderr.

use std::path::Path;

use edgewatt::synth::calib::spread;
use edgewatt::synth::calib::Flushing;

use super::log_dir;

/// `edgewatt report DIR --format json` with `XDG_CACHE_HOME=cache_home` (plus `extra`): its
/// stdout and stderr.
fn report_cached(dir: &Path, cache_home: &Path, extra: &[&str]) -> (String, String) {
    let out = crate::common::succeeded(
        crate::common::edgewatt()
            .env("XDG_CACHE_HOME", cache_home)
            .args(["report", "--format", "json", "--dir"])
            .arg(dir)
            .args(extra)
            .output()
            .unwrap(),
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn the_report_is_the_same_with_and_without_the_cache() {
    let dir = log_dir(spread(24, false), 11, |log| {
        log.flushing = Some(Flushing {
            flush_us: 5_000_000,
            flushes_per_segment: 6,
        });
    });
    let home = tempfile::tempdir().unwrap();
    let (first, err) = report_cached(dir.path(), home.path(), &[]);
    assert_eq!(err, "");
    let cached: Vec<_> = std::fs::read_dir(home.path().join("edgewatt"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        cached.len() == 1 && cached[0].starts_with("cost-"),
        "{cached:?}"
    );
    let (second, _) = report_cached(dir.path(), home.path(), &[]);
    assert_eq!(first, second, "from the cache");
    let (uncached, _) = report_cached(dir.path(), home.path(), &["--no-cache"]);
    assert_eq!(first, uncached, "--no-cache");
    assert!(first.contains("\"runs\""), "{first}");
}

#[test]
fn a_cache_that_cannot_be_written_is_told_and_the_report_comes_out() {
    let dir = log_dir(spread(8, false), 12, |_| {});
    let home = tempfile::tempdir().unwrap();
    // `edgewatt` under the cache home is a file: no directory can be made there.
    std::fs::write(home.path().join("edgewatt"), b"").unwrap();
    let (out, err) = report_cached(dir.path(), home.path(), &[]);
    assert!(
        err.contains("cannot make the cache directory") && err.contains("--no-cache"),
        "{err}"
    );
    let (uncached, _) = report_cached(dir.path(), home.path(), &["--no-cache"]);
    assert_eq!(out, uncached);
}
