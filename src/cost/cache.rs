//! A cache of a state directory's cost rows, so that a report over weeks of log derives
//! only what is new.
//!
//! **What is kept.** After a read, the cache file holds every row with the segment its
//! record is in, whether it is *final* (it stays as it is whatever the daemon appends:
//! `Segs::is_final`), what was skipped, and for each segment its stamp (name, length,
//! modification and status-change times, inode), its header's clock and the latest times in it. Its key is the
//! build of edgewatt that wrote it (version and executable), the format of this file and
//! the rows' options: another build or another `--min-coverage-pct` reads the log whole.
//!
//! **How it is used.** If every segment is sealed and listed with the same stamps, the log
//! is what it was and the rows come from the cache. If the sealed segments the cache knows
//! are still the first ones listed, their final rows come from the cache and the rest is
//! read from the first segment a row still needs (`Segs::complete_from`): the last
//! sealed one and the open one, on a running device. Anything else (no cache, another
//! build, a sealed segment changed or deleted by retention, a cache file that does not
//! read) reads the log whole and writes the cache again. The rows are the same as
//! [`CostLog::read`]'s in every case; the cache only decides how much is read.
//!
//! The cache is derived data: deleting it costs one whole read. A cache that cannot be
//! written is reported and the rows are returned all the same.

mod file;
mod group;
mod location;
mod segs;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::collections::HashSet;
use std::path::Path;
use std::path::PathBuf;

use super::read::Reach;
use super::CostLog;
use super::CostOptions;
use super::RunCost;
use crate::logread::Filter;
use crate::logread::LogError;
use crate::logread::LogSource;
use crate::logread::Skip;
use crate::logread::SkipKind;
use crate::store::list_segments;
use crate::store::SegmentInfo;
use file::load;
use file::store;
use file::File;
use file::Place;
use file::FORMAT;
use segs::Seg;
use segs::Segs;
use segs::Stamp;

pub use group::read_group;
pub use location::file_for;
pub use location::user_cache_dir;
pub use segs::POWER_LAG_US;

/// How a read used the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheUse {
    /// Every segment sealed and unchanged: no segment read.
    Unchanged,
    /// The final rows of the first segments from the cache; `read` of `total` segments
    /// read.
    Appended { read: usize, total: usize },
    /// The log read whole, and why.
    Whole(String),
}

/// Rows read through the cache, and how.
#[derive(Debug)]
pub struct CachedRead {
    pub log: CostLog,
    pub used: CacheUse,
    /// Why the cache could not be written (the rows are right; the next read is slower).
    pub write_error: Option<String>,
}

/// This build of edgewatt: its version and its executable's length and modification time,
/// so that a rebuilt binary, whose rows may be derived differently, reads the log whole.
fn build() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| Stamp::of(&p, false, 0));
    let (len, mtime) = exe.map_or((0, 0), |s| (s.len_bytes, s.mtime_ns));
    format!("{} {len} {mtime}", env!("CARGO_PKG_VERSION"))
}

/// The cost rows of the state directory `dir` (as [`CostLog::read`] with no filter),
/// through the cache file `cache`.
pub fn read_dir(dir: &Path, opts: CostOptions, cache: &Path) -> Result<CachedRead, LogError> {
    read_dir_lag(dir, opts, cache, POWER_LAG_US)
}

/// [`read_dir`] with `power_lag_us` for [`POWER_LAG_US`] (tests use logs shorter than it).
fn read_dir_lag(
    dir: &Path,
    opts: CostOptions,
    cache: &Path,
    power_lag_us: u64,
) -> Result<CachedRead, LogError> {
    let listed = list_segments(dir).map_err(|source| LogError::List {
        dir: dir.to_path_buf(),
        source,
    })?;
    read_listed(&LogSource::dir(dir), &listed, opts, cache, power_lag_us)
}

/// The rows of `source`, whose segments are `listed` (in seq order, each first seq above
/// the one before), through the cache file `cache`.
fn read_listed(
    source: &LogSource,
    listed: &[SegmentInfo],
    opts: CostOptions,
    cache: &Path,
    power_lag_us: u64,
) -> Result<CachedRead, LogError> {
    let paths: Vec<PathBuf> = listed.iter().map(|s| s.path.clone()).collect();
    let stamps: Option<Vec<Stamp>> = listed
        .iter()
        .map(|s| Stamp::of(&s.path, s.open, s.first_seq))
        .collect();
    let Some(stamps) = stamps else {
        // A segment went away while listing (rotation): read what is there, uncached.
        return uncached(source, opts, "the segments changed while listed");
    };
    let build = build();
    let old = load(cache).and_then(|f| usable(f, &build, opts));
    let planned = old.and_then(|f| plan(&f, &stamps).map(|keep| (f, keep)));
    let (file, used) = match planned {
        Ok((f, None)) => (f, CacheUse::Unchanged),
        Ok((f, Some(keep))) => append(f, keep, stamps, &paths, opts, power_lag_us)?,
        Err(why) => {
            let file = whole(stamps, &paths, opts, build, power_lag_us)?;
            (file, CacheUse::Whole(why))
        }
    };
    let write_error = match used {
        CacheUse::Unchanged => None,
        _ => store(cache, &file).err(),
    };
    Ok(CachedRead {
        log: to_log(file, &paths),
        used,
        write_error,
    })
}

/// The rows of `source` read whole, the cache left alone, and why.
fn uncached(source: &LogSource, opts: CostOptions, why: &str) -> Result<CachedRead, LogError> {
    Ok(CachedRead {
        log: CostLog::read(source, Filter::default(), opts)?,
        used: CacheUse::Whole(why.into()),
        write_error: None,
    })
}

fn usable(f: File, build: &str, opts: CostOptions) -> Result<File, String> {
    if f.format != FORMAT || f.build != build {
        return Err("the cache was written by another build of edgewatt".into());
    }
    if f.min_coverage_bits != opts.min_coverage.to_bits() {
        return Err("the cache was written with another coverage threshold".into());
    }
    Ok(f)
}

/// `None` if the log is unchanged; else how many of the cached segments are kept (the
/// sealed ones, all still the first listed); `Err` if the log changed before its end.
fn plan(f: &File, stamps: &[Stamp]) -> Result<Option<usize>, String> {
    let sealed = segs::kept(&f.segments);
    let same = f.segments.len() == stamps.len()
        && f.segments.iter().zip(stamps).all(|(c, s)| c.stamp == *s);
    if sealed == stamps.len() && same {
        return Ok(None);
    }
    for (i, c) in f.segments[..sealed].iter().enumerate() {
        if stamps.get(i) != Some(&c.stamp) {
            return Err(format!(
                "segment {} changed or was deleted since the cache was written",
                c.stamp.name
            ));
        }
    }
    Ok(Some(sealed))
}

/// The log read whole.
fn whole(
    stamps: Vec<Stamp>,
    paths: &[PathBuf],
    opts: CostOptions,
    build: String,
    power_lag_us: u64,
) -> Result<File, LogError> {
    let mut file = File {
        format: FORMAT,
        build,
        min_coverage_bits: opts.min_coverage.to_bits(),
        segments: stamps.into_iter().map(Seg::unknown).collect(),
        places: Vec::new(),
        rows: Vec::new(),
        skips: Vec::new(),
    };
    let tail = read_from(&mut file.segments, paths, 0, opts)?;
    (file.places, file.rows) = finals(&file.segments, power_lag_us, tail.rows);
    file.skips = tail.skips;
    Ok(file)
}

/// What a read of segments `from..` gave.
struct Tail {
    /// Each row with its segment and what it read.
    rows: Vec<(usize, RunCost, Reach)>,
    skips: Vec<(usize, Skip)>,
}

/// Reads the segments `from..` of `paths` and fills in what `segs` keeps of them.
fn read_from(
    segs: &mut [Seg],
    paths: &[PathBuf],
    from: usize,
    opts: CostOptions,
) -> Result<Tail, LogError> {
    let source = LogSource::Groups(vec![paths[from..].to_vec()]);
    let (log, reach, index) = CostLog::read_reach(&source, Filter::default(), opts)?;
    segs::fill_from_index(&mut segs[from..], &index);
    let at: HashMap<&Path, usize> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_path(), i))
        .collect();
    let rows = log
        .rows
        .into_iter()
        .zip(reach)
        .map(|(row, (reach, path))| {
            let segment = at.get(path.as_path()).copied().unwrap_or(from);
            (segment, row, reach)
        })
        .collect();
    let skips: Vec<(usize, Skip)> = log
        .skips
        .into_iter()
        .map(|s| (at.get(s.path.as_path()).copied().unwrap_or(from), s))
        .collect();
    for (i, skip) in &skips {
        if matches!(skip.kind, SkipKind::Unreadable { .. }) {
            segs[*i].unreadable = true;
        }
    }
    Ok(Tail { rows, skips })
}

/// The rows of a read, and where each is with whether it is final among `segs`.
fn finals(
    segs: &[Seg],
    power_lag_us: u64,
    rows: Vec<(usize, RunCost, Reach)>,
) -> (Vec<Place>, Vec<RunCost>) {
    let sealed = segs::kept(segs);
    let segs = Segs { segs, power_lag_us };
    rows.into_iter()
        .map(|(segment, row, reach)| {
            let is_final = segs.is_final(sealed, segment, &reach);
            (Place { segment, is_final }, row)
        })
        .unzip()
}

/// Keeps the final rows of the first `keep` (sealed) segments of `f` and reads the rest,
/// from where the rows it derives are those of the whole log.
fn append(
    f: File,
    keep: usize,
    stamps: Vec<Stamp>,
    paths: &[PathBuf],
    opts: CostOptions,
    power_lag_us: u64,
) -> Result<(File, CacheUse), LogError> {
    let total = stamps.len();
    let mut known: Vec<Seg> = f.segments.into_iter().take(keep).collect();
    known.extend(stamps.into_iter().skip(keep).map(Seg::unknown));
    // A row that was not final is derived again: the reading starts at its segment.
    let mut from = f
        .places
        .iter()
        .filter(|p| p.segment < keep && !p.is_final)
        .map(|p| p.segment)
        .fold(keep, usize::min);
    // Kept where they are (rows are over a kilobyte; those dropped are the last few).
    let kept = |p: &Place| p.segment < keep && p.is_final;
    let (mut places, mut rows) = (f.places, f.rows);
    let mut is_kept = places.iter().map(kept).collect::<Vec<bool>>().into_iter();
    rows.retain(|_| is_kept.next().unwrap_or(false));
    places.retain(kept);
    // A record is known by its segment and seq: a segment dropped in from another log
    // holds seqs of its own, which may be those of this log's first segments.
    let cached: HashSet<(usize, u64)> = places
        .iter()
        .zip(&rows)
        .map(|(p, r)| (p.segment, r.seq))
        .collect();
    let fresh = |s: usize, row: &RunCost| s >= keep || !cached.contains(&(s, row.seq));
    let (segments, tail) = loop {
        let mut segments = known.clone();
        let tail = read_from(&mut segments, paths, from, opts)?;
        let need = tail
            .rows
            .iter()
            .filter(|(s, row, _)| fresh(*s, row))
            .map(|(s, _, reach)| {
                let segs = Segs {
                    segs: &segments,
                    power_lag_us,
                };
                segs.complete_from(from, *s, reach)
            })
            .min()
            .unwrap_or(from);
        if need >= from {
            break (segments, tail);
        }
        from = need;
    };
    let new: Vec<(usize, RunCost, Reach)> = tail
        .rows
        .into_iter()
        .filter(|(s, row, _)| fresh(*s, row))
        .collect();
    let (new_places, new_rows) = finals(&segments, power_lag_us, new);
    merge_in_order(&mut places, &mut rows, new_places, new_rows);
    let mut skips: Vec<(usize, Skip)> = f.skips.into_iter().filter(|(s, _)| *s < from).collect();
    skips.extend(tail.skips);
    let file = File {
        format: f.format,
        build: f.build,
        min_coverage_bits: f.min_coverage_bits,
        segments,
        places,
        rows,
        skips,
    };
    let read = total - from;
    Ok((file, CacheUse::Appended { read, total }))
}

/// Adds the new rows to the cached ones in log order, by segment then seq (a stable sort of
/// the cached rows then the new ones). Only the cached rows after the first new one move,
/// when the cached rows are in order (as an append leaves them).
fn merge_in_order(
    places: &mut Vec<Place>,
    rows: &mut Vec<RunCost>,
    new_places: Vec<Place>,
    new_rows: Vec<RunCost>,
) {
    let key = |p: &Place, r: &RunCost| (p.segment, r.seq);
    let keys: Vec<(usize, u64)> = places
        .iter()
        .zip(rows.iter())
        .map(|(p, r)| key(p, r))
        .collect();
    let from = match new_places
        .iter()
        .zip(&new_rows)
        .map(|(p, r)| key(p, r))
        .min()
    {
        _ if !keys.is_sorted() => 0,
        Some(first_new) => keys.partition_point(|k| *k <= first_new),
        None => return,
    };
    let mut tail: Vec<(Place, RunCost)> = places
        .split_off(from)
        .into_iter()
        .zip(rows.split_off(from))
        .chain(new_places.into_iter().zip(new_rows))
        .collect();
    tail.sort_by_key(|(p, r)| key(p, r));
    places.reserve(tail.len());
    rows.reserve(tail.len());
    for (p, r) in tail {
        places.push(p);
        rows.push(r);
    }
}

/// The rows and skips of `f`, the skips' paths made again from `paths`.
fn to_log(f: File, paths: &[PathBuf]) -> CostLog {
    let skips: Vec<Skip> = f
        .skips
        .into_iter()
        .map(|(i, mut s)| {
            if let Some(p) = paths.get(i) {
                s.path.clone_from(p);
            }
            s
        })
        .collect();
    CostLog {
        rows: f.rows,
        damage: skips.iter().collect(),
        skips,
    }
}
