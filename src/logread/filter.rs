//! Which entries a reader keeps.

use super::Entry;
use super::SegmentMeta;
use super::Wall;

/// The kinds of entry, as `dump --type` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum RecordKind {
    Sample,
    Event,
    Seal,
    Power,
    Run,
}

impl RecordKind {
    pub const ALL: [Self; 5] = [
        Self::Sample,
        Self::Event,
        Self::Seal,
        Self::Power,
        Self::Run,
    ];

    /// The `type` field of JSON output.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sample => "sample",
            Self::Event => "event",
            Self::Seal => "seal",
            Self::Power => "power",
            Self::Run => "run",
        }
    }
}

/// What to keep; the default keeps everything. An entry whose wall time is unknown passes
/// no wall-time bound; a segment whose device is unknown (damaged header) passes no device
/// list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only these kinds (empty = all). Blocks of kinds left out are not decoded.
    pub kinds: Vec<RecordKind>,
    /// Only entries at or after this wall time, µs since the Unix epoch.
    pub since_wall_us: Option<i64>,
    /// Only entries before this wall time.
    pub until_wall_us: Option<i64>,
    /// Only segments of these devices (empty = all).
    pub devices: Vec<String>,
    /// Only frames with at least this seq (e.g. what one daemon session wrote).
    pub min_seq: Option<u64>,
}

impl Filter {
    /// Keeps only these kinds.
    #[must_use]
    pub fn kinds(kinds: &[RecordKind]) -> Self {
        Self {
            kinds: kinds.to_vec(),
            ..Self::default()
        }
    }

    /// Whether entries of `kind` are wanted.
    #[must_use]
    pub fn wants(&self, kind: RecordKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }

    /// Whether a segment's frames are wanted at all.
    #[must_use]
    pub fn wants_segment(&self, meta: &SegmentMeta) -> bool {
        self.devices.is_empty()
            || meta
                .device_id()
                .is_some_and(|d| self.devices.iter().any(|w| w == d))
    }

    /// Whether a frame of this seq is wanted.
    #[must_use]
    pub fn wants_seq(&self, seq: u64) -> bool {
        self.min_seq.is_none_or(|m| seq >= m)
    }

    /// Whether an entry of a wanted kind, segment and seq passes the time bounds.
    #[must_use]
    pub fn keeps(&self, e: &Entry) -> bool {
        self.keeps_wall(e.wall)
    }

    /// Whether an entry at `wall` passes the time bounds.
    #[must_use]
    pub fn keeps_wall(&self, wall: Wall) -> bool {
        self.keeps_wall_us(wall.us())
    }

    /// Whether an entry at `wall` µs since the Unix epoch (`None`: not known) passes the
    /// time bounds.
    #[must_use]
    pub fn keeps_wall_us(&self, wall: Option<i64>) -> bool {
        self.since_wall_us
            .is_none_or(|s| wall.is_some_and(|w| w >= s))
            && self
                .until_wall_us
                .is_none_or(|u| wall.is_some_and(|w| w < u))
    }
}
