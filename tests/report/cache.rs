//! `edgewatt report` (and `calibrate`, `export runs`) through the cache of a state
//! directory's cost rows: the same output with and without it, a cache written where the
//! user's cache directory says, and a cache that cannot be written told on stderr.

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
        log.flushing = Some(Flushing::SHORT_SEGMENTS);
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

/// `edgewatt ARGS` with `XDG_CACHE_HOME=cache_home`, succeeded: its stdout and stderr.
fn with_cache_home(cache_home: &Path, args: &[&std::ffi::OsStr]) -> (String, String) {
    let out = crate::common::succeeded(
        crate::common::edgewatt()
            .env("XDG_CACHE_HOME", cache_home)
            .args(args)
            .output()
            .unwrap(),
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The names of the cache files under `cache_home`, sorted (none if it has no cache
/// directory).
fn cache_files(cache_home: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cache_home.join("edgewatt"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A log of 12 runs (seeded) in segments of 30 s.
fn segmented(seed: u64) -> tempfile::TempDir {
    log_dir(spread(12, false), seed, |log| {
        log.flushing = Some(Flushing::SHORT_SEGMENTS);
    })
}

#[test]
fn calibrate_and_export_runs_read_through_the_cache_the_report_writes() {
    let (a, b) = (segmented(21), segmented(22));
    let home = tempfile::tempdir().unwrap();
    let os = |s: &'static str| std::ffi::OsStr::new(s);

    // Two directories: a cache file each, the same table from it and without it.
    let export = [
        os("export"),
        os("runs"),
        os("--format"),
        os("csv"),
        os("--dir"),
        a.path().as_os_str(),
        os("--dir"),
        b.path().as_os_str(),
    ];
    let (first, err) = with_cache_home(home.path(), &export);
    assert_eq!(err, "");
    let files = cache_files(home.path());
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(first.lines().count() > 24, "{first}");
    let (cached, _) = with_cache_home(home.path(), &export);
    assert_eq!(first, cached, "export runs from the cache");
    let (uncached, _) = with_cache_home(home.path(), &[&export[..], &[os("--no-cache")]].concat());
    assert_eq!(first, uncached, "export runs --no-cache");

    // The report shares them; so does calibrate, which fits the same rows either way.
    let report = [
        os("report"),
        os("--format"),
        os("json"),
        os("--dir"),
        a.path().as_os_str(),
    ];
    with_cache_home(home.path(), &report);
    assert_eq!(
        cache_files(home.path()),
        files,
        "the report's cache is export's"
    );
    let cal = tempfile::tempdir().unwrap();
    let cal_file = cal.path().join("cal.toml");
    let calibrate = [
        os("calibrate"),
        os("--id"),
        os("cached"),
        os("-o"),
        cal_file.as_os_str(),
        os("--dir"),
        a.path().as_os_str(),
    ];
    let (fitted, err) = with_cache_home(home.path(), &calibrate);
    assert_eq!(err, "");
    assert!(fitted.contains("runs fitted"), "{fitted}");
    assert_eq!(
        cache_files(home.path()),
        files,
        "calibrate's cache is the report's"
    );
    let (refitted, _) =
        with_cache_home(home.path(), &[&calibrate[..], &[os("--no-cache")]].concat());
    assert_eq!(fitted, refitted, "calibrate --no-cache");

    // A fresh cache home: calibrate writes the directory's cache itself.
    let fresh = tempfile::tempdir().unwrap();
    let (fresh_fit, _) = with_cache_home(fresh.path(), &calibrate);
    assert_eq!(fresh_fit, fitted);
    assert_eq!(cache_files(fresh.path()).len(), 1);
}

/// `export runs --dir dir`, as arguments.
fn export_runs(dir: &Path) -> [&std::ffi::OsStr; 4] {
    let os = std::ffi::OsStr::new;
    [os("export"), os("runs"), os("--dir"), dir.as_os_str()]
}

/// `--no-cache` leaves the cache alone; a window reads the whole log's rows through it (a
/// row in the window is the whole log's row).
#[test]
fn no_cache_leaves_the_cache_alone_and_a_window_reads_through_it() {
    let dir = log_dir(spread(8, false), 23, |_| {});
    let home = tempfile::tempdir().unwrap();
    let os = std::ffi::OsStr::new;
    let export = export_runs(dir.path());
    let (whole, _) = with_cache_home(home.path(), &[&export[..], &[os("--no-cache")]].concat());
    let (since, _) = with_cache_home(
        home.path(),
        &[&export[..], &[os("--since"), os("0")]].concat(),
    );
    assert_eq!(whole, since, "every run is after 1970");
    assert_eq!(cache_files(home.path()).len(), 1, "the window's read");
    std::fs::remove_dir_all(home.path().join("edgewatt")).unwrap();
    let report = [
        os("report"),
        os("--no-cache"),
        os("--dir"),
        dir.path().as_os_str(),
    ];
    with_cache_home(home.path(), &report);
    assert_eq!(cache_files(home.path()), Vec::<String>::new());
    with_cache_home(home.path(), &export);
    assert_eq!(cache_files(home.path()).len(), 1, "without a window");
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

/// `edgewatt report DIR --format json` (plus `extra`) with `XDG_CACHE_HOME=cache_home`, its
/// address space limited to 2 GiB (as a 32-bit system, `ulimit -v` or strict overcommit
/// would): its exit status, stdout and stderr.
fn report_limited(
    dir: &Path,
    cache_home: &Path,
    extra: &[&str],
) -> (std::process::ExitStatus, String, String) {
    use std::os::unix::process::CommandExt as _;
    const LIMIT: libc::rlim_t = 2 << 30;
    let mut cmd = crate::common::edgewatt();
    cmd.env("XDG_CACHE_HOME", cache_home)
        .env("MALLOC_ARENA_MAX", "2")
        .args(["report", "--format", "json", "--dir"])
        .arg(dir)
        .args(extra);
    // SAFETY: setrlimit is async-signal-safe and touches nothing but the child.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let out = cmd.output().unwrap();
    (
        out.status,
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A cache file made by hand (its head's CRC right, as anyone can make it): a first chunk
/// of 10 MiB that names 2^40 rows and a head with 2.6 million places. The reader reserves
/// room for its rows "bounded by the bytes there are", but at a sixteenth of a byte per
/// byte times 4 chunks, times 1 096 bytes a row: ~2.9 GB reserved for a 15 MB file, which
/// aborts the process where the address space is short (a 32-bit Pi OS, `ulimit -v`,
/// overcommit off, or a 4 GiB board with heuristic overcommit and a larger file), instead
/// of the file being refused and the log read whole.
#[test]
fn a_crafted_cache_naming_many_rows_does_not_reserve_gigabytes() {
    #[derive(serde::Serialize)]
    struct Head {
        format: u32,
        build: String,
        min_coverage_bits: u64,
        segments: Vec<u8>,
        places: Vec<(usize, bool)>,
        skips: Vec<u8>,
        chunks: Vec<(u64, u32)>,
    }
    const CHUNK_BYTES: usize = 10 << 20;
    let dir = log_dir(spread(8, false), 13, |_| {});
    let home = tempfile::tempdir().unwrap();
    let mut chunk = postcard::to_allocvec(&(1u64 << 40)).unwrap();
    chunk.resize(CHUNK_BYTES, 0);
    let head = postcard::to_allocvec(&Head {
        format: 3,
        build: "crafted".into(),
        min_coverage_bits: 0,
        segments: Vec::new(),
        places: vec![(0, true); CHUNK_BYTES / 4],
        skips: Vec::new(),
        chunks: vec![(chunk.len() as u64, edgewatt::store::crc32c(&chunk))],
    })
    .unwrap();
    let head_len = u32::try_from(head.len()).unwrap().to_le_bytes();
    let mut bytes = b"EWCOSTC\n".to_vec();
    bytes.extend(edgewatt::store::crc32c_of(&[&head_len, &head]).to_le_bytes());
    bytes.extend(head_len);
    bytes.extend(&head);
    bytes.extend(&chunk);
    let cache_dir = home.path().join("edgewatt");
    std::fs::create_dir_all(&cache_dir).unwrap();
    let cache = edgewatt::cost::cache::file_for(&cache_dir, dir.path());
    std::fs::write(&cache, &bytes).unwrap();

    // The limit alone is no trouble for this report.
    let (status, want, err) = report_limited(dir.path(), home.path(), &["--no-cache"]);
    assert!(status.success(), "{status}: {err}");
    let (status, got, err) = report_limited(dir.path(), home.path(), &[]);
    assert!(status.success(), "the crafted cache: {status}: {err}");
    assert_eq!(got, want);
}

/// A directory laid out as a fleet's bucket: the segments of `dirs`, device `pi-<i>`, one
/// date partition each.
fn bucket_of(dirs: &[&Path]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for (i, dir) in dirs.iter().enumerate() {
        let to = root
            .path()
            .join(format!("fleet/device=pi-{i}/date=2025-06-15"));
        std::fs::create_dir_all(&to).unwrap();
        for seg in edgewatt::store::list_segments(dir).unwrap() {
            std::fs::copy(&seg.path, to.join(seg.path.file_name().unwrap())).unwrap();
        }
    }
    root
}

#[test]
fn a_fleet_source_is_read_through_a_cache_per_device() {
    let (a, b) = (segmented(24), segmented(25));
    let bucket = bucket_of(&[a.path(), b.path()]);
    let src = bucket.path().join("fleet");
    let home = tempfile::tempdir().unwrap();
    let os = std::ffi::OsStr::new;
    let report = [
        os("report"),
        os("--format"),
        os("json"),
        os("--source"),
        src.as_os_str(),
    ];
    let (first, err) = with_cache_home(home.path(), &report);
    assert_eq!(err, "");
    assert_eq!(cache_files(home.path()).len(), 2, "a cache file per device");
    let (cached, _) = with_cache_home(home.path(), &report);
    assert_eq!(first, cached, "report from the cache");
    let (uncached, _) = with_cache_home(home.path(), &[&report[..], &[os("--no-cache")]].concat());
    assert_eq!(first, uncached, "report --no-cache");
    assert!(first.contains("device=pi-1"), "{first}");

    let export = [os("export"), os("runs"), os("--source"), src.as_os_str()];
    let (rows, _) = with_cache_home(home.path(), &export);
    let (uncached, _) = with_cache_home(home.path(), &[&export[..], &[os("--no-cache")]].concat());
    assert_eq!(rows, uncached, "export runs from the cache");
    assert!(rows.lines().count() > 24, "{rows}");
    assert_eq!(
        cache_files(home.path()).len(),
        2,
        "export's cache is the report's"
    );
}

/// A segment of another device dropped into a state directory under a name after the last
/// (its records' seqs are its own, not its name's), open: the cached read is the whole
/// read's, on the call that writes the cache and on the next, which reads the open segment
/// again. The rows were filed under a segment by their seq alone, so the other device's
/// rows were taken for rows of the directory's first segments, kept from the cache, and
/// those re-read dropped as already there: runs went missing, exit 0.
#[test]
fn a_foreign_open_segment_gives_the_same_rows_through_the_cache() {
    let dir = segmented(31);
    let other = log_dir(spread(12, false), 32, |log| {
        log.flushing = Some(Flushing::SHORT_SEGMENTS);
        log.device_id = "other-pi".into();
    });
    let first = other.path().join(format!("{:020}.ewlog", 0));
    let dropped = dir.path().join(format!("{:020}.ewlog.open", 1_000_000));
    std::fs::copy(first, dropped).unwrap();
    let home = tempfile::tempdir().unwrap();
    let os = std::ffi::OsStr::new;
    let export = export_runs(dir.path());
    let (uncached, _) = with_cache_home(home.path(), &[&export[..], &[os("--no-cache")]].concat());
    assert!(uncached.contains("other-pi"), "{uncached}");
    let (written, _) = with_cache_home(home.path(), &export);
    assert_eq!(written, uncached, "the read that writes the cache");
    let (cached, _) = with_cache_home(home.path(), &export);
    assert_eq!(cached, uncached, "the read from the cache");
}
