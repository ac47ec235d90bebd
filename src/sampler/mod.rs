//! Readers of /proc and /sys, and the fixed-rate tick loop that drives them.
//!
//! - [`Roots`]: where /proc and /sys are (fixtures in tests).
//! - [`Sampler`]: discovers the machine's sources once, then reads them every tick into
//!   a [`Sample`] (the firmware's `get_throttled` once per its own interval), each file
//!   kept open and read with one `pread`, reporting faults and rate-limited events.
//! - [`Probe`]: the same readers for a few readings now and then (the cooldown).
//! - [`Ticker`]: absolute-deadline schedule on CLOCK_MONOTONIC.
//! - [`boot_id`], [`device_id`]: identity for segment headers.

mod discover;
mod error;
mod file;
pub mod fuzzing;
mod health;
mod identity;
mod notice;
mod parse;
mod probe;
mod procs;
mod reader;
mod roots;
mod ticker;

pub use crate::record::group;
pub use crate::record::CpuTicks;
pub use crate::record::MemKb;
pub use crate::record::ProcCounters;
pub use crate::record::ProcRole;
pub use crate::record::Sample;
pub use crate::record::SampleLayout;
pub use crate::record::TrackedProc;
pub use error::Fault;
pub use error::SamplerError;
pub use error::SourceError;
pub use health::CostMeter;
pub use identity::boot_id;
pub use identity::device_id;
pub use identity::IdentityError;
pub use notice::Notice;
pub use notice::NoticeKind;
pub use probe::Probe;
pub use reader::Sampler;
pub use reader::SamplerOptions;
pub use roots::Roots;
pub use ticker::Tick;
pub use ticker::Ticker;
pub use ticker::TickerError;
pub use ticker::MAX_RATE_HZ;
pub use ticker::MIN_RATE_HZ;
