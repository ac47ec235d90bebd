//! Low-level file access for the tick path: files kept open and re-read with `pread`
//! at offset 0 into a caller-owned buffer, and per-process directories opened once
//! (`O_PATH`) whose entries are opened relative to the directory fd.
//!
//! /proc and sysfs regenerate a file's content when it is read from offset 0, so a
//! kept-open fd gives fresh values without an `open`/`close` per tick.

use std::ffi::CStr;
use std::fs::File;
use std::fs::OpenOptions;
use std::io;
use std::os::fd::AsRawFd;
use std::os::fd::FromRawFd;
use std::os::unix::fs::FileExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::path::PathBuf;

use super::error::SourceError;

/// Initial size of a read buffer; it doubles when a file does not fit.
const MIN_BUF: usize = 4096;

/// Reads the whole of `file` from offset 0 into `buf`, reusing its allocation.
///
/// `buf.len()` is kept at the allocated, zero-initialised size; the returned count
/// says how many bytes are content.
pub(crate) fn pread_all(file: &File, buf: &mut Vec<u8>) -> io::Result<usize> {
    if buf.len() < MIN_BUF {
        buf.resize(MIN_BUF, 0);
    }
    let mut n = 0;
    loop {
        if n == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match file.read_at(&mut buf[n..], n as u64) {
            Ok(0) => return Ok(n),
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A file under /proc or /sys, kept open between ticks. After a failed read the fd is
/// dropped and the next read opens the path again (a sensor that comes back, a file
/// that was replaced).
#[derive(Debug)]
pub(crate) struct KeptFile {
    path: PathBuf,
    file: Option<File>,
}

impl KeptFile {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self { path, file: None }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The file's current content, in `buf`.
    pub(crate) fn read<'b>(&mut self, buf: &'b mut Vec<u8>) -> Result<&'b [u8], SourceError> {
        let file = match &mut self.file {
            Some(f) => f,
            slot => slot.insert(File::open(&self.path).map_err(|source| SourceError::Open {
                path: self.path.clone(),
                source,
            })?),
        };
        match pread_all(file, buf) {
            Ok(n) => Ok(&buf[..n]),
            Err(source) => {
                self.file = None;
                Err(SourceError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        }
    }
}

/// Opens a directory as an `O_PATH` handle, to open its entries with [`open_at`].
pub(crate) fn open_dir(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
}

/// `openat(dir, name, O_RDONLY)`.
///
/// On a `/proc/PID` handle this fails once the process is gone, even if the pid has
/// been reused since: the handle pins the process, not the number.
pub(crate) fn open_at(dir: &File, name: &CStr) -> io::Result<File> {
    // SAFETY: `dir` is an open fd for the duration of the call and `name` is a valid,
    // NUL-terminated C string; on success the returned fd is new and owned by us.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        // SAFETY: `fd` was just returned by openat and is owned by nobody else.
        Ok(unsafe { File::from_raw_fd(fd) })
    }
}

/// Whether an error means "the thing is not there" rather than "it failed".
pub(crate) fn is_gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH)
}

/// `bytes` as trimmed UTF-8 (ASCII whitespace and NULs removed at both ends).
pub(crate) fn trimmed(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes)
        .ok()
        .map(|s| s.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\0'))
}

/// A decimal integer file such as `temp` (m°C, may be negative).
pub(crate) fn parse_i64(path: &Path, bytes: &[u8]) -> Result<i64, SourceError> {
    trimmed(bytes)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| malformed(path, "expected a decimal integer", bytes))
}

/// A decimal unsigned integer file such as `scaling_cur_freq` (kHz).
pub(crate) fn parse_u64(path: &Path, bytes: &[u8]) -> Result<u64, SourceError> {
    trimmed(bytes)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| malformed(path, "expected an unsigned decimal integer", bytes))
}

/// A hexadecimal file such as `get_throttled` (the firmware prints `%x`, e.g. `50005`;
/// a `0x` prefix is accepted too).
pub(crate) fn parse_hex(path: &Path, bytes: &[u8]) -> Result<u64, SourceError> {
    trimmed(bytes)
        .map(|s| {
            s.strip_prefix("0x")
                .or_else(|| s.strip_prefix("0X"))
                .unwrap_or(s)
        })
        .filter(|s| !s.is_empty())
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .ok_or_else(|| malformed(path, "expected a hexadecimal integer", bytes))
}

/// A `Malformed` error quoting (the start of) the offending content.
pub(crate) fn malformed(path: &Path, what: &str, bytes: &[u8]) -> SourceError {
    let shown = &bytes[..bytes.len().min(64)];
    SourceError::Malformed {
        path: path.to_path_buf(),
        what: format!("{what}, got {:?}", String::from_utf8_lossy(shown)),
    }
}
