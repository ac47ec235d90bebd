//! One device of a fleet through the cache: the sealed segments it uploaded, from a mirror
//! of the bucket ([`crate::upload::mirror::device_groups`]), cached as a state directory is.

use std::path::Path;
use std::path::PathBuf;

use super::read_listed;
use super::uncached;
use super::CachedRead;
use super::POWER_LAG_US;
use crate::cost::CostOptions;
use crate::logread::LogError;
use crate::logread::LogSource;
use crate::store::SegmentInfo;

/// The cost rows of one device's segment `files` (sealed, in seq order), as
/// [`CostLog::read`](crate::cost::CostLog::read) of them as one group gives them, through
/// the cache file `cache`. Files that are not named as sealed segments in strictly
/// increasing seq order (a device whose log began again at 0) are read whole, uncached.
pub fn read_group(
    files: &[PathBuf],
    opts: CostOptions,
    cache: &Path,
) -> Result<CachedRead, LogError> {
    read_group_lag(files, opts, cache, POWER_LAG_US)
}

/// [`read_group`] with `power_lag_us` for [`POWER_LAG_US`] (tests use logs shorter than it).
fn read_group_lag(
    files: &[PathBuf],
    opts: CostOptions,
    cache: &Path,
    power_lag_us: u64,
) -> Result<CachedRead, LogError> {
    let source = LogSource::Groups(vec![files.to_vec()]);
    let listed: Option<Vec<SegmentInfo>> = files.iter().map(|f| SegmentInfo::sealed(f)).collect();
    match listed.filter(|l| l.windows(2).all(|w| w[0].first_seq < w[1].first_seq)) {
        Some(listed) => read_listed(&source, &listed, opts, cache, power_lag_us),
        None => uncached(
            &source,
            opts,
            "the segments are not named in strictly increasing seq order",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::cache::tests::files;
    use crate::cost::cache::tests::synth;
    use crate::cost::cache::tests::LAG_US;
    use crate::cost::cache::CacheUse;
    use crate::cost::CostLog;
    use crate::logread::Filter;
    use crate::synth::calib::write;

    /// A log of 16 runs in segments of 12 s, its files oldest first.
    fn log(dir: &Path) -> Vec<PathBuf> {
        write(dir, &synth(16, 4, "boot-1", 1)).unwrap();
        files(dir)
    }

    fn whole(files: &[PathBuf]) -> CostLog {
        let source = LogSource::Groups(vec![files.to_vec()]);
        CostLog::read(&source, Filter::default(), CostOptions::default()).unwrap()
    }

    #[test]
    fn a_device_uploading_segment_by_segment_gives_the_rows_of_a_whole_read() {
        let (log_dir, bucket) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let src = log(log_dir.path());
        assert!(src.len() >= 4, "{} segments", src.len());
        let cache = bucket.path().join("cost.bin");
        let mut uploaded = Vec::new();
        let mut used = Vec::new();
        for (i, path) in src.iter().enumerate() {
            // Two date partitions, as a device uploading over midnight leaves them.
            let day = if i < src.len() / 2 {
                "2025-06-15"
            } else {
                "2025-06-16"
            };
            let to = bucket.path().join(format!("device=pi-1/date={day}"));
            std::fs::create_dir_all(&to).unwrap();
            let copy = to.join(path.file_name().unwrap());
            std::fs::copy(path, &copy).unwrap();
            uploaded.push(copy);
            let got = read_group_lag(&uploaded, CostOptions::default(), &cache, LAG_US).unwrap();
            assert_eq!(got.write_error, None);
            let want = whole(&uploaded);
            assert_eq!(got.log.rows, want.rows, "after segment {i}");
            assert_eq!(got.log.skips, want.skips, "after segment {i}");
            used.push(got.used);
            let again = read_group_lag(&uploaded, CostOptions::default(), &cache, LAG_US).unwrap();
            assert_eq!(again.used, CacheUse::Unchanged, "after segment {i}");
            assert_eq!(again.log.rows, want.rows, "again after segment {i}");
        }
        assert_eq!(used[0], CacheUse::Whole("no cache yet".into()));
        let total = src.len();
        for (i, u) in used.iter().enumerate().skip(1) {
            let CacheUse::Appended { read, total: t } = u else {
                panic!("segment {i}: {u:?}");
            };
            // Back to the segment of the plan's start at most (4 runs, a segment or so each).
            assert!(*read <= 5 && *t == i + 1, "segment {i} of {total}: {u:?}");
        }
    }

    #[test]
    fn names_out_of_seq_order_are_read_whole_without_the_cache() {
        let (log_dir, bucket) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let src = log(log_dir.path());
        // A device whose log began again at 0: its first segment's name, in a later day.
        let again = bucket.path().join("device=pi-1/date=2025-06-16");
        std::fs::create_dir_all(&again).unwrap();
        let restarted = again.join(src[0].file_name().unwrap());
        std::fs::copy(&src[1], &restarted).unwrap();
        let files = vec![src[0].clone(), src[1].clone(), restarted];
        let cache = bucket.path().join("cost.bin");
        let got = read_group_lag(&files, CostOptions::default(), &cache, LAG_US).unwrap();
        assert_eq!(
            got.used,
            CacheUse::Whole("the segments are not named in strictly increasing seq order".into())
        );
        assert_eq!(got.log.rows, whole(&files).rows);
        assert!(!cache.exists());
    }
}
