//! What the sampler notices besides readings: a source missing, a read failing or working
//! again, a tracked process appearing or going away, and what sampling costs. The sampler
//! only reports them; the daemon logs each as an event.

use crate::record::ProcRole;

/// Something noticed while reading at CLOCK_MONOTONIC `mono_us`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub mono_us: u64,
    pub kind: NoticeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeKind {
    /// A source this machine does not have (no thermal zones, no cpufreq, no
    /// `get_throttled`), reported once at start: the layout simply lacks it.
    SourceMissing { source: String, message: String },
    /// A source failed (the first failure of a streak, then at most once per
    /// `error_repeat_us` with the running count); `source` names the file.
    ReadError { source: String, message: String },
    /// A failing source works again after `failures` failed reads.
    ReadRecovered { source: String, failures: u64 },
    /// A tracked process is there.
    ProcStart { pid: u32, role: ProcRole },
    /// A tracked process went away.
    ProcExit { pid: u32, role: ProcRole },
    /// CPU time the reads used over `ticks` reads and `wall_us` of monotonic time
    /// (CLOCK_THREAD_CPUTIME_ID).
    SamplerCost {
        ticks: u64,
        cpu_us: u64,
        wall_us: u64,
    },
}
