//! The crash-safe on-disk record log: append-only segment files of CRC-checked frames.
//!
//! docs/FORMAT.md is the complete specification; in short:
//!
//! - **Segment file** = `b"EDGEWATT"` ‖ `0x00` ‖ header frame ‖ record frames…
//!   The header frame holds a [`SegmentHeader`] (format version 1, device id, boot id,
//!   monotonic↔wall [`Anchor`](crate::clock::Anchor), first sequence number, writer
//!   version, host name); every following frame holds a [`Frame`](crate::record::Frame)
//!   `{seq, record}`.
//! - **Frame** = COBS( postcard(value) ‖ crc32c(postcard bytes) as 4 bytes LE ) ‖ `0x00`.
//!   CRC-32C is CRC_32_ISCSI. COBS removes every `0x00` from the body, so `0x00` only ever
//!   ends a frame and a reader resynchronises at the next one after any damage.
//! - A frame whose CRC fails was never completely written (torn write, bit rot): it is
//!   reported as [`Item::Corrupt`] and skipped, never misread. A frame whose CRC is good but
//!   that does not decode (a record variant from a newer writer) is [`Item::Unknown`].
//! - A damaged magic or header frame loses only the header (device, boot, wall anchor):
//!   [`SegmentReader::header`] is `None`, [`SegmentReader::header_damage`] says why, and
//!   the record frames after it are read as usual.
//! - **Names**: the active segment is `<first_seq:020>.ewlog.open`; sealing appends a
//!   `Record::Seal` frame, fsyncs, and renames it to `<first_seq:020>.ewlog`, so names sort
//!   in write order. A segment left open by a crash is repaired on the next
//!   [`Writer::open`] (or by the writer thread of [`AsyncWriter::start`], retrying while
//!   the disk refuses): truncated after its last intact frame, sealed with reason
//!   `Recovered`, renamed.
//! - **Rotation** by size or age; **retention** unlinks the oldest sealed segments while the
//!   directory holds more than `retain_bytes`, but none its [`RetentionHold`] keeps (with
//!   uploads on: none the server has not acknowledged).
//! - **Evolution**: postcard has no field tags, so on-disk structs never change; enum
//!   variants are only appended; a changed struct is a new variant; incompatible changes bump
//!   [`FORMAT_VERSION`], and old decoders are kept.

mod async_writer;
mod atomic;
mod background;
mod error;
mod frame;
#[doc(hidden)]
pub mod fuzzing;
mod gaps;
mod lock;
mod queue;
mod reader;
mod recover;
mod writer;

use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

pub use async_writer::Appended;
pub use async_writer::AsyncWriter;
pub use async_writer::QueueStatus;
pub use async_writer::StoreReport;
pub use async_writer::SyncStats;
pub use async_writer::RETRY_MS;
pub use atomic::replace_derived_file;
pub use atomic::replace_file;
pub use error::StoreError;
pub use frame::crc32c;
pub use frame::crc32c_of;
pub use frame::decode_frame;
pub use frame::CorruptReason;
pub use frame::Decoded;
pub use frame::FrameEncoder;
pub use frame::HeaderDamage;
pub use frame::SegmentHeader;
pub use frame::FORMAT_VERSION;
pub use frame::MAGIC;
pub use gaps::seal_seq;
pub use gaps::seq_gaps;
pub use gaps::SeqGap;
pub use reader::list_segments;
pub use reader::misnamed_segments;
pub use reader::named_first_seq;
pub use reader::scan_frames;
pub use reader::Item;
pub use reader::Items;
pub use reader::SegmentInfo;
pub use reader::SegmentReader;
pub use recover::Recovery;
pub use recover::RecoveryAction;
pub use writer::Rotation;
pub use writer::Writer;

/// File name suffix of a sealed segment.
pub const SEALED_SUFFIX: &str = ".ewlog";
/// File name suffix of the segment being written.
pub const OPEN_SUFFIX: &str = ".ewlog.open";
/// File name suffix of a segment found open at recovery with neither a usable header nor an
/// intact frame, or of a newer format (kept for forensics).
pub const BROKEN_SUFFIX: &str = ".ewlog.broken";
/// Name of the lock file in the state directory; it holds the owner's pid.
pub const LOCK_FILE: &str = "LOCK";
/// [`StoreOptions::max_pending_bytes`]: 64 MiB.
pub const MAX_PENDING_BYTES: usize = 64 << 20;

/// Where and how the log is written. Built from the configuration
/// ([`StoreConfig::options`](crate::config::StoreConfig::options)), which holds the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// State directory holding the segments and the lock file; created if missing.
    pub dir: PathBuf,
    /// Rotate once the active segment holds at least this many bytes.
    pub segment_max_bytes: u64,
    /// Rotate once the active segment is this old (monotonic seconds since its creation).
    pub segment_max_age_s: u64,
    /// How often the daemon asks for `fdatasync`; informational for the store.
    pub fsync_interval_ms: u64,
    /// Delete the oldest sealed segments while all segments together exceed this.
    pub retain_bytes: u64,
    /// Encoded frames kept in memory while the disk refuses writes; beyond it the oldest
    /// are dropped (and counted).
    pub max_pending_bytes: usize,
    /// Which sealed segments retention may delete (default: any).
    pub retention_hold: RetentionHold,
}

/// Which sealed segments retention may delete. The default lets every one go; the daemon
/// with `[upload] enabled` holds back those the upload manifest does not have as uploaded.
/// A held segment stays however full the directory gets: retention logs it and waits.
#[derive(Clone, Default)]
pub struct RetentionHold(Option<Arc<MayDelete>>);

/// A predicate over segment paths: whether retention may delete the segment.
type MayDelete = dyn Fn(&Path) -> bool + Send + Sync;

impl RetentionHold {
    /// Retention may delete the segments at paths for which `may_delete` is true.
    pub fn new(may_delete: impl Fn(&Path) -> bool + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(may_delete)))
    }

    #[must_use]
    pub fn may_delete(&self, segment: &Path) -> bool {
        self.0.as_ref().is_none_or(|f| f(segment))
    }
}

impl std::fmt::Debug for RetentionHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "RetentionHold(predicate)"
        } else {
            "RetentionHold(none)"
        })
    }
}

impl PartialEq for RetentionHold {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for RetentionHold {}

/// Who writes the segments: copied into every segment header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentIdent {
    /// Stable id of the machine (e.g. from /etc/machine-id).
    pub device_id: String,
    /// Id of the current boot (/proc/sys/kernel/random/boot_id): monotonic time restarts with it.
    pub boot_id: String,
    /// Host name at the time of writing.
    pub host: String,
}

impl SegmentIdent {
    /// An ident with this machine's host name (empty if it cannot be read).
    #[must_use]
    pub fn new(device_id: String, boot_id: String) -> Self {
        Self {
            device_id,
            boot_id,
            host: host_name(),
        }
    }
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for `len` bytes; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
mod tests;
