//! The cache where a log is odd: a segment unreadable for a while, damaged headers, a
//! clock restarted, nothing written yet, a segment replaced, two writers at once.

use super::*;

/// Runs `f` so that a mode-0 file cannot be read: as root (CI), with the filesystem uid
/// of `nobody` on this thread, so that root's permission override is gone; as anyone
/// else, as it is.
fn as_nobody<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return f();
    }
    // SAFETY: setfsuid only changes this thread's filesystem uid; restored below.
    let old = unsafe { libc::setfsuid(65534) };
    let out = f();
    unsafe { libc::setfsuid(old as libc::uid_t) };
    out
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A log whose third segment cannot be read by `nobody`, everything else readable by it,
/// and a cache directory it can write.
fn log_with_unreadable_third(tmp: &Path) -> (PathBuf, PathBuf, PathBuf) {
    chmod(tmp, 0o755);
    let dir = tmp.join("log");
    write(&dir, &synth(12, 4, "boot-1", 11)).unwrap();
    chmod(&dir, 0o755);
    for f in files(&dir) {
        chmod(&f, 0o644);
    }
    let third = files(&dir)[2].clone();
    chmod(&third, 0o000);
    let cache_dir = tmp.join("cache");
    std::fs::create_dir_all(&cache_dir).unwrap();
    chmod(&cache_dir, 0o777);
    (dir, third, cache_dir.join("cost.bin"))
}

#[test]
fn a_segment_unreadable_once_is_not_kept_unreadable_by_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, third, cache) = log_with_unreadable_third(tmp.path());
    // A read that cannot read the third segment (permission, or a transient EIO on an SD
    // card): the whole read reports it unreadable, and so does the cache.
    let first = as_nobody(|| read_dir(&dir, CostOptions::default(), &cache).unwrap());
    assert_eq!(first.write_error, None);
    assert_eq!(first.log.damage.unreadable_segments, 1);
    // Readable again; chmod does not touch the mtime, the stamp is the same.
    chmod(&third, 0o644);
    let want = whole(&dir);
    assert_eq!(want.damage.unreadable_segments, 0);
    let got = as_nobody(|| read_dir(&dir, CostOptions::default(), &cache).unwrap());
    eprintln!("used: {:?}", got.used);
    same(&got.log, &want, "the segment readable again");
}

#[test]
fn an_unreadable_segments_skip_names_the_path_it_is_read_by() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _third, cache) = log_with_unreadable_third(tmp.path());
    as_nobody(|| read_dir(&dir, CostOptions::default(), &cache).unwrap());
    // The same directory by another spelling (a symlink, a relative path): the same cache.
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    let got = as_nobody(|| read_dir(&link, CostOptions::default(), &cache).unwrap());
    let want = as_nobody(|| whole(&link));
    // The segment that could not be read is read again, so its skip names this path.
    assert!(
        matches!(got.used, CacheUse::Appended { .. }),
        "{:?}",
        got.used
    );
    same(&got.log, &want, "read through a symlink");
}

fn corrupt(path: &Path, at: usize, n: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    for b in &mut bytes[at..at + n] {
        *b ^= 0x5a;
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_damaged_header_in_the_middle_gives_the_rows_of_a_whole_read() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    write(&src, &synth(30, 15, "boot-1", 21)).unwrap();
    for i in [3, 7] {
        corrupt(&files(&src)[i], 12, 6);
    }
    grow(
        &src,
        &dst,
        &tmp.path().join("cache.bin"),
        &[0.5, 0.9],
        LAG_US,
    );
    assert_eq!(whole(&dst).damage.damaged_headers, 2);
}

#[test]
fn a_clock_restarted_under_the_same_boot_id_gives_the_rows_of_a_whole_read() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    write(&src, &synth(12, 6, "boot-1", 22)).unwrap();
    write(&src, &synth(12, 6, "boot-1", 23)).unwrap();
    grow(&src, &dst, &tmp.path().join("cache.bin"), &[0.4], LAG_US);
}

#[test]
fn an_empty_directory_and_an_empty_open_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    std::fs::create_dir_all(&dir).unwrap();
    let cache = tmp.path().join("cache.bin");
    for step in ["empty", "again"] {
        let got = read_dir_lag(&dir, CostOptions::default(), &cache, LAG_US).unwrap();
        same(&got.log, &whole(&dir), step);
    }
    std::fs::write(
        dir.join(format!("00000000000000000000.ewlog{OPEN_SUFFIX}")),
        b"",
    )
    .unwrap();
    let got = read_dir_lag(&dir, CostOptions::default(), &cache, LAG_US).unwrap();
    same(&got.log, &whole(&dir), "an empty open segment");
}

/// Two reports of the same directory at once (a cron job and a user, say) write the same
/// cache file through the same temporary name: one removes the other's temporary file,
/// renames the other's half-written file into place, and the other's write fails.
#[test]
fn two_reports_writing_the_cache_at_once_do_not_fail_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    write(&dir, &synth(8, 4, "boot-1", 31)).unwrap();
    let cache = tmp.path().join("cost.bin");
    read_dir(&dir, CostOptions::default(), &cache).unwrap();
    let errors: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut errors = Vec::new();
                    for _ in 0..200 {
                        let f = load(&cache);
                        if let Ok(f) = f {
                            if let Err(e) = store(&cache, &f) {
                                errors.push(e);
                            }
                        } else if let Err(e) = f {
                            errors.push(format!("load: {e}"));
                        }
                    }
                    errors
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let torn: Vec<&String> = errors.iter().filter(|e| e.starts_with("load")).collect();
    assert!(
        errors.is_empty(),
        "{} failures ({} reads of a torn cache), e.g. {:?} {:?}",
        errors.len(),
        torn.len(),
        &errors[..errors.len().min(2)],
        torn.first()
    );
}

#[test]
fn a_segment_replaced_by_another_of_the_same_length_and_mtime_is_read_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    write(&dir, &synth(8, 4, "boot-1", 41)).unwrap();
    let cache = tmp.path().join("cost.bin");
    read_dir_lag(&dir, CostOptions::default(), &cache, LAG_US).unwrap();
    // The first segment replaced by a copy with one byte of a frame changed, renamed into
    // place, its modification time set back: only the inode and ctime tell.
    let first = files(&dir)[0].clone();
    let mtime = std::fs::metadata(&first).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&first).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x20;
    let copy = tmp.path().join("copy");
    std::fs::write(&copy, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&copy)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    std::fs::rename(&copy, &first).unwrap();
    let got = read_dir_lag(&dir, CostOptions::default(), &cache, LAG_US).unwrap();
    assert!(
        matches!(&got.used, CacheUse::Whole(why) if why.contains("changed or was deleted")),
        "{:?}",
        got.used
    );
    same(&got.log, &whole(&dir), "a replaced segment");
}
