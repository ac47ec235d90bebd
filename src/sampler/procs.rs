//! Tracked processes: `/proc/PID/stat` and `statm` opened once and re-read with one
//! `pread` each per tick.
//!
//! A kept fd pins the process, not the number: once the process has been reaped, reads
//! fail with `ESRCH` even if the pid has been reused since, so a tracked pid never
//! silently turns into another process. A process that has exited but is not reaped yet
//! (a zombie, state `Z`) is gone too: its `statm` is all zeros and it will not run again.

use std::fs::File;
use std::path::Path;
use std::path::PathBuf;

use super::error::SourceError;
use super::file::is_gone;
use super::file::pread_all;
use super::health::Health;
use super::notice::NoticeKind;
use super::parse;
use super::roots::Roots;
use crate::record::ProcCounters;
use crate::record::TrackedProc;

/// The kept-open `stat` and `statm` of one process.
#[derive(Debug)]
struct Files {
    stat: File,
    statm: File,
}

/// A tracked process and its kept-open files.
#[derive(Debug)]
pub(crate) struct ProcSource {
    pub(crate) tracked: TrackedProc,
    dir_path: PathBuf,
    stat_path: PathBuf,
    statm_path: PathBuf,
    files: Option<Files>,
    exit_reported: bool,
    pub(crate) health: Health,
}

impl ProcSource {
    /// Opens `/proc/PID/stat` and `statm`; a process that is not there is kept, to
    /// report its exit once.
    pub(crate) fn open(roots: &Roots, tracked: TrackedProc) -> Self {
        let dir_path = roots.pid_dir(tracked.pid);
        let mut p = Self {
            stat_path: dir_path.join("stat"),
            statm_path: dir_path.join("statm"),
            dir_path,
            tracked,
            files: None,
            exit_reported: false,
            health: Health::default(),
        };
        p.files = p.open_files().ok();
        p
    }

    pub(crate) const fn is_open(&self) -> bool {
        self.files.is_some()
    }

    /// The `ProcExit` event the first time the process is found gone.
    pub(crate) fn exited(&mut self) -> Option<NoticeKind> {
        if self.exit_reported {
            return None;
        }
        self.exit_reported = true;
        self.files = None;
        Some(NoticeKind::ProcExit {
            pid: self.tracked.pid,
            role: self.tracked.role.clone(),
        })
    }

    fn open_files(&self) -> Result<Files, SourceError> {
        let open = |path: &PathBuf| {
            File::open(path).map_err(|e| {
                if is_gone(&e) {
                    self.gone()
                } else {
                    SourceError::Open {
                        path: path.clone(),
                        source: e,
                    }
                }
            })
        };
        Ok(Files {
            stat: open(&self.stat_path)?,
            statm: open(&self.statm_path)?,
        })
    }

    fn gone(&self) -> SourceError {
        SourceError::Gone {
            pid: self.tracked.pid,
            path: self.dir_path.clone(),
        }
    }

    /// One reading of the process. The files are opened again after a failure other
    /// than the process being gone (e.g. permissions under `hidepid`).
    pub(crate) fn read(
        &mut self,
        buf: &mut Vec<u8>,
        page_size: u64,
    ) -> Result<ProcCounters, SourceError> {
        if self.exit_reported {
            return Err(self.gone());
        }
        let files = match self.files.take() {
            Some(f) => f,
            None => self.open_files()?,
        };
        let r = self.read_files(&files, buf, page_size);
        if r.is_ok() {
            self.files = Some(files);
        }
        r
    }

    fn read_files(
        &self,
        files: &Files,
        buf: &mut Vec<u8>,
        page_size: u64,
    ) -> Result<ProcCounters, SourceError> {
        let mut c = ProcCounters::default();
        let n = self.pread(&files.stat, &self.stat_path, buf)?;
        if parse::has_exited(parse::pid_stat(&self.stat_path, &buf[..n], &mut c)?) {
            return Err(self.gone());
        }
        let n = self.pread(&files.statm, &self.statm_path, buf)?;
        c.rss_kb = parse::statm_rss_kb(&self.statm_path, &buf[..n], page_size)?;
        Ok(c)
    }

    fn pread(&self, f: &File, path: &Path, buf: &mut Vec<u8>) -> Result<usize, SourceError> {
        pread_all(f, buf).map_err(|e| {
            if is_gone(&e) {
                self.gone()
            } else {
                SourceError::Read {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        })
    }
}
