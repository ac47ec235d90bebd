//! Errors of the sampler: per-source read faults, and construction errors.

use std::io;
use std::path::PathBuf;

/// Why one source (a file under /proc or /sys) gave no reading this tick.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot open {}: {source}", path.display())]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: malformed: {what}", path.display())]
    Malformed { path: PathBuf, what: String },
    #[error("{}: found {found} cpu lines, the layout has {expected} (CPU hotplug?)", path.display())]
    CpuCount {
        path: PathBuf,
        found: usize,
        expected: usize,
    },
    #[error("process {pid} is gone ({})", path.display())]
    Gone { pid: u32, path: PathBuf },
}

impl SourceError {
    /// The file this error is about.
    #[must_use]
    pub fn path(&self) -> &std::path::Path {
        match self {
            Self::Open { path, .. }
            | Self::Read { path, .. }
            | Self::Malformed { path, .. }
            | Self::CpuCount { path, .. }
            | Self::Gone { path, .. } => path,
        }
    }
}

/// One reading group that failed during a tick.
#[derive(Debug)]
pub struct Fault {
    /// The group's bit in [`crate::sampler::Sample::valid`].
    pub bit: u32,
    pub error: SourceError,
}

/// The sampler could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SamplerError {
    #[error(
        "cannot learn the CPU layout: {source}; /proc must be mounted and show /proc/stat \
         (systemd's ProcSubset=pid hides it)"
    )]
    CpuLayout { source: SourceError },
    #[error(
        "{groups} reading groups (2 + {procs} processes + {zones} thermal zones + {policies} \
         cpufreq policies + 1) exceed the {max} bits of Sample::valid; track fewer processes"
    )]
    TooManyGroups {
        groups: usize,
        procs: usize,
        zones: usize,
        policies: usize,
        max: usize,
    },
    #[error("page size must be a positive multiple of 1024 bytes, got {page_size}")]
    PageSize { page_size: u64 },
}
