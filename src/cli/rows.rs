//! The cost rows a command reads from state directories or a fleet's devices: each through
//! its cache of rows ([`crate::cost::cache`]) unless `--no-cache`, so that `report`,
//! `calibrate` and `export runs` over weeks of log derive only what is new. One way for all
//! three.

use std::path::Path;
use std::path::PathBuf;

use crate::cost::cache;
use crate::cost::drop_repeats;
use crate::cost::repeats_note;
use crate::cost::CostLog;
use crate::cost::CostOptions;
use crate::cost::RowKey;
use crate::estimate::fit::copy_rank;
use crate::logread::Filter;
use crate::logread::LogError;
use crate::logread::LogSource;

/// One source of rows, read through the cache if there is one: a state directory, or one
/// device's segment files from a fleet's bucket.
pub enum Source {
    Dir(PathBuf),
    /// `files` in seq order; `key` names the cache file (the device's directory).
    Group {
        key: PathBuf,
        files: Vec<PathBuf>,
    },
}

impl Source {
    /// The seqs in none of its segments (a segment deleted from the middle, quarantined or
    /// not copied), from the segments' seals alone: a cached read does not open them.
    #[must_use]
    pub fn seq_gaps(&self) -> Vec<crate::store::SeqGap> {
        let segments = match self {
            Self::Dir(dir) => crate::store::list_segments(dir).unwrap_or_default(),
            Self::Group { files, .. } => (files.iter())
                .filter_map(|f| crate::store::SegmentInfo::sealed(f))
                .collect(),
        };
        crate::store::seq_gaps(&segments)
    }

    /// Its rows. A cache that could not be written is told on stderr as `command`'s: the
    /// rows are right all the same.
    pub fn read(
        &self,
        command: &str,
        opts: CostOptions,
        cache: Option<&Path>,
    ) -> Result<CostLog, LogError> {
        let Some(cache) = cache else {
            return CostLog::read(&self.log(), Filter::default(), opts);
        };
        let (read, key) = match self {
            Self::Dir(dir) => (
                cache::read_dir(dir, opts, &cache::file_for(cache, dir))?,
                dir,
            ),
            Self::Group { key, files } => (
                cache::read_group(files, opts, &cache::file_for(cache, key))?,
                key,
            ),
        };
        if let Some(why) = read.write_error {
            eprintln!(
                "edgewatt: {command}: {}: {why}; the rows are right, the next {command} \
                 derives every row again (--no-cache leaves the cache alone)",
                key.display()
            );
        }
        Ok(read.log)
    }

    /// Its log, read as it is.
    fn log(&self) -> LogSource {
        match self {
            Self::Dir(dir) => LogSource::dir(dir),
            Self::Group { files, .. } => LogSource::Groups(vec![files.clone()]),
        }
    }
}

/// The rows of `sources`, in order, with their skips and damage, as one read of `whole`
/// (the same sources as one) gives them, each run once (one read twice, in two sources, is
/// told on stderr as `command`'s). Through `cache` (the user's cache directory), each
/// source is read on its own through its cache file; without it, `whole` is read. The
/// first source that cannot be read is the error.
pub fn read_all(
    command: &str,
    sources: &[Source],
    whole: &LogSource,
    opts: CostOptions,
    cache: Option<&Path>,
) -> Result<CostLog, LogError> {
    let mut log = read_each(command, sources, whole, opts, cache)?;
    let repeats = drop_repeats(&mut log.rows, RowKey::of, copy_rank);
    if repeats > 0 {
        eprintln!("edgewatt: {command}: {}", repeats_note(repeats));
    }
    Ok(log)
}

fn read_each(
    command: &str,
    sources: &[Source],
    whole: &LogSource,
    opts: CostOptions,
    cache: Option<&Path>,
) -> Result<CostLog, LogError> {
    if cache.is_none() {
        return CostLog::read(whole, Filter::default(), opts);
    }
    let mut all = CostLog {
        rows: Vec::new(),
        skips: Vec::new(),
        damage: Default::default(),
    };
    for source in sources {
        let log = source.read(command, opts, cache)?;
        if all.rows.is_empty() {
            all.rows = log.rows;
        } else {
            all.rows.extend(log.rows);
        }
        all.skips.extend(log.skips);
    }
    all.damage = all.skips.iter().collect();
    Ok(all)
}
