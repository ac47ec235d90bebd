//! The VideoCore firmware mailbox (`/dev/vcio`): runs a `vcgencmd` command without spawning
//! a process. Same property-buffer layout as raspberrypi/utils `vcgencmd.c`.

use std::fs::File;
use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::path::PathBuf;

/// `_IOWR(100, 0, char *)` on a 64-bit kernel.
pub const IOCTL_MBOX_PROPERTY: u64 = 0xC008_6400;
/// Property tag: run a gencmd and return its text.
pub const TAG_GET_GENCMD_RESULT: u32 = 0x0003_0080;
/// Size of the command/reply slot, bytes (vcgencmd's `MAX_STRING`).
pub const SLOT_BYTES: usize = 1024;
const SLOT_WORDS: usize = SLOT_BYTES / 4;
/// Words of the property buffer: header, tag header, slot, end tag.
pub const BUFFER_WORDS: usize = 6 + SLOT_WORDS + 1;
const RESPONSE_OK: u32 = 0x8000_0000;

/// Why a mailbox call failed.
#[derive(Debug, thiserror::Error)]
pub enum VcioError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("command {0:?} is longer than the {SLOT_BYTES}-byte mailbox slot")]
    TooLong(String),
    #[error("mailbox answered {code:#010x} instead of {RESPONSE_OK:#010x}")]
    BadResponse { code: u32 },
    #[error("gencmd returned error {0}")]
    Gencmd(u32),
}

/// Fills `buf` with the property request for `command`.
pub fn build_request(command: &str, buf: &mut [u32; BUFFER_WORDS]) -> Result<(), VcioError> {
    let bytes = command.as_bytes();
    if bytes.len() + 1 >= SLOT_BYTES {
        return Err(VcioError::TooLong(command.to_string()));
    }
    buf.fill(0);
    buf[0] = (BUFFER_WORDS * 4) as u32;
    buf[1] = 0;
    buf[2] = TAG_GET_GENCMD_RESULT;
    buf[3] = SLOT_BYTES as u32;
    let slot = slot_bytes_mut(buf);
    slot[..bytes.len()].copy_from_slice(bytes);
    Ok(())
}

fn slot_bytes_mut(buf: &mut [u32; BUFFER_WORDS]) -> &mut [u8] {
    // SAFETY: the slot is words 6..6+SLOT_WORDS of a u32 array; viewing them as bytes is
    // valid (u8 has no alignment or validity requirements) and the length stays inside.
    unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().add(6).cast::<u8>(), SLOT_BYTES) }
}

/// Reads the reply text out of an answered buffer into `out`; returns whether it filled the
/// slot (no NUL: the text may have been cut).
pub fn read_reply(buf: &mut [u32; BUFFER_WORDS], out: &mut String) -> Result<bool, VcioError> {
    if buf[1] != RESPONSE_OK {
        return Err(VcioError::BadResponse { code: buf[1] });
    }
    if buf[5] != 0 {
        return Err(VcioError::Gencmd(buf[5]));
    }
    let slot = slot_bytes_mut(buf);
    let (len, truncated) = match slot.iter().position(|&b| b == 0) {
        Some(n) => (n, n + 1 >= SLOT_BYTES),
        None => (SLOT_BYTES, true),
    };
    out.clear();
    out.push_str(&String::from_utf8_lossy(&slot[..len]));
    Ok(truncated)
}

/// An open `/dev/vcio`.
pub struct Vcio {
    file: File,
    path: PathBuf,
    buf: Box<[u32; BUFFER_WORDS]>,
}

impl Vcio {
    pub fn open(path: &Path) -> Result<Self, VcioError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|source| VcioError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            buf: Box::new([0; BUFFER_WORDS]),
        })
    }

    /// Runs `command`; its reply goes to `out`. Returns whether the reply filled the slot.
    pub fn gencmd(&mut self, command: &str, out: &mut String) -> Result<bool, VcioError> {
        build_request(command, &mut self.buf)?;
        // SAFETY: the ioctl reads and writes at most buf[0] bytes of the buffer, which is
        // exactly the size of `self.buf`; the fd is open for the duration of the call.
        let rc = unsafe {
            libc::ioctl(
                self.file.as_raw_fd(),
                IOCTL_MBOX_PROPERTY as _,
                self.buf.as_mut_ptr(),
            )
        };
        if rc < 0 {
            return Err(VcioError::Io {
                path: self.path.clone(),
                source: std::io::Error::last_os_error(),
            });
        }
        read_reply(&mut self.buf, out)
    }
}
