//! Errors of the record store; each names the file or directory involved.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error(
        "state directory {dir} is locked by another edgewatt (pid {holder}); \
         stop that daemon or choose another --state-dir"
    )]
    Locked { dir: PathBuf, holder: String },

    #[error(
        "cannot use state directory {dir}: {source}; \
         make it writable or choose another --state-dir"
    )]
    DirUnusable { dir: PathBuf, source: io::Error },

    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    #[error(
        "{path}: segment format version {version} is newer than this edgewatt reads \
         (up to {supported}); upgrade edgewatt"
    )]
    UnsupportedVersion {
        path: PathBuf,
        version: u16,
        supported: u16,
    },

    #[error(
        "cannot write {path}: {source}; {pending_frames} frames ({pending_bytes} bytes) \
         are kept in memory and retried on the next write"
    )]
    WriteFailed {
        path: PathBuf,
        source: io::Error,
        pending_frames: u64,
        pending_bytes: u64,
    },

    #[error(
        "cannot write {path}: {source}; the in-memory queue is full, \
         {dropped_frames} oldest frames were dropped"
    )]
    QueueFull {
        path: PathBuf,
        source: io::Error,
        dropped_frames: u64,
    },

    #[error(
        "cannot seal {path}: {source}; {lost_frames} unwritten frames are lost, \
         the segment is repaired at the next start"
    )]
    CloseFailed {
        path: PathBuf,
        source: io::Error,
        lost_frames: u64,
    },

    #[error(
        "the log writer thread of {dir} died (a bug): {pending_frames} queued frames are \
         not written; the open segment is repaired at the next start"
    )]
    WriterDied { dir: PathBuf, pending_frames: u64 },

    #[error(
        "the log in {dir} was not sealed within {timeout_ms} ms (the disk is too slow): \
         {pending_frames} queued frames are not written; the open segment is repaired at \
         the next start"
    )]
    CloseTimeout {
        dir: PathBuf,
        timeout_ms: u64,
        pending_frames: u64,
    },

    #[error(
        "the disk has refused writes for so long that the in-memory queue is full \
         ({max_pending_bytes} bytes): {dropped_frames} oldest frames were dropped"
    )]
    QueueOverflow {
        max_pending_bytes: usize,
        dropped_frames: u64,
    },

    #[error("cannot encode a record: {0}")]
    Encode(#[from] postcard::Error),

    #[error("bad store option {name}: {why}")]
    BadOption {
        name: &'static str,
        why: &'static str,
    },
}

impl StoreError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
