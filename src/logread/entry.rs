//! What the reader yields: one entry per sample, power reading, event, seal or run, with
//! its time and where it came from.

use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

use super::RecordKind;
use crate::power::PowerReading;
use crate::record::Event;
use crate::record::Run;
use crate::record::Seal;
use crate::sampler::Sample;
use crate::sampler::SampleLayout;
use crate::store::HeaderDamage;
use crate::store::SegmentHeader;

/// A segment being read: its file, its header (or why it is missing) and its boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentMeta {
    /// Its state directory; `None` for a lone segment file.
    pub dir: Option<PathBuf>,
    pub path: PathBuf,
    /// Still being written (`.ewlog.open`), or left open by a crash.
    pub open: bool,
    pub len_bytes: u64,
    /// The header, or why it is unusable (device, boot and anchor are then unknown).
    pub header: Result<SegmentHeader, HeaderDamage>,
    /// Offset of the first record frame.
    pub body_offset: u64,
    /// Boot number in this read (see the module docs): monotonic times of two entries
    /// compare only when their segments have the same boot number.
    pub boot: u64,
}

impl SegmentMeta {
    #[must_use]
    pub fn header(&self) -> Option<&SegmentHeader> {
        self.header.as_ref().ok()
    }

    /// The device id, unless the header is damaged.
    #[must_use]
    pub fn device_id(&self) -> Option<&str> {
        self.header().map(|h| h.device_id.as_str())
    }

    /// The boot id, unless the header is damaged.
    #[must_use]
    pub fn boot_id(&self) -> Option<&str> {
        self.header().map(|h| h.boot_id.as_str())
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Where an entry came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub segment: Arc<SegmentMeta>,
    /// Byte offset of its frame in the segment file.
    pub offset: u64,
    /// Bytes of its frame, the closing `0x00` included.
    pub len: u64,
    /// Seq of its frame (the samples of one block share it).
    pub seq: u64,
}

/// Why an entry's wall time is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WallUnknown {
    /// The segment's header is damaged and no clock step had re-anchored it by then.
    NoAnchor(HeaderDamage),
    /// The record holds no time (a run with no phase marks).
    NoTime,
}

impl std::fmt::Display for WallUnknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoAnchor(d) => write!(f, "segment header damaged ({d}), no clock step yet"),
            Self::NoTime => f.write_str("the record holds no time"),
        }
    }
}

/// Wall time of an entry, µs since the Unix epoch, or why it is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wall {
    At(i64),
    Unknown(WallUnknown),
}

impl Wall {
    /// The wall time, if known.
    #[must_use]
    pub const fn us(self) -> Option<i64> {
        match self {
            Self::At(us) => Some(us),
            Self::Unknown(_) => None,
        }
    }
}

/// The decoded content of an entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// One sample of a sample block, with the block's layout (shared by its samples).
    Sample {
        layout: Arc<SampleLayout>,
        sample: Box<Sample>,
        /// Offset of the key block the block's chain starts at (the block's own offset
        /// for a key block): where to start reading to decode it again.
        key_offset: u64,
    },
    /// One reading of a power block, with the block's source label and nominal period.
    Power {
        label: Arc<str>,
        period_us: u64,
        reading: PowerReading,
    },
    Event(Event),
    Seal(Seal),
    Run(Box<Run>),
}

impl Payload {
    #[must_use]
    pub const fn kind(&self) -> RecordKind {
        match self {
            Self::Sample { .. } => RecordKind::Sample,
            Self::Power { .. } => RecordKind::Power,
            Self::Event(_) => RecordKind::Event,
            Self::Seal(_) => RecordKind::Seal,
            Self::Run(_) => RecordKind::Run,
        }
    }

    /// CLOCK_MONOTONIC µs of the record: a run's is its first phase mark (none without).
    #[must_use]
    pub fn mono_us(&self) -> Option<u64> {
        match self {
            Self::Sample { sample, .. } => Some(sample.mono_us),
            Self::Power { reading, .. } => Some(reading.mono_us),
            Self::Event(e) => Some(e.mono_us),
            Self::Seal(s) => Some(s.mono_us),
            Self::Run(r) => r.phases.first().map(|m| m.mono_us),
        }
    }
}

/// One record (one sample, one power reading, one event, seal or run) with its time.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub origin: Origin,
    /// CLOCK_MONOTONIC µs, comparable within one boot ([`SegmentMeta::boot`]); `None` for
    /// a run with no phase marks.
    pub mono_us: Option<u64>,
    pub wall: Wall,
    pub payload: Payload,
}

impl Entry {
    #[must_use]
    pub fn segment(&self) -> &SegmentMeta {
        &self.origin.segment
    }

    /// The run, if this entry is one.
    #[must_use]
    pub fn run(&self) -> Option<&Run> {
        match &self.payload {
            Payload::Run(r) => Some(r),
            _ => None,
        }
    }

    /// The event, if this entry is one.
    #[must_use]
    pub const fn event(&self) -> Option<&Event> {
        match &self.payload {
            Payload::Event(e) => Some(e),
            _ => None,
        }
    }
}
