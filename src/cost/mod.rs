//! The cost of each run, derived in one place from the log: the rows that `bench`'s
//! tables, `export`, `calibrate`, the report and a fleet's analysis (the exported Parquet in
//! DuckDB or Spark) all read.
//!
//! A [`RunCost`] holds, for one run: who ran it (device, boot, model, settings), how long it
//! took in total and per phase, its tokens, its CPU and RAM cost above the idle baseline
//! ([`RunUsage`]: machine and per-core-sum %·s, clamped and signed; RAM MB·s; the worker's CPU
//! s and RSS MB·s), the conditions it ran under ([`RunConditions`]: mean frequency, peak
//! temperature, throttling and under-voltage), its measured energy as the daemon stored it
//! ([`RunEnergy`]: gross and net, per phase, with source, rate, baseline and coverage), and
//! whether each of these can be trusted, with the reasons ([`Trust`]). An estimate of its
//! energy from a calibration is added by [`crate::estimate`].
//!
//! Rows also exist for the plans' **idle lead-ins** ([`RowKind::Idle`]): a stretch with no
//! run, whose measured energy is the board's idle power × time. `calibrate` uses them to pin
//! the idle term; everything that averages runs leaves them out (they have no run id).
//!
//! This is a module of its own, not part of [`derive`](mod@crate::derive): `derive` is pure
//! functions over samples and readings, while a cost row needs the log (its boots, the plan
//! events before a run, the samples of its windows). The samples are decoded once, in
//! order, and each row takes those of its windows as they pass (`stream`), so the rows of a
//! long log cost one read of it, in memory bounded by the longest window.

pub mod cache;
mod context;
mod identity;
mod read;
mod row;
mod stream;
#[cfg(test)]
mod tests;
mod trust;

pub use context::rows_of_last_segment;
pub use identity::boot_identity;
pub use identity::drop_repeats;
pub use identity::repeats_note;
pub use identity::RowKey;
pub use identity::RunRef;
pub use read::CostLog;
pub use trust::usage_trust;
pub use trust::worker_trust;

use crate::derive::conditions::RunConditions;
use crate::derive::energy::RunEnergy;
use crate::derive::runs::RunUsage;
use crate::record::RunPhase;

/// The phases a cost row has a duration and an energy column for, in column order.
pub const PHASES: [RunPhase; 5] = [
    RunPhase::Load,
    RunPhase::Preprocess,
    RunPhase::Prefill,
    RunPhase::Encode,
    RunPhase::Decode,
];

/// Default share of a window that samples or power readings must cover for its figure to
/// be trusted: the configuration's default (`energy.min_coverage_pct`, 95 %).
pub const DEFAULT_MIN_COVERAGE: f64 =
    crate::derive::energy::MinCoverage::DEFAULT_PCT as f64 / 100.0;

/// How cost rows are derived.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostOptions {
    /// A figure whose coverage (0–1) is below this is not trusted.
    pub min_coverage: f64,
}

impl CostOptions {
    /// [`min_coverage`](Self::min_coverage) as the energy figures' threshold.
    #[must_use]
    pub fn min_coverage(&self) -> crate::derive::energy::MinCoverage {
        crate::derive::energy::MinCoverage {
            ppm: (self.min_coverage.clamp(0.0, 1.0) * 1e6).round() as u32,
        }
    }
}

impl Default for CostOptions {
    fn default() -> Self {
        Self {
            min_coverage: DEFAULT_MIN_COVERAGE,
        }
    }
}

/// What a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RowKind {
    /// One inference run.
    Run,
    /// A plan's idle lead-in: no run, the machine at rest.
    Idle,
}

impl RowKind {
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Run => "run",
            Self::Idle => "idle",
        }
    }
}

/// Why a figure is not trusted. Its `Display` is the reason as shown.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Untrusted {
    /// No power readings cover the run: no measured energy at all.
    NoEnergy,
    /// The measured energy covers less of the run than the threshold.
    EnergyCoverage { coverage: f64, min: f64 },
    /// No idle baseline power: only the gross energy is known.
    NoPowerBaseline,
    /// The idle baseline's own window is covered less than the threshold: its mean may
    /// not be the idle power, so neither are the net figures (the gross one stands).
    PowerBaselineCoverage { coverage: f64, min: f64 },
    /// The cooldown before the run ended by its cap: the machine was not idle, so neither
    /// the baseline nor the net figures are.
    CooldownCapped,
    /// No samples around the run (no CPU/RAM figures).
    NoSamples,
    /// The samples cover less of the run than the threshold.
    UsageCoverage { coverage: f64, min: f64 },
    /// The run's mean machine CPU is more than [`BUSY_BASELINE_MARGIN_PCT`] below its idle
    /// baseline's: the baseline was not idle (a disturbed lead-in or quiet stretch), so the
    /// CPU and RAM figures above it are not the run's.
    BusyBaseline { baseline_pct: f64, mean_pct: f64 },
    /// The run names its plan's idle lead-in, but too few samples of it were read to take
    /// a baseline from (lost to a damaged or deleted segment): its CPU and RAM above idle
    /// are over the quietest stretch before it instead, not the baseline the plan measured.
    LeadInLost,
    /// Samples cover the run, but none of its plan's lead-in nor of the stretch searched
    /// before it: no idle baseline to take its CPU and RAM above.
    NoUsageBaseline,
}

/// How far (percentage points of machine CPU) a run's mean may fall below its idle
/// baseline before the baseline is taken for not idle: a run cannot use less than an idle
/// machine; within the margin is sampling noise.
pub const BUSY_BASELINE_MARGIN_PCT: f64 = 1.0;

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoEnergy => f.write_str("no power readings"),
            Self::EnergyCoverage { coverage, min } => write!(
                f,
                "energy coverage {:.1} % < {:.0} %",
                coverage * 100.0,
                min * 100.0
            ),
            Self::NoPowerBaseline => f.write_str("no idle power baseline"),
            Self::PowerBaselineCoverage { coverage, min } => write!(
                f,
                "idle power baseline coverage {:.1} % < {:.0} %",
                coverage * 100.0,
                min * 100.0
            ),
            Self::CooldownCapped => f.write_str("cooldown capped: not idle before the run"),
            Self::NoSamples => f.write_str("no samples around the run"),
            Self::UsageCoverage { coverage, min } => write!(
                f,
                "sample coverage {:.1} % < {:.0} %",
                coverage * 100.0,
                min * 100.0
            ),
            Self::NoUsageBaseline => f.write_str(
                "no idle baseline for CPU/RAM: no samples of its plan's lead-in nor just \
                 before the run",
            ),
            Self::LeadInLost => f.write_str(
                "idle lead-in lost (too few samples of it in the log): CPU/RAM above another \
                 baseline",
            ),
            Self::BusyBaseline {
                baseline_pct,
                mean_pct,
            } => write!(
                f,
                "idle baseline busier than the run: CPU {baseline_pct:.1} % vs its mean \
                 {mean_pct:.1} %"
            ),
        }
    }
}

/// Which of a row's figures can be trusted, and why not.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trust {
    /// The gross measured energy (readings cover the run).
    pub energy: bool,
    /// The net measured energy (gross trusted, and an idle baseline that was idle and is
    /// covered at least the threshold).
    pub energy_net: bool,
    /// The machine's CPU/RAM figures (samples cover the run, above an idle baseline that
    /// was idle).
    pub usage: bool,
    /// The worker's own figures (its CPU s, RSS MB·s): samples cover the run. They are not
    /// above any baseline, so a busy one does not touch them.
    pub worker: bool,
    pub reasons: Vec<Untrusted>,
}

impl Trust {
    /// The reasons, `; `-separated (empty when everything is trusted).
    #[must_use]
    pub fn reasons_text(&self) -> String {
        self.reasons
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The identity of the model a run used.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModelId {
    pub name: Option<String>,
    pub path: String,
    pub sha256: String,
    pub quantization: String,
    pub file_size_bytes: u64,
    pub param_count: u64,
}

/// An estimate of a row's energy from a calibration (see [`crate::estimate`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EnergyEstimate {
    /// `estimate:<calibration id>`.
    pub source: String,
    /// The calibration is an uncalibrated board average, not this device's fit.
    pub board_average: bool,
    /// P_idle·T + the usage terms, J.
    pub gross_j: f64,
    /// The usage terms alone (gross − P_idle·T), J.
    pub net_j: f64,
    /// The calibration cannot have been fitted on this run: it started after the fit, or
    /// on another device than the one fitted, or the calibration is a published model.
    /// `false`: a run of the fitted device up to the fit (it may be one of the runs fitted,
    /// so its error is in-sample); `None`: the run's start or the fit's time is unknown.
    pub held_out: Option<bool>,
    /// The calibration was fitted against the PMIC: it estimates the PMIC's power (the
    /// SoC's rails), not the whole board's.
    #[serde(default)]
    pub of_pmic: bool,
}

/// Measured PMIC energy mapped to the whole board by a calibration's PMIC→INA219 fit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CorrectedEnergy {
    /// `pmic-corrected:<calibration id>`.
    pub source: String,
    pub gross_j: f64,
}

/// The kind of meter (`ina219`, `pmic`, …) a power source's label names: its first word
/// ("" for an empty label).
#[must_use]
pub fn meter_kind(label: &str) -> &str {
    label.split_whitespace().next().unwrap_or("")
}

/// The cost of one run (or one idle lead-in): see the module doc. `None` is "not known",
/// never a made-up 0.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunCost {
    pub kind: RowKind,
    /// Seq of the record the row is made from (its Run record, or its plan's `PlanStart`
    /// event): which segment it belongs to.
    pub seq: u64,
    /// From the segment header; `None` if it is damaged.
    pub device_id: Option<String>,
    pub boot_id: Option<String>,
    /// `None` for an idle row.
    pub run_id: Option<u64>,
    /// The run's label; `idle:<plan>` for an idle row.
    pub label: String,
    pub plan: String,
    pub workload: String,
    pub base_workload: Option<String>,
    pub warmup: bool,
    pub repetition: u32,
    pub ok: bool,
    /// Why it failed (the error's text).
    pub error: Option<String>,
    /// Wall time of the start, µs since the Unix epoch.
    pub start_unix_us: Option<i64>,
    /// CLOCK_MONOTONIC µs of the first and last phase mark (comparable within one boot).
    pub start_mono_us: Option<u64>,
    pub end_mono_us: Option<u64>,
    pub model: Option<ModelId>,
    pub mmproj_sha256: Option<String>,
    pub threads: u32,
    pub cpu_backend: Option<String>,
    pub duration_s: Option<f64>,
    /// Seconds per phase of [`PHASES`], `None` for a phase the run did not have.
    pub phase_s: [Option<f64>; 5],
    pub ttft_s: Option<f64>,
    pub prompt_tokens: u32,
    pub generated_tokens: u32,
    pub image_tokens: Option<u32>,
    pub image_width: Option<u32>,
    pub image_height: Option<u32>,
    pub peak_rss_kb: u64,
    /// The text the run generated (empty for an idle row): base vs compressed agreement.
    pub output: String,
    pub usage: Option<RunUsage>,
    pub conditions: RunConditions,
    pub cooldown_capped: bool,
    pub energy: Option<RunEnergy>,
    pub trust: Trust,
    pub estimate: Option<EnergyEstimate>,
    pub corrected: Option<CorrectedEnergy>,
}

impl RunCost {
    /// The kind of the measured energy's source (`ina219`, `pmic`, `rapl`, `replay`): the
    /// first word of its label.
    #[must_use]
    pub fn energy_source_kind(&self) -> Option<&str> {
        self.energy
            .as_ref()
            .map(|e| meter_kind(&e.source))
            .filter(|k| !k.is_empty())
    }

    /// Mean machine CPU % over the row (absolute, not above idle): the idle baseline plus
    /// the signed excess over the time samples cover ([`RunUsage::cpu_mean_pct`]).
    #[must_use]
    pub fn cpu_mean_pct(&self) -> Option<f64> {
        self.usage.as_ref()?.cpu_mean_pct(self.duration_s?)
    }

    /// Measured gross energy, J, if trusted.
    #[must_use]
    pub fn trusted_gross_j(&self) -> Option<f64> {
        self.trust
            .energy
            .then(|| self.energy.as_ref().map(|e| e.run.gross_j()))
            .flatten()
    }

    /// Measured gross energy over the whole run, J, if trusted: the mean power over the time
    /// the meter covered × the run's time. A hole in the readings adds no energy to the
    /// gross figure (coverage 96 %: 4 % low, yet trusted at the default threshold); this is
    /// what the run drew if the hole was like the rest. What an estimate is fitted on and
    /// compared with.
    #[must_use]
    pub fn trusted_gross_over_run_j(&self) -> Option<f64> {
        let run = &self.energy.as_ref().filter(|_| self.trust.energy)?.run;
        run.over_window_j(run.gross_j())
    }

    /// Measured net energy, J, if trusted.
    #[must_use]
    pub fn trusted_net_j(&self) -> Option<f64> {
        self.trust
            .energy_net
            .then(|| self.energy.as_ref().and_then(|e| e.run.net_j()))
            .flatten()
    }
}
