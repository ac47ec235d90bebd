//! The records edgewatt logs, as they are serialized with postcard.
//!
//! postcard is not self-describing: a struct is its fields in order, an enum is a
//! varint variant index followed by the variant's fields. So the rules are
//! (docs/FORMAT.md states them in full):
//! - variant indices of [`Record`] and [`EventKind`] are forever: append, never reorder;
//! - a struct that is on disk never changes; a changed shape is a new variant;
//! - a reader that meets a variant index it does not know reports the frame as
//!   "unknown record type" (CRC good, newer writer), never as corruption.
//!
//! The in-memory types can grow; what is on disk is the private `wire` shapes (a `Run` is
//! written as Run v2 and read from Run v1 or v2). Every record type here is self-contained:
//! this module imports nothing from the readers (`sampler`, `power`), `store`, `derive` or
//! `gguf`, which produce and consume these types.

mod block;
mod columns;
mod event;
#[cfg(test)]
mod golden;
mod power;
mod reading;
mod run;
mod sample;
mod wire;

pub use block::BlockBase;
pub use block::BlockError;
pub use block::SampleBlock;
pub use block::SampleBlockBuilder;
pub use block::SampleDecoder;
pub use event::Event;
pub use event::EventKind;
pub use power::PowerBlock;
pub use power::PowerBlockBuilder;
pub use reading::power_flags;
pub use reading::PowerReading;
pub use reading::SourceId;
pub use run::EnergyBaseline;
pub use run::EnergyIntegration;
pub use run::EnergyWindow;
pub use run::ImageRun;
pub use run::MeasuredEnergy;
pub use run::ModelInfo;
pub use run::MonoWindow;
pub use run::Outcome;
pub use run::PhaseMark;
pub use run::Run;
pub use run::RunError;
pub use run::RunPhase;
pub use run::RunSettings;
pub use run::TokenCounts;
pub use sample::group;
pub use sample::CpuTicks;
pub use sample::MemKb;
pub use sample::ProcCounters;
pub use sample::ProcRole;
pub use sample::Readings;
pub use sample::Sample;
pub use sample::SampleLayout;
pub use sample::TrackedProc;
use serde::Deserialize;
use serde::Serialize;
pub use wire::FrameKind;

/// One frame's payload: a sequence number and a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// Increases by one per frame across segments and restarts of the daemon.
    pub seq: u64,
    pub record: Record,
}

/// A record in memory. On disk (the private `wire` module) the variant indices are part of the format:
/// 0 Samples, 1 Event, 2 Seal, 3 Power, 4 Run v1 (read only), 5 Run v2.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "wire::RecordWire")]
pub enum Record {
    /// A block of consecutive samples of one layout.
    Samples(SampleBlock),
    Event(Event),
    /// Last frame of a sealed segment.
    Seal(Seal),
    /// A block of consecutive power readings of one source.
    Power(PowerBlock),
    /// One inference run: written as Run v2, read from Run v1 or v2.
    Run(Box<Run>),
}

impl Record {
    /// Name of the record type, as `dump --type` and the `type` field of JSON output use it.
    #[must_use]
    pub const fn type_name(&self) -> &'static str {
        match self {
            Self::Samples(_) => "samples",
            Self::Event(_) => "event",
            Self::Seal(_) => "seal",
            Self::Power(_) => "power",
            Self::Run(_) => "run",
        }
    }
}

/// Why a segment was sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SealReason {
    /// Size or age limit reached; the next segment follows.
    Rotated,
    /// The daemon stopped cleanly.
    Shutdown,
    /// Found open after a crash and repaired at the next start.
    Recovered,
}

/// Trailer of a sealed segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    pub reason: SealReason,
    /// Frames in the segment before this one (the header not counted).
    pub frames: u64,
    /// Bytes dropped while repairing (torn or corrupt tail); 0 unless `Recovered`.
    pub dropped_bytes: u64,
    pub mono_us: u64,
}
