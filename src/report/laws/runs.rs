//! One row per run: its figures and its trust flags.

use serde::Serialize;

use super::groups;
use super::Metric;
use crate::cost::RunCost;
use crate::cost::Untrusted;

/// A run as the report lists it. `None` is "not known or not trusted" (the reason is in
/// `flags` or `energy_note`), never a made-up 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    pub device: String,
    pub run_id: Option<u64>,
    pub model: String,
    pub workload: String,
    pub label: String,
    pub ok: bool,
    pub warmup: bool,
    pub error: Option<String>,
    pub prompt_tokens: u32,
    pub generated_tokens: u32,
    pub image_pixels: Option<u64>,
    pub image_tokens: Option<u32>,
    pub time_s: Option<f64>,
    pub cpu_auc_pct_s: Option<f64>,
    pub ram_auc_mb_s: Option<f64>,
    /// Measured net energy, J, when trusted.
    pub energy_measured_j: Option<f64>,
    /// `measured:<source label>`.
    pub energy_measured_source: Option<String>,
    /// Why there is no trusted measured energy.
    pub energy_note: Option<String>,
    /// Estimated net energy, J.
    pub energy_estimated_j: Option<f64>,
    /// `estimate:<calibration id>`.
    pub energy_estimated_source: Option<String>,
    /// Why the run cannot be trusted: throttled, under-voltage, coverage, capped cooldown.
    pub flags: Vec<String>,
}

impl RunRow {
    #[must_use]
    pub fn of(r: &RunCost) -> Self {
        Self {
            device: groups::device(r),
            run_id: r.run_id,
            model: groups::model(r),
            workload: r.workload.clone(),
            label: r.label.clone(),
            ok: r.ok,
            warmup: r.warmup,
            error: r.error.clone(),
            prompt_tokens: r.prompt_tokens,
            generated_tokens: r.generated_tokens,
            image_pixels: r
                .image_width
                .zip(r.image_height)
                .map(|(w, h)| u64::from(w) * u64::from(h)),
            image_tokens: r.image_tokens,
            time_s: Metric::Time.of(r),
            cpu_auc_pct_s: Metric::CpuAuc.of(r),
            ram_auc_mb_s: Metric::RamAuc.of(r),
            energy_measured_j: Metric::EnergyMeasured.of(r),
            energy_measured_source: r.energy.as_ref().map(|e| format!("measured:{}", e.source)),
            energy_note: (r.trusted_net_j().is_none()).then(|| energy_note(r)),
            energy_estimated_j: Metric::EnergyEstimated.of(r),
            energy_estimated_source: r.estimate.as_ref().map(|e| e.source.clone()),
            flags: flags(r),
        }
    }

    /// Whether the run goes into fits: successful, not a warm-up, and not flagged (unless
    /// flagged runs are included).
    #[must_use]
    pub fn usable(&self, include_flagged: bool) -> bool {
        fits_rule(
            self.ok,
            self.warmup,
            || self.flags.is_empty(),
            include_flagged,
        )
    }
}

/// [`RunRow::usable`] of the row `r` would make, without making it.
#[must_use]
pub fn usable(r: &RunCost, include_flagged: bool) -> bool {
    fits_rule(r.ok, r.warmup, || flags(r).is_empty(), include_flagged)
}

/// The one rule of which runs go into fits, for a row and for the run it is made from.
fn fits_rule(
    ok: bool,
    warmup: bool,
    unflagged: impl FnOnce() -> bool,
    include_flagged: bool,
) -> bool {
    ok && !warmup && (include_flagged || unflagged())
}

fn energy_note(r: &RunCost) -> String {
    let energy: Vec<String> = r
        .trust
        .reasons
        .iter()
        .filter(|u| {
            matches!(
                u,
                Untrusted::NoEnergy
                    | Untrusted::EnergyCoverage { .. }
                    | Untrusted::NoPowerBaseline
                    | Untrusted::PowerBaselineCoverage { .. }
                    | Untrusted::CooldownCapped
            )
        })
        .map(ToString::to_string)
        .collect();
    if energy.is_empty() {
        "no measured energy".into()
    } else {
        energy.join("; ")
    }
}

/// The trust flags: what makes the run's figures unfit for a law. No power sensor at all
/// is not a flag (the CPU and RAM figures stand); too little coverage of one is.
fn flags(r: &RunCost) -> Vec<String> {
    let mut out = Vec::new();
    if r.conditions.throttled() {
        out.push("throttled".to_owned());
    }
    if r.conditions.under_voltage() {
        out.push("under-voltage".to_owned());
    }
    for u in &r.trust.reasons {
        match u {
            Untrusted::EnergyCoverage { .. } | Untrusted::UsageCoverage { .. } => {
                out.push(u.to_string());
            }
            Untrusted::CooldownCapped => out.push("cooldown ended by its cap".to_owned()),
            Untrusted::NoSamples
            | Untrusted::BusyBaseline { .. }
            | Untrusted::LeadInLost
            | Untrusted::NoUsageBaseline => {
                out.push(u.to_string());
            }
            Untrusted::NoEnergy
            | Untrusted::NoPowerBaseline
            | Untrusted::PowerBaselineCoverage { .. } => {}
        }
    }
    if r.cooldown_capped && !out.iter().any(|f| f.starts_with("cooldown")) {
        out.push("cooldown ended by its cap".to_owned());
    }
    out
}
