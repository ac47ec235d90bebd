//! The cache against the whole read it stands for: a log written as the daemon writes it
//! (flushes, segments, an open segment cut anywhere) is copied in segment by segment, and
//! after each step the rows, skips and damage through the cache are those of
//! [`CostLog::read`].

use std::path::Path;

use super::*;
use crate::store::OPEN_SUFFIX;
use crate::synth::calib::spread;
use crate::synth::calib::write;
use crate::synth::calib::Flushing;
use crate::synth::calib::PowerTruth;
use crate::synth::calib::SynthLog;

mod robust;

const TRUTH: PowerTruth = PowerTruth {
    idle_w: 3.0,
    cpu_w_per_pct: 0.035,
    ram_w_per_mb: 0.002,
    cpu_ghz_w_per_pct_ghz: 0.0,
};

/// How late a power reading may be written, in these tests: 2 flushes.
pub(super) const LAG_US: u64 = 2 * FLUSH_US;

/// Flushes half a second apart: a run's lead-out and an idle row's power readings often
/// reach into the next flush, and so into the next segment.
const FLUSH_US: u64 = 500_000;

/// A log of `runs` runs, a plan every `per_plan`, a segment every 12 s.
pub(super) fn synth(runs: usize, per_plan: usize, boot: &str, seed: u64) -> SynthLog {
    SynthLog {
        boot_id: boot.into(),
        runs_per_plan: per_plan,
        seed,
        flushing: Some(Flushing {
            flush_us: FLUSH_US,
            flushes_per_segment: 24,
        }),
        ..SynthLog::new(TRUTH, spread(runs, false))
    }
}

/// The segment files of `dir`, oldest first.
pub(super) fn files(dir: &Path) -> Vec<PathBuf> {
    list_segments(dir)
        .unwrap()
        .into_iter()
        .map(|s| s.path)
        .collect()
}

fn whole(dir: &Path) -> CostLog {
    CostLog::read(
        &LogSource::dir(dir),
        Filter::default(),
        CostOptions::default(),
    )
    .unwrap()
}

fn same(got: &CostLog, want: &CostLog, step: &str) {
    assert_eq!(got.rows.len(), want.rows.len(), "{step}: row count");
    for (g, w) in got.rows.iter().zip(&want.rows) {
        assert_eq!(g, w, "{step}: row of seq {}", w.seq);
    }
    assert_eq!(got.skips, want.skips, "{step}: skips");
    assert_eq!(got.damage, want.damage, "{step}: damage");
}

/// Copies the segments of `from` into `to` one by one, sometimes with the next one cut at
/// `cut` of its length and left open; checks each step against a whole read. Returns how
/// the cache was used at each step. `power_lag_us` stands for [`POWER_LAG_US`], which is
/// longer than these logs.
fn grow(from: &Path, to: &Path, cache: &Path, cuts: &[f64], power_lag_us: u64) -> Vec<CacheUse> {
    let src = files(from);
    std::fs::create_dir_all(to).unwrap();
    let mut used = Vec::new();
    for (i, path) in src.iter().enumerate() {
        let name = path.file_name().unwrap().to_str().unwrap();
        let open = to.join(format!(
            "{}{OPEN_SUFFIX}",
            name.strip_suffix(".ewlog").unwrap()
        ));
        let _ = std::fs::remove_file(&open);
        std::fs::copy(path, to.join(name)).unwrap();
        if let (Some(next), Some(cut)) = (src.get(i + 1), cuts.get(i % cuts.len().max(1))) {
            let bytes = std::fs::read(next).unwrap();
            let keep = (bytes.len() as f64 * cut) as usize;
            let next_name = next.file_name().unwrap().to_str().unwrap();
            let next_open = format!("{}{OPEN_SUFFIX}", next_name.strip_suffix(".ewlog").unwrap());
            std::fs::write(to.join(next_open), &bytes[..keep]).unwrap();
        }
        let got = read_dir_lag(to, CostOptions::default(), cache, power_lag_us).unwrap();
        assert_eq!(got.write_error, None);
        same(&got.log, &whole(to), &format!("after segment {i}"));
        used.push(got.used);
        if i + 1 < src.len() && cuts.is_empty() {
            // The same log again: nothing read.
            let again = read_dir_lag(to, CostOptions::default(), cache, power_lag_us).unwrap();
            assert_eq!(again.used, CacheUse::Unchanged, "after segment {i}");
            same(&again.log, &whole(to), &format!("again after segment {i}"));
        }
    }
    used
}

fn appended_reads(used: &[CacheUse]) -> Vec<usize> {
    used.iter()
        .filter_map(|u| match u {
            CacheUse::Appended { read, .. } => Some(*read),
            _ => None,
        })
        .collect()
}

#[test]
fn a_log_growing_segment_by_segment_gives_the_rows_of_a_whole_read() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    write(&src, &synth(20, 4, "boot-1", 1)).unwrap();
    let n = files(&src).len();
    assert!(n >= 16, "{n} segments: too few to test appending");
    let used = grow(&src, &dst, &tmp.path().join("cache.bin"), &[], LAG_US);
    assert_eq!(used[0], CacheUse::Whole("no cache yet".into()));
    let reads = appended_reads(&used);
    assert_eq!(reads.len(), n - 1, "{used:?}");
    // Each step reads from the lead-in of the plan under way (a plan of 4 runs is about
    // 45 s, 4 segments of 12 s): not more as the log grows.
    assert!(reads.iter().all(|&r| (1..=5).contains(&r)), "{used:?}");
}

#[test]
fn an_open_segment_cut_anywhere_and_a_plan_far_back_give_the_rows_of_a_whole_read() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    // A plan every 15 runs: its lead-in lies several segments before most of its runs.
    write(&src, &synth(30, 15, "boot-1", 2)).unwrap();
    let used = grow(
        &src,
        &dst,
        &tmp.path().join("cache.bin"),
        &[0.5, 0.03, 0.97, 0.31],
        LAG_US,
    );
    assert!(
        appended_reads(&used).iter().any(|&r| r > 2),
        "a run whose lead-in is far back makes the reading start there: {used:?}"
    );
}

#[test]
fn a_second_boot_gives_the_rows_of_a_whole_read() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    write(&src, &synth(12, 4, "boot-1", 3)).unwrap();
    write(&src, &synth(12, 4, "boot-2", 4)).unwrap();
    grow(&src, &dst, &tmp.path().join("cache.bin"), &[0.6], LAG_US);
}

/// Segments whose header is damaged, alone and two in a row: a boot of their own, device
/// unknown; the rows read with the cache as the log grows (an open segment cut anywhere
/// too) are those of a whole read.
#[test]
fn damaged_headers_give_the_rows_of_a_whole_read() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    write(&src, &synth(20, 4, "boot-1", 5)).unwrap();
    let segs = files(&src);
    for i in [2, 5, 9, 10] {
        let mut bytes = std::fs::read(&segs[i]).unwrap();
        bytes[20] ^= 1; // inside the header's anchor
        std::fs::write(&segs[i], bytes).unwrap();
    }
    let log = whole(&src);
    let first = |i: usize| crate::store::named_first_seq(&segs[i]).unwrap();
    for i in [2, 5, 9] {
        let rows: Vec<_> = (log.rows.iter())
            .filter(|r| (first(i)..first(i + 1)).contains(&r.seq))
            .collect();
        assert!(!rows.is_empty(), "segment {i} holds runs");
        assert!(rows.iter().all(|r| r.device_id.is_none()), "segment {i}");
    }
    grow(&src, &dst, &tmp.path().join("cache.bin"), &[], LAG_US);
    let again = tmp.path().join("again");
    grow(
        &src,
        &again,
        &tmp.path().join("cache2.bin"),
        &[0.4, 0.8],
        LAG_US,
    );
}

#[test]
fn another_build_options_deletion_or_a_damaged_cache_read_the_log_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    write(&dir, &synth(16, 4, "boot-1", 5)).unwrap();
    let cache = tmp.path().join("c/cost.bin");
    let opts = CostOptions::default();
    let first = read_dir(&dir, opts, &cache).unwrap();
    assert_eq!(first.used, CacheUse::Whole("no cache yet".into()));
    assert_eq!(
        read_dir(&dir, opts, &cache).unwrap().used,
        CacheUse::Unchanged
    );

    let other = CostOptions { min_coverage: 0.5 };
    let got = read_dir(&dir, other, &cache).unwrap();
    assert_eq!(
        got.used,
        CacheUse::Whole("the cache was written with another coverage threshold".into())
    );
    let want = CostLog::read(&LogSource::dir(&dir), Filter::default(), other).unwrap();
    same(&got.log, &want, "another threshold");

    let mut f = load(&cache).unwrap();
    f.build.push_str(" older");
    store(&cache, &f).unwrap();
    let got = read_dir(&dir, other, &cache).unwrap();
    assert_eq!(
        got.used,
        CacheUse::Whole("the cache was written by another build of edgewatt".into())
    );

    // Torn by a power cut, or a bit flipped: the CRC fails.
    let bytes = std::fs::read(&cache).unwrap();
    let mut flipped = bytes.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 1;
    for damaged in [
        bytes[..bytes.len() / 2].to_vec(),
        flipped,
        bytes[..10].to_vec(),
    ] {
        std::fs::write(&cache, damaged).unwrap();
        let got = read_dir(&dir, opts, &cache).unwrap();
        assert!(
            matches!(&got.used, CacheUse::Whole(why) if why.contains("is damaged (CRC)")),
            "{:?}",
            got.used
        );
        same(&got.log, &whole(&dir), "a damaged cache");
    }
    std::fs::write(&cache, b"something else").unwrap();
    let got = read_dir(&dir, opts, &cache).unwrap();
    assert!(
        matches!(&got.used, CacheUse::Whole(why) if why.contains("is not an edgewatt cost cache")),
        "{:?}",
        got.used
    );

    // Retention deletes the oldest segment.
    std::fs::remove_file(&files(&dir)[0]).unwrap();
    let got = read_dir(&dir, opts, &cache).unwrap();
    assert!(
        matches!(&got.used, CacheUse::Whole(why) if why.contains("changed or was deleted")),
        "{:?}",
        got.used
    );
    same(&got.log, &whole(&dir), "after retention");
}

#[test]
fn a_cache_that_cannot_be_written_is_reported_and_the_rows_are_right() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    write(&dir, &synth(8, 4, "boot-1", 6)).unwrap();
    let blocker = tmp.path().join("file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let got = read_dir(&dir, CostOptions::default(), &blocker.join("cost.bin")).unwrap();
    let why = got
        .write_error
        .expect("a cache under a file cannot be written");
    assert!(why.contains("cannot make the cache directory"), "{why}");
    same(&got.log, &whole(&dir), "uncached");
}

#[test]
fn damage_in_a_cached_segment_is_still_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    write(&src, &synth(12, 4, "boot-1", 7)).unwrap();
    // Corrupt the middle of the third segment.
    let third = &files(&src)[2];
    let mut bytes = std::fs::read(third).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 40] {
        *b ^= 0x5a;
    }
    std::fs::write(third, bytes).unwrap();
    grow(&src, &dst, &tmp.path().join("cache.bin"), &[], LAG_US);
    let got = read_dir(&dst, CostOptions::default(), &tmp.path().join("cache.bin")).unwrap();
    assert!(got.log.damage.corrupt_frames > 0, "{:?}", got.log.damage);
}

#[test]
fn the_cache_file_is_named_by_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let base = Path::new("/cache");
    assert_ne!(file_for(base, &a), file_for(base, &b));
    assert_eq!(file_for(base, &a), file_for(base, &a.join("../a")));
    assert!(file_for(base, &a).starts_with(base));
}

#[test]
fn idle_rows_within_the_power_lag_are_derived_again() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("src"), tmp.path().join("dst"));
    // About 2 minutes: shorter than the lag, so no idle row is ever final, and each read
    // starts at the first plan's lead-in.
    write(&src, &synth(12, 4, "boot-1", 8)).unwrap();
    let used = grow(&src, &dst, &tmp.path().join("cache.bin"), &[], POWER_LAG_US);
    let reads = appended_reads(&used);
    let totals: Vec<usize> = (2..=reads.len() + 1).collect();
    assert_eq!(reads, totals, "{used:?}");
}

/// `merge_in_order` against what it stands for: a stable sort by segment, then seq, of the
/// cached rows then the new ones. Each row is told apart by its label.
#[test]
fn merge_in_order_is_a_stable_sort_of_the_cached_rows_then_the_new_ones() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), &synth(2, 2, "boot-1", 5)).unwrap();
    let template = whole(tmp.path()).rows.remove(0);
    let made = |tag: &str, rows: &[(usize, u64)]| -> (Vec<Place>, Vec<RunCost>) {
        rows.iter()
            .enumerate()
            .map(|(i, &(segment, seq))| {
                let mut row = template.clone();
                row.seq = seq;
                row.label = format!("{tag}{i}");
                (
                    Place {
                        segment,
                        is_final: tag == "c",
                    },
                    row,
                )
            })
            .unzip()
    };
    type Case<'a> = (&'a [(usize, u64)], &'a [(usize, u64)]);
    let cases: [Case; 10] = [
        (&[(0, 1), (0, 2), (1, 3)], &[]),
        (&[(1, 3), (0, 1), (0, 2)], &[]),
        (&[(0, 1), (1, 3), (2, 5)], &[(0, 2), (1, 4)]),
        (&[(0, 1), (0, 2), (0, 2), (1, 3)], &[(0, 2), (0, 2)]),
        (&[(2, 5), (0, 1), (1, 3)], &[(0, 2), (1, 4)]),
        (&[(0, 2), (0, 1), (0, 2)], &[(0, 2)]),
        (&[], &[(1, 3), (0, 1)]),
        (&[(0, 4), (0, 4)], &[(0, 4)]),
        // A segment from another log: its seqs are below those of the segments before it.
        (&[(0, 1), (0, 2), (1, 900)], &[(2, 3), (3, 5), (2, 4)]),
        (&[(0, 10), (1, 2), (1, 3)], &[(1, 4), (2, 11)]),
    ];
    for (cached, new) in cases {
        let (mut places, mut rows) = made("c", cached);
        let (new_places, new_rows) = made("n", new);
        let mut want: Vec<(Place, RunCost)> = places
            .iter()
            .copied()
            .zip(rows.iter().cloned())
            .chain(new_places.iter().copied().zip(new_rows.iter().cloned()))
            .collect();
        want.sort_by_key(|(p, r)| (p.segment, r.seq));
        merge_in_order(&mut places, &mut rows, new_places, new_rows);
        let got: Vec<(Place, &str)> = places
            .iter()
            .copied()
            .zip(rows.iter().map(|r| r.label.as_str()))
            .collect();
        let want: Vec<(Place, &str)> = want.iter().map(|(p, r)| (*p, r.label.as_str())).collect();
        assert_eq!(got, want, "cached {cached:?}, new {new:?}");
    }
}
