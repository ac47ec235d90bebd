//! Low-level file access for the tick path: files kept open and re-read with one
//! `pread` at offset 0 into a caller-owned buffer.
//!
//! /proc and sysfs regenerate a file's content when it is read from offset 0, so a
//! kept-open fd gives fresh values without an `open`/`close` per tick.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::path::PathBuf;

use super::error::SourceError;

/// Initial size of a read buffer; it doubles when a file does not fit.
const MIN_BUF: usize = 4096;

/// Reads the whole of `file` from offset 0 into `buf`, reusing its allocation, with one
/// `pread` when the content fits.
///
/// A read that does not fill the buffer is taken as the end of the file, so no second
/// read is spent to see EOF. That holds for every file the sampler reads: regular files,
/// sysfs attributes and single-record seq_files (`/proc/stat`, `/proc/meminfo`,
/// `/proc/PID/stat`, `statm`), which hand out their whole content to a buffer that holds
/// it. It does not hold for multi-record seq_files such as `/proc/PID/maps`, which may
/// stop at a page; do not read those with this. A file larger than the buffer doubles it
/// and is read on from where the last read ended.
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
            Ok(k) => {
                n += k;
                if n < buf.len() {
                    return Ok(n);
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_files_are_read_at_every_size_around_the_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = Vec::new();
        for len in [0, 1, MIN_BUF - 1, MIN_BUF, MIN_BUF + 1, 3 * MIN_BUF + 7] {
            let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let path = dir.path().join(format!("f{len}"));
            std::fs::write(&path, &content).unwrap();
            let n = pread_all(&File::open(&path).unwrap(), &mut buf).unwrap();
            assert_eq!(&buf[..n], &content[..], "{len} bytes");
        }
        assert_eq!(buf.len(), 4 * MIN_BUF, "grown by doubling, kept for reuse");
    }

    #[test]
    fn a_kept_proc_file_gives_its_current_content() {
        let f = File::open("/proc/self/stat").unwrap();
        let mut buf = Vec::new();
        let n = pread_all(&f, &mut buf).unwrap();
        let pid = format!("{} (", std::process::id());
        assert!(buf[..n].starts_with(pid.as_bytes()));
        assert_eq!(buf[n - 1], b'\n', "the whole line, to its end");
        let after_comm = buf[..n].rsplit(|&b| b == b')').next().unwrap();
        let fields = after_comm
            .split(u8::is_ascii_whitespace)
            .filter(|f| !f.is_empty());
        assert!(
            fields.count() >= 50,
            "{:?}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
}
