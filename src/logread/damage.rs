//! What the reader skipped, where, and whether it counts as damage.

use std::fmt;
use std::path::PathBuf;

use crate::record::BlockError;
use crate::store::CorruptReason;
use crate::store::HeaderDamage;

/// A sample block or a power block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BlockKind {
    Sample,
    Power,
}

impl BlockKind {
    const fn name(self) -> &'static str {
        match self {
            Self::Sample => "sample",
            Self::Power => "power",
        }
    }
}

/// Why a block's records could not be read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BlockSkip {
    /// A continuation whose base block (frame `base_seq`) was not decoded.
    LostChain { base_seq: u64 },
    /// A codec this edgewatt does not know (a newer writer): not damage.
    NewerCodec(u8),
    /// Intact frame, but its data does not decode; the decoder's message.
    Undecodable(String),
}

impl From<BlockError> for BlockSkip {
    fn from(e: BlockError) -> Self {
        match e {
            BlockError::MissingBase { base_seq } => Self::LostChain { base_seq },
            BlockError::UnknownCodec(c) => Self::NewerCodec(c),
            other => Self::Undecodable(other.to_string()),
        }
    }
}

impl fmt::Display for BlockSkip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LostChain { base_seq } => f.write_str(
                &BlockError::MissingBase {
                    base_seq: *base_seq,
                }
                .to_string(),
            ),
            Self::NewerCodec(c) => f.write_str(&BlockError::UnknownCodec(*c).to_string()),
            Self::Undecodable(m) => f.write_str(m),
        }
    }
}

/// What was skipped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SkipKind {
    /// The whole segment: it cannot be read, or its format is newer (the error says which).
    Unreadable { error: String },
    /// The magic or header frame: device, boot and anchor are lost, the frames are read.
    Header(HeaderDamage),
    /// No header and no record at all: a file zero-filled (a power cut after its blocks
    /// were allocated, before its data was written) or cut inside its header. It does not
    /// split a boot.
    Blank(HeaderDamage),
    /// Bytes that are not a completely written frame.
    Corrupt(CorruptReason),
    /// A sealed segment that ends without its seal: after an intact frame other than its
    /// seal (cut at a frame boundary), or in a torn frame before any seal (cut inside one,
    /// the torn piece told as [`Corrupt`](Self::Corrupt) too); its last frames are lost
    /// (`offset` is its length).
    Truncated,
    /// The unterminated last piece of an open segment: the frame being written (or torn
    /// by a crash; the next start drops it). Not damage.
    LiveTail,
    /// An intact frame of a record type this edgewatt does not know. Not damage.
    Unknown,
    /// An intact block whose samples or readings (`records` of them) cannot be read.
    Block {
        kind: BlockKind,
        why: BlockSkip,
        records: u32,
    },
}

impl SkipKind {
    /// Whether this loses data that was written (as opposed to data being written now, or
    /// written by a newer edgewatt).
    #[must_use]
    pub const fn is_damage(&self) -> bool {
        !matches!(
            self,
            Self::LiveTail
                | Self::Unknown
                | Self::Block {
                    why: BlockSkip::NewerCodec(_),
                    ..
                }
        )
    }
}

/// One skipped piece of a segment file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skip {
    pub path: PathBuf,
    /// Byte offset in the file (0 for an unreadable segment).
    pub offset: u64,
    /// Bytes skipped (the file's length for an unreadable segment; the frame's for a block).
    pub len: u64,
    /// Seq of the frame, when known.
    pub seq: Option<u64>,
    pub kind: SkipKind,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (path, offset, len) = (self.path.display(), self.offset, self.len);
        let seq = self.seq.map_or_else(|| "?".to_owned(), |s| s.to_string());
        match &self.kind {
            SkipKind::Unreadable { error } => write!(f, "{error}; segment skipped"),
            SkipKind::Header(d @ HeaderDamage::Empty) => write!(f, "{path}: {d}"),
            SkipKind::Blank(d @ HeaderDamage::Foreign) | SkipKind::Header(d @ HeaderDamage::Foreign) => {
                write!(f, "{path}: {d}; skipped: move it out of the state directory")
            }
            SkipKind::Header(d) => write!(
                f,
                "{path}: {d}; device, boot and wall times unknown (until a clock step \
                 re-anchors), records still read"
            ),
            SkipKind::Blank(d) => write!(
                f,
                "{path}: {d}, and no records in it: zero-filled or cut inside its header (a \
                 crash or power cut as it was opened), or a copy that failed (then copy it \
                 again)"
            ),
            SkipKind::Corrupt(reason) => write!(
                f,
                "{path}: {len} corrupt bytes at offset {offset} skipped ({reason})"
            ),
            SkipKind::Truncated => write!(
                f,
                "{path}: sealed segment ends at offset {offset} without its seal frame: \
                 truncated, its last frames are lost"
            ),
            SkipKind::LiveTail => write!(
                f,
                "{path}: {len} bytes at offset {offset} are the unterminated last frame of \
                 an open segment (being written, or torn by a crash); not read"
            ),
            SkipKind::Unknown => write!(
                f,
                "{path}: frame at offset {offset} (seq {seq}) has a record type this \
                 edgewatt does not know (newer writer?); skipped"
            ),
            SkipKind::Block { kind, why, records } => write!(
                f,
                "{path}: frame at offset {offset} (seq {seq}): {} block of {records} skipped: {why}",
                kind.name()
            ),
        }
    }
}

/// Counts of what was skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DamageCounts {
    pub unreadable_segments: u64,
    pub damaged_headers: u64,
    pub corrupt_frames: u64,
    pub corrupt_bytes: u64,
    /// Sealed segments cut short (no seal at their end, at a frame boundary or inside a
    /// frame).
    pub truncated_segments: u64,
    /// Intact blocks that do not decode (lost chains not included).
    pub undecodable_blocks: u64,
    /// Continuation sample blocks whose chain was broken before them.
    pub lost_chain_blocks: u64,
    /// Samples in skipped sample blocks.
    pub samples_skipped: u64,
    /// Readings in skipped power blocks.
    pub power_readings_skipped: u64,
    /// Not damage: frames and blocks of a newer edgewatt.
    pub unknown_frames: u64,
    pub newer_blocks: u64,
    /// Not damage: the unterminated last frame of open segments.
    pub live_tail_bytes: u64,
}

impl<'a> FromIterator<&'a Skip> for DamageCounts {
    /// The counts of `skips`.
    fn from_iter<I: IntoIterator<Item = &'a Skip>>(skips: I) -> Self {
        let mut counts = Self::default();
        for skip in skips {
            counts.add(skip);
        }
        counts
    }
}

impl DamageCounts {
    pub fn add(&mut self, skip: &Skip) {
        match &skip.kind {
            SkipKind::Unreadable { .. } => self.unreadable_segments += 1,
            SkipKind::Header(_) | SkipKind::Blank(_) => self.damaged_headers += 1,
            SkipKind::Corrupt(_) => {
                self.corrupt_frames += 1;
                self.corrupt_bytes += skip.len;
            }
            SkipKind::Truncated => self.truncated_segments += 1,
            SkipKind::LiveTail => self.live_tail_bytes += skip.len,
            SkipKind::Unknown => self.unknown_frames += 1,
            SkipKind::Block { kind, why, records } => {
                match why {
                    BlockSkip::LostChain { .. } => self.lost_chain_blocks += 1,
                    BlockSkip::NewerCodec(_) => self.newer_blocks += 1,
                    BlockSkip::Undecodable(_) => self.undecodable_blocks += 1,
                }
                match kind {
                    BlockKind::Sample => self.samples_skipped += u64::from(*records),
                    BlockKind::Power => self.power_readings_skipped += u64::from(*records),
                }
            }
        }
    }

    /// Whether anything written was lost to damage (see [`SkipKind::is_damage`]).
    #[must_use]
    pub const fn is_damaged(&self) -> bool {
        self.unreadable_segments
            + self.damaged_headers
            + self.corrupt_frames
            + self.truncated_segments
            + self.undecodable_blocks
            + self.lost_chain_blocks
            > 0
    }

    /// One line saying what was skipped as damage, e.g. for a command's last message.
    #[must_use]
    pub fn damage_text(&self) -> String {
        let parts = [
            (self.unreadable_segments, "unreadable segments"),
            (self.damaged_headers, "damaged headers"),
            (self.corrupt_frames, "corrupt frames"),
            (self.truncated_segments, "truncated segments"),
            (self.undecodable_blocks, "undecodable blocks"),
            (self.lost_chain_blocks, "blocks of lost chains"),
        ];
        let mut text: Vec<String> = parts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
        if self.corrupt_bytes > 0 {
            text.push(format!("{} corrupt bytes", self.corrupt_bytes));
        }
        if self.samples_skipped + self.power_readings_skipped > 0 {
            text.push(format!(
                "{} samples and {} power readings in skipped blocks",
                self.samples_skipped, self.power_readings_skipped
            ));
        }
        text.join(", ")
    }
}
