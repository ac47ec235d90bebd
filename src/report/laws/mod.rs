//! `edgewatt report`'s content: the paper's laws fitted on the cost rows of one or several
//! logs, per device and model, as plain data (serialised as the JSON output; the terminal,
//! markdown and HTML views render it, see [`super::render`]).
//!
//! - [`LlmLaw`]: cost vs prompt tokens (CPU AUC, RAM AUC, measured and estimated net
//!   energy, time; prefill time) as y = a + b·x with 95 % CIs and R²; decode s and J per
//!   generated token.
//! - [`KneeLaw`]: the plateau fit y = a + b·min(x, ψ) over input pixels and over image
//!   tokens, per clamp, with ψ's CI, on CPU AUC, RAM AUC, energy and encode time.
//! - [`Comparison`]: a workload against the base its plan names (% change with Fieller CIs,
//!   throughput ratio, output agreement).
//! - [`EstimateErrors`]: the calibrated estimate against measured energy, per device.
//! - [`RunRow`]: every run with its figures and trust flags; a flagged run is left out of
//!   every fit unless [`ReportOptions::include_flagged`].
//!
//! Measured and estimated energy are never mixed: each fit and each comparison says which
//! one it used (`measured:<source>` or `estimate:<calibration id>`).

mod compare;
mod estimate;
pub mod groups;
mod knee;
mod llm;
mod phases;
mod runs;

pub use compare::Comparison;
pub use estimate::EstimateErrors;
pub use knee::KneeAxis;
pub use knee::KneeFitRow;
pub use knee::KneeLaw;
pub use llm::LawFit;
pub use llm::LlmLaw;
pub(crate) use llm::LLM_METRICS;
pub use phases::PhaseCost;
pub use runs::RunRow;

#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::analysis::fit::Estimate;
use crate::analysis::fit::Interval;
use crate::cost::RowKind;
use crate::cost::RunCost;
use crate::derive::energy::MinCoverage;

/// How the report is made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportOptions {
    /// Keep flagged runs (throttled, under-voltage, low coverage, capped cooldown) in fits.
    pub include_flagged: bool,
    /// Bootstrap resamples of the knee's ψ (0 skips the bootstrap CI).
    pub knee_bootstrap_reps: usize,
    /// A phase's energy (J per token, energy per phase) covered less than this is not
    /// trusted, as the run's own ([`CostOptions::min_coverage`](crate::cost::CostOptions)).
    pub min_coverage: MinCoverage,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            include_flagged: false,
            knee_bootstrap_reps: 499,
            min_coverage: MinCoverage::DEFAULT,
        }
    }
}

/// A value with its 95 % CI.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ci {
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Ci {
    fn of(e: &Estimate) -> Self {
        Self {
            value: e.value,
            lo: e.ci.lo,
            hi: e.ci.hi,
        }
    }

    fn with(value: f64, ci: Interval) -> Self {
        Self {
            value,
            lo: ci.lo,
            hi: ci.hi,
        }
    }
}

/// One of the costs a law is fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Machine CPU % above idle integrated over the run, %·s.
    CpuAuc,
    /// RAM used above idle integrated over the run, MB·s.
    RamAuc,
    /// The llama.cpp worker's resident memory integrated over the run, MB·s: the model's
    /// weights too, which llama.cpp maps from its file (page cache, so not in the machine's
    /// used RAM above idle).
    WorkerRssAuc,
    /// Measured net energy (above the idle baseline), J.
    EnergyMeasured,
    /// Estimated net energy (the usage terms of the calibration), J.
    EnergyEstimated,
    /// The run's duration, s.
    Time,
    /// The prefill phase, s.
    PrefillTime,
    /// The image encode phase, s.
    EncodeTime,
}

impl Metric {
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::CpuAuc => "CPU AUC (%·s)",
            Self::RamAuc => "RAM AUC (MB·s)",
            Self::WorkerRssAuc => "worker RSS AUC (MB·s)",
            Self::EnergyMeasured => "energy measured net (J)",
            Self::EnergyEstimated => "energy estimated net (J)",
            Self::Time => "time (s)",
            Self::PrefillTime => "prefill (s)",
            Self::EncodeTime => "encode (s)",
        }
    }

    /// The run's value, if it has a trusted one.
    #[must_use]
    pub fn of(self, r: &RunCost) -> Option<f64> {
        let usage = r.usage.as_ref().filter(|_| r.trust.usage);
        let worker = r.usage.as_ref().filter(|_| r.trust.worker);
        match self {
            Self::CpuAuc => usage.map(|u| u.cpu_pct_s),
            Self::RamAuc => usage.map(|u| u.ram_mb_s),
            Self::WorkerRssAuc => worker.and_then(|u| u.worker_rss_mb_s),
            Self::EnergyMeasured => r.trusted_net_j(),
            Self::EnergyEstimated => r.estimate.as_ref().map(|e| e.net_j),
            Self::Time => r.duration_s,
            Self::PrefillTime => r.phase_s[2],
            Self::EncodeTime => r.phase_s[3],
        }
        .filter(|v| v.is_finite())
    }

    /// Where the values of `runs` come from (the energy's sources), for the fit's label:
    /// each distinct source once, sorted, joined by ", ".
    fn sources<'r>(self, runs: impl IntoIterator<Item = &'r RunCost>) -> Option<String> {
        // Labels borrowed, prefixed once each: runs are thousands, their sources few.
        let (prefix, label): (&str, fn(&RunCost) -> Option<&str>) = match self {
            Self::EnergyMeasured => ("measured:", |r| {
                r.energy.as_ref().map(|e| e.source.as_str())
            }),
            Self::EnergyEstimated => ("", |r| r.estimate.as_ref().map(|e| e.source.as_str())),
            _ => return None,
        };
        let mut labels: Vec<&str> = runs.into_iter().filter_map(label).collect();
        // Sorting the labels sorts the prefixed ones (same prefix); runs of one source
        // come together, so dropping repeats first leaves little to sort.
        labels.dedup();
        labels.sort_unstable();
        labels.dedup();
        (!labels.is_empty()).then(|| {
            labels
                .iter()
                .map(|l| format!("{prefix}{l}"))
                .collect::<Vec<String>>()
                .join(", ")
        })
    }
}

/// The calibration an estimate came from, as the report states it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationNote {
    pub source: String,
    pub board_average: bool,
    /// The device it was fitted on (empty: any).
    pub device_id: String,
    /// Runs it was fitted on (0: a published model, not fitted here) and its
    /// cross-validated MAPE, %.
    pub fitted_runs: u64,
    pub cv_mape_pct: Option<f64>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The state directories read.
    pub sources: Vec<String>,
    pub include_flagged: bool,
    pub calibrations: Vec<CalibrationNote>,
    /// What a reader must know (no measured energy, a board-average calibration, …).
    pub notes: Vec<String>,
    /// What could not be read or used, each naming what and what to do.
    pub problems: Vec<String>,
    pub llm: Vec<LlmLaw>,
    pub knees: Vec<KneeLaw>,
    pub comparisons: Vec<Comparison>,
    pub estimate_errors: Vec<EstimateErrors>,
    /// Energy (or time) per phase, per device, model and workload.
    pub phases: Vec<PhaseCost>,
    pub runs: Vec<RunRow>,
}

impl Report {
    /// The report over `rows` (cost rows with estimates applied; idle rows are skipped).
    #[must_use]
    pub fn build(rows: &[RunCost], opts: &ReportOptions) -> Self {
        let runs: Vec<&RunCost> = rows.iter().filter(|r| r.kind == RowKind::Run).collect();
        let used: Vec<&RunCost> = runs
            .iter()
            .copied()
            .filter(|r| runs::usable(r, opts.include_flagged))
            .collect();
        // The parts side by side: the knees (bootstrapped profile fits, the most work, on
        // as many threads as there are cores), the table of runs, and the rest.
        let names = groups::WorkloadNames::of(&used);
        let (table, knees, (llm, comparisons, estimate_errors, phases)) = std::thread::scope(|s| {
            let knees = s.spawn(|| knee::laws(&used, &names, opts));
            let table = s.spawn(|| runs.iter().map(|r| RunRow::of(r)).collect::<Vec<_>>());
            let rest = (
                llm::laws(&used, &names, opts.min_coverage),
                compare::comparisons(&used, &names),
                estimate::estimate_errors(&used),
                phases::phase_costs(&used, &names, opts.min_coverage),
            );
            let table = table
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            let knees = knees
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (table, knees, rest)
        });
        let mut report = Self {
            sources: Vec::new(),
            include_flagged: opts.include_flagged,
            calibrations: Vec::new(),
            notes: Vec::new(),
            problems: Vec::new(),
            llm,
            knees,
            comparisons,
            estimate_errors,
            phases,
            runs: table,
        };
        report.notes = notes(&runs, &report);
        report.problems = problems(&runs, &report);
        report
    }

    /// Whether any run is in a fit (an empty report still renders, saying why).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.llm.is_empty() && self.knees.is_empty() && self.comparisons.is_empty()
    }
}

fn notes(runs: &[&RunCost], report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let flagged = report.runs.iter().filter(|r| !r.flags.is_empty()).count();
    if flagged > 0 {
        out.push(if report.include_flagged {
            format!("{flagged} flagged runs are included in the fits (--include-flagged)")
        } else {
            format!(
                "{flagged} flagged runs are left out of the fits (see their flags; \
                 --include-flagged keeps them)"
            )
        });
    }
    if let Some(pct) = busy_baseline_pct(runs) {
        out.push(format!(
            "the machine was already busy before the runs (median idle baseline {pct:.0} % \
             CPU): usage above idle, and the estimate from it, cannot show the runs' cost; \
             measure on an idle machine"
        ));
    }
    let measured = runs.iter().any(|r| r.trusted_net_j().is_some());
    if !measured && !runs.is_empty() {
        out.push(
            "no run has trusted measured energy (no INA219 or PMIC, or too little coverage): \
             energy figures are estimates only"
                .into(),
        );
    }
    out
}

/// A median idle baseline at or above this machine CPU % leaves no room above idle.
const BUSY_BASELINE_PCT: f64 = 80.0;

/// The median idle baseline CPU %, when it is at or above [`BUSY_BASELINE_PCT`].
fn busy_baseline_pct(runs: &[&RunCost]) -> Option<f64> {
    let mut base: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.usage.as_ref().map(|u| u.baseline_cpu_pct))
        .collect();
    base.sort_by(f64::total_cmp);
    let median = *base.get(base.len() / 2)?;
    (median >= BUSY_BASELINE_PCT).then_some(median)
}

fn problems(runs: &[&RunCost], report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    if runs.is_empty() {
        out.push(
            "no runs in the logs read: run a plan (`edgewatt bench PLAN`, or plans in \
             `edgewatt run`) first, or point the report at the state directory that holds them"
                .into(),
        );
    } else if runs.iter().all(|r| !r.ok) {
        out.push(format!(
            "all {} runs failed (e.g. {}): nothing to fit; fix what made them fail",
            runs.len(),
            runs.iter().find_map(|r| r.error.as_deref()).unwrap_or("?")
        ));
    } else if report.is_empty() && all_flagged(report) {
        let mut flags: Vec<&str> = report
            .runs
            .iter()
            .flat_map(|r| r.flags.iter().map(String::as_str))
            .collect();
        flags.sort_unstable();
        flags.dedup();
        out.push(format!(
            "no law could be fitted: every successful run is flagged ({}) and left out of \
             the fits; --include-flagged fits them, or fix what the flags say",
            flags.join("; ")
        ));
    } else if report.is_empty() {
        out.push(
            "no law could be fitted: a token law needs successful runs at 3 or more prompt \
             lengths, a knee 4 runs at 3 or more image sizes"
                .into(),
        );
    }
    out
}

/// Every successful run (not a warm-up) is flagged and left out of the fits.
pub(crate) fn all_flagged(report: &Report) -> bool {
    let mut done = report.runs.iter().filter(|r| r.ok && !r.warmup).peekable();
    !report.include_flagged && done.peek().is_some() && done.all(|r| !r.flags.is_empty())
}
