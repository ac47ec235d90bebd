//! The Prometheus endpoint (`[metrics]`, opt-in): what the daemon is seeing now, served
//! over HTTP in the text exposition format (version 0.0.4, with HELP and TYPE).
//!
//! The sampling loop never waits on it: once a tick it copies a few numbers into
//! [`Snapshot`] behind a mutex ([`Metrics::update`]); the server thread
//! ([`server::Server`]) clones the snapshot under that mutex and renders it outside it
//! ([`render::render`]). Nothing here depends on the readers or the store: the daemon turns
//! its samples, power readings and runs into the plain numbers of [`Snapshot`].
//!
//! The upload backlog comes from whoever uploads segments, through [`UploadStatus`]
//! ([`Metrics::set_upload`]): while nothing has filled it (no uploader configured), the
//! upload metrics are absent rather than guessed.

mod config;
pub mod render;
pub mod server;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::MutexGuard;

pub use config::MetricsConfig;
pub use config::DEFAULT_LISTEN;
pub use server::Server;

/// The latest valid power reading.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerNow {
    /// The source's wire name (`ina219`, `pmic`, `rapl`, `replay`).
    pub source: &'static str,
    pub power_uw: i64,
    /// CLOCK_MONOTONIC of the reading, µs.
    pub mono_us: u64,
}

/// The measured energy of the last run that had power readings.
#[derive(Debug, Clone, PartialEq)]
pub struct RunJoules {
    /// `ina219`, `pmic`, … for measured energy; `estimate:CALIBRATION-ID` for an estimate.
    pub source: String,
    /// Energy per generated token over the decode phase: gross, and net of the idle
    /// baseline (`None` without a baseline).
    pub decode_gross_j_per_token: Option<f64>,
    pub decode_net_j_per_token: Option<f64>,
    /// Energy per prompt token over the prefill phase.
    pub prefill_gross_j_per_token: Option<f64>,
    pub prefill_net_j_per_token: Option<f64>,
    /// Share of the run's window covered by valid readings, 0–1.
    pub coverage_ratio: f64,
}

/// What the last finished run did.
#[derive(Debug, Clone, PartialEq)]
pub struct LastRun {
    pub prefill_tokens_per_s: f64,
    pub decode_tokens_per_s: f64,
    /// `None`: no power source, or the run never started.
    pub energy: Option<RunJoules>,
}

/// One labelled reading (a thermal zone, a cpufreq policy): its name and its latest
/// value, `None` while it cannot be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labelled {
    pub name: String,
    pub value: Option<i64>,
}

/// What the uploader reports. Filled by the uploader through [`Metrics::set_upload`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadStatus {
    /// Sealed segments not yet acknowledged by the remote store, and their bytes.
    pub backlog_segments: u64,
    pub backlog_bytes: u64,
    /// The last upload's error (`None` once an upload works again). Exposed as a label:
    /// credentials and signed query strings are cut out ([`render::redact`]).
    pub last_error: Option<String>,
}

/// Everything the endpoint shows, as plain numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub ticks_total: u64,
    pub late_ticks_total: u64,
    /// Readings of /proc and /sys that failed.
    pub read_errors_total: u64,
    /// Busy share of all CPUs over the last ~1 s, 0–1.
    pub cpu_busy_ratio: Option<f64>,
    pub mem_available_kb: Option<u64>,
    /// Thermal zones, m°C.
    pub temps_mc: Vec<Labelled>,
    /// cpufreq policies, kHz.
    pub freqs_khz: Vec<Labelled>,
    /// Raw `get_throttled` bits; `None` where the firmware file is not read.
    pub throttled: Option<u64>,
    pub power: Option<PowerNow>,
    pub store_errors_total: u64,
    pub store_pending_bytes: u64,
    pub runs_ok_total: u64,
    pub runs_failed_total: u64,
    pub last_run: Option<LastRun>,
    pub upload: Option<UploadStatus>,
}

/// The shared snapshot: the daemon updates it, the server reads it.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    snapshot: Arc<Mutex<Snapshot>>,
}

impl Metrics {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The snapshot, locked; a panic elsewhere while it was held does not stop the metrics.
    fn lock(&self) -> MutexGuard<'_, Snapshot> {
        self.snapshot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Changes the snapshot in place (keep `f` short: the server waits for it).
    pub fn update(&self, f: impl FnOnce(&mut Snapshot)) {
        f(&mut self.lock());
    }

    /// A copy of the snapshot now.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        self.lock().clone()
    }

    /// The extension point for the uploader: its backlog and last error.
    pub fn set_upload(&self, status: UploadStatus) {
        self.lock().upload = Some(status);
    }
}

#[cfg(test)]
mod tests;
