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
