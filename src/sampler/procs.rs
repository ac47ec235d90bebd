//! Tracked processes: `/proc/PID` opened once as a directory handle; `stat` and
//! `statm` opened relative to it each tick.

use std::ffi::CStr;
use std::fs::File;
use std::path::Path;
use std::path::PathBuf;

use super::error::SourceError;
use super::file::is_gone;
use super::file::open_at;
use super::file::open_dir;
use super::file::pread_all;
use super::health::Health;
use super::notice::NoticeKind;
use super::parse;
use super::roots::Roots;
use crate::record::ProcCounters;
use crate::record::TrackedProc;

/// A tracked process: its `/proc/PID` directory handle, opened once.
#[derive(Debug)]
pub(crate) struct ProcSource {
    pub(crate) tracked: TrackedProc,
    dir_path: PathBuf,
    stat_path: PathBuf,
    statm_path: PathBuf,
    dir: Option<File>,
    exit_reported: bool,
    pub(crate) health: Health,
}

impl ProcSource {
    /// Opens `/proc/PID`; a process that is not there is kept, to report its exit once.
    pub(crate) fn open(roots: &Roots, tracked: TrackedProc) -> Self {
        let dir_path = roots.pid_dir(tracked.pid);
        Self {
            dir: open_dir(&dir_path).ok(),
            stat_path: dir_path.join("stat"),
            statm_path: dir_path.join("statm"),
            dir_path,
            tracked,
            exit_reported: false,
            health: Health::default(),
        }
    }

    pub(crate) const fn is_open(&self) -> bool {
        self.dir.is_some()
    }

    /// The `ProcExit` notice the first time the process is found gone.
    pub(crate) fn exited(&mut self) -> Option<NoticeKind> {
        if self.exit_reported {
            return None;
        }
        self.exit_reported = true;
        self.dir = None;
        Some(NoticeKind::ProcExit {
            pid: self.tracked.pid,
            role: self.tracked.role.clone(),
        })
    }

    /// The directory handle, opened again if an earlier attempt failed for a reason
    /// other than the process being gone (e.g. permissions under `hidepid`).
    fn ensure_open(&mut self) -> Result<(), SourceError> {
        if self.dir.is_some() {
            return Ok(());
        }
        if self.exit_reported {
            return Err(self.gone());
        }
        match open_dir(&self.dir_path) {
            Ok(d) => {
                self.dir = Some(d);
                Ok(())
            }
            Err(e) if is_gone(&e) => Err(self.gone()),
            Err(source) => Err(SourceError::Open {
                path: self.dir_path.clone(),
                source,
            }),
        }
    }

    fn gone(&self) -> SourceError {
        SourceError::Gone {
            pid: self.tracked.pid,
            path: self.dir_path.clone(),
        }
    }

    pub(crate) fn read(
        &mut self,
        buf: &mut Vec<u8>,
        page_size: u64,
    ) -> Result<ProcCounters, SourceError> {
        self.ensure_open()?;
        let mut c = ProcCounters::default();
        let n = self.read_file(c"stat", &self.stat_path, buf)?;
        parse::pid_stat(&self.stat_path, &buf[..n], &mut c)?;
        let n = self.read_file(c"statm", &self.statm_path, buf)?;
        c.rss_kb = parse::statm_rss_kb(&self.statm_path, &buf[..n], page_size)?;
        Ok(c)
    }

    fn read_file(&self, name: &CStr, path: &Path, buf: &mut Vec<u8>) -> Result<usize, SourceError> {
        let path = || path.to_path_buf();
        let gone = || self.gone();
        let dir = self.dir.as_ref().ok_or_else(gone)?;
        let f = open_at(dir, name).map_err(|e| {
            if is_gone(&e) {
                gone()
            } else {
                SourceError::Open {
                    path: path(),
                    source: e,
                }
            }
        })?;
        pread_all(&f, buf).map_err(|e| {
            if is_gone(&e) {
                gone()
            } else {
                SourceError::Read {
                    path: path(),
                    source: e,
                }
            }
        })
    }
}
