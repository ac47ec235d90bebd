//! Reading the log: one segment file, a state directory, or several (a fleet's, one per
//! device, or a local mirror of a bucket), as typed records with their time anchored and
//! the place they came from. Every reader of the log goes through here (`dump`, `inspect`,
//! `bench`'s report, the power replay), so they all follow one rule.
//!
//! - [`LogSource`] says what to read; [`Filter`] what to keep (record kinds, wall time
//!   range, devices, first seq).
//! - [`LogReader`] streams [`LogItem`]s: a [`LogItem::Segment`] as each segment begins, its
//!   [`Entry`]s (one per sample, per power reading, per event, seal or run), and a
//!   [`LogItem::Skipped`] for each piece it could not use. One segment is in memory at a
//!   time, so a week of samples over many segments streams in constant memory.
//! - [`LogIndex`] reads the log once and keeps the small records (events, runs, seals), the
//!   position and time span of every sample and power block, and what was skipped; then
//!   [`LogIndex::samples_in`] and [`LogIndex::power_in`] re-read only the blocks a window
//!   needs (a run and its lead-in), not the whole log. The samples, most of the decoding,
//!   are read on a second thread; [`LogIndex::build_streaming_samples`] also hands them
//!   over block by block as they are decoded, for a caller that needs every sample once.
//!
//! # The rule
//!
//! **Order.** Directories are read one after the other, in the order given. In a
//! directory, segments are read in the order of the first seq in their names, which is
//! the order they were written in, sealed (`.ewlog`) and open (`.ewlog.open`) alike;
//! `.ewlog.broken` files are not read (recovery moved them aside: no usable header and no
//! intact frame, or a newer format). In a segment, frames are read in file order.
//!
//! **Boots.** Monotonic time compares only within one boot. Each segment gets a boot
//! number ([`SegmentMeta::boot`]), counted up in reading order, so a directory's boots are
//! numbered in the order they were written. A segment starts a new boot when
//! - it is the first of its directory (or a lone segment file),
//! - its device id or boot id differs from the previous segment's,
//! - its anchor's monotonic time is earlier than the previous segment's (the clock
//!   restarted though the ids do not say so, e.g. both boot ids "unknown"), or
//! - its header or the previous segment's is damaged (nothing proves the same boot),
//!
//! except a blank segment (no header and no record: empty, zero-filled or cut inside its
//! header), which says nothing of the clock: it takes the boot of the segment before it
//! in its directory (first in it, of the one after it), and the next is compared with the
//! one before it.
//!
//! The segments of one boot are thus consecutive and in seq order. Across boots only
//! wall time compares.
//!
//! **Wall time.** A record's wall time is its monotonic time under the anchor in force at
//! that time: of the segment's anchors known so far (its header's, then one per
//! `ClockStep` event, in frame order), the one with the latest monotonic time at or before
//! the record's; for a record earlier than all of them, the header's. A segment whose
//! header is damaged has no anchor until its first clock step, so records before that
//! step have wall time [`Wall::Unknown`], and its device and boot are unknown throughout;
//! a neighbouring segment's anchor is never borrowed. A corrupt frame may have been a
//! clock step: records after it keep the anchor known before it (the skip is reported).
//! A run with no phase marks (it failed before loading) has no time at all.
//!
//! **Skips.** Everything that cannot be used is reported as a [`Skip`] naming the file and
//! byte offset, and counted in [`DamageCounts`]:
//! - a segment that cannot be read (I/O error, or a newer format version): skipped whole;
//! - a damaged magic or header frame: only the header is lost (device, boot, anchor); the
//!   frames after it are read; with no record after it, a [`SkipKind::Blank`] segment
//!   (an empty file is a [`SkipKind::Header`] of [`HeaderDamage::Empty`](crate::store::HeaderDamage::Empty));
//! - a corrupt frame (bad COBS, too short, CRC mismatch, or unterminated): skipped; reading
//!   resumes after the next `0x00`. The unterminated last piece of an *open* segment is the
//!   frame a live daemon is writing (or a write torn by a crash, which the next start
//!   drops): a [`SkipKind::LiveTail`], which is not damage, so reading a running daemon's
//!   directory is clean; in a sealed segment it is damage;
//! - an unknown frame (CRC good, a record type from a newer edgewatt): skipped, not damage;
//! - a sample or power block that does not decode: skipped with its samples or readings; a
//!   block of a newer codec is not damage;
//! - a continuation sample block whose base block was not decoded (a lost chain): skipped
//!   with its samples, and so is every continuation after it up to the next key block.
//!   Chains are followed within a segment: the writer starts every segment with a key
//!   block, so a continuation of a block in another segment is a lost chain too.
//!
//! Blocks are decoded only when their kind is asked for ([`Filter::kinds`]), so only then
//! are their failures reported. [`DamageCounts::is_damaged`] says whether anything was
//! skipped as damage: `dump` and `inspect` exit 1 then, unless `--allow-damaged`.

mod anchor;
mod boots;
mod damage;
mod entry;
mod filter;
mod index;
mod reader;
mod source;

use std::path::PathBuf;

pub use damage::BlockKind;
pub use damage::BlockSkip;
pub use damage::DamageCounts;
pub use damage::Skip;
pub use damage::SkipKind;
pub use entry::Entry;
pub use entry::Origin;
pub use entry::Payload;
pub use entry::SegmentMeta;
pub use entry::Wall;
pub use entry::WallUnknown;
pub use filter::Filter;
pub use filter::RecordKind;
pub use index::BlockSpan;
pub use index::LogIndex;
pub use index::Readings;
pub use index::Samples;
pub use reader::LogItem;
pub use reader::LogReader;
pub use reader::SampleBlockRead;
pub use source::LogSource;
pub use source::SegmentRef;
use thiserror::Error;

use crate::store::StoreError;

/// Why the log could not be read at all (damage inside it is a [`Skip`], not an error).
#[derive(Debug, Error)]
pub enum LogError {
    /// A state directory cannot be listed (missing, not a directory, no permission).
    #[error("cannot list segments in {dir}: {source}")]
    List { dir: PathBuf, source: StoreError },
    /// A segment the index points into cannot be read again (deleted by retention, or
    /// renamed when the daemon sealed it): build the index again.
    #[error("cannot read {path} again: {source}; build the log index again")]
    Reread {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests;
