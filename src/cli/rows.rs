//! The cost rows a command reads from state directories: each directory through its cache
//! of rows ([`crate::cost::cache`]) unless `--no-cache`, so that `report`, `calibrate` and
//! `export runs` over weeks of log derive only what is new. One way for all three.

use std::path::Path;
use std::path::PathBuf;

use crate::cost::cache;
use crate::cost::CostLog;
use crate::cost::CostOptions;
use crate::logread::Filter;
use crate::logread::LogError;
use crate::logread::LogSource;

/// One source of rows: a state directory (read through the cache, if there is one) or
/// segment files from a bucket.
pub enum Source {
    Dir(PathBuf),
    Log(LogSource),
}

impl Source {
    /// Its rows. A cache that could not be written is told on stderr as `command`'s: the
    /// rows are right all the same.
    pub fn read(
        &self,
        command: &str,
        opts: CostOptions,
        cache: Option<&Path>,
    ) -> Result<CostLog, LogError> {
        match (self, cache) {
            (Self::Dir(dir), Some(cache)) => {
                let read = cache::read_dir(dir, opts, &cache::file_for(cache, dir))?;
                if let Some(why) = read.write_error {
                    eprintln!(
                        "edgewatt: {command}: {}: {why}; the rows are right, the next \
                         {command} derives every row again (--no-cache leaves the cache alone)",
                        dir.display()
                    );
                }
                Ok(read.log)
            }
            (Self::Dir(dir), None) => CostLog::read(&LogSource::dir(dir), Filter::default(), opts),
            (Self::Log(source), _) => CostLog::read(source, Filter::default(), opts),
        }
    }
}

/// The rows of the state directories `dirs`, in order, with their skips and damage, as one
/// read of them all gives them. Through `cache` (the user's cache directory), each
/// directory is read on its own through its cache file; without it, the directories are
/// read at once. The first directory that cannot be read is the error.
pub fn read_dirs(
    command: &str,
    dirs: &[PathBuf],
    opts: CostOptions,
    cache: Option<&Path>,
) -> Result<CostLog, LogError> {
    if cache.is_none() {
        return CostLog::read(&LogSource::dirs(dirs.to_vec()), Filter::default(), opts);
    }
    let mut all = CostLog {
        rows: Vec::new(),
        skips: Vec::new(),
        damage: Default::default(),
    };
    for dir in dirs {
        let log = Source::Dir(dir.clone()).read(command, opts, cache)?;
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
