//! The LLM law: cost vs prompt tokens, y = a + b·tokens, per device, model, workload and
//! thread count, over runs without an image.

use serde::Serialize;

use super::groups;
use super::groups::WorkloadNames;
use super::Ci;
use super::Metric;
use crate::analysis::fit::fit_linear;
use crate::analysis::fit::mean_ci;
use crate::analysis::fit::LinearFit;
use crate::cost::RunCost;
use crate::derive::energy::MinCoverage;
use crate::record::RunPhase;

/// The metrics of the token law, in the order shown.
pub const LLM_METRICS: [Metric; 7] = [
    Metric::CpuAuc,
    Metric::RamAuc,
    Metric::WorkerRssAuc,
    Metric::EnergyMeasured,
    Metric::EnergyEstimated,
    Metric::Time,
    Metric::PrefillTime,
];

/// One fitted line y = a + b·x (or why there is none).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LawFit {
    pub metric: Metric,
    /// `measured:<source>` / `estimate:<calibration id>` for energy.
    pub source: Option<String>,
    pub n: usize,
    pub intercept: Option<Ci>,
    /// Per prompt token (the J per token of an energy law).
    pub slope: Option<Ci>,
    pub r2: Option<f64>,
    /// Why there is no fit, and what to do.
    pub problem: Option<String>,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    #[serde(skip)]
    pub fit: Option<LinearFit>,
}

impl LawFit {
    /// Fits `metric` against `x_of` over `runs` (runs without a trusted value are left out).
    pub fn fit(runs: &[&RunCost], metric: Metric, x_of: impl Fn(&RunCost) -> Option<f64>) -> Self {
        let points: Vec<(f64, f64, &RunCost)> = runs
            .iter()
            .filter_map(|r| Some((x_of(r)?, metric.of(r)?, *r)))
            .collect();
        let x: Vec<f64> = points.iter().map(|p| p.0).collect();
        let y: Vec<f64> = points.iter().map(|p| p.1).collect();
        let mut out = Self {
            metric,
            source: metric.sources(points.iter().map(|p| p.2)),
            n: x.len(),
            intercept: None,
            slope: None,
            r2: None,
            problem: None,
            x,
            y,
            fit: None,
        };
        if out.n == 0 {
            out.problem = Some(format!("no run has a trusted {}", metric.label()));
            return out;
        }
        match fit_linear(&out.x, &out.y) {
            Ok(f) => {
                out.intercept = Some(Ci::of(&f.intercept));
                out.slope = Some(Ci::of(&f.slope));
                out.r2 = f.r2;
                out.fit = Some(f);
            }
            Err(e) => out.problem = Some(e.to_string()),
        }
        out
    }
}

/// The token law of one device, model, workload and thread count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmLaw {
    pub device: String,
    pub model: String,
    /// The workload's name (`plan/workload` where its name is in several plans).
    pub workload: String,
    /// The plan the workload is in.
    pub plan: String,
    pub threads: u32,
    pub runs: usize,
    /// Distinct prompt lengths among the runs.
    pub prompt_lengths: Vec<u32>,
    pub fits: Vec<LawFit>,
    /// Decode seconds per generated token (mean, 95 % CI).
    pub decode_s_per_token: Option<Ci>,
    /// Measured net decode energy per generated token, J (mean, 95 % CI).
    pub decode_j_per_token: Option<Ci>,
    /// Measured net prefill energy per prompt token, J (mean, 95 % CI).
    pub prefill_j_per_token: Option<Ci>,
    /// Why any of the three means is missing.
    pub decode_notes: Vec<String>,
}

impl LlmLaw {
    /// The fit of `metric`.
    #[must_use]
    pub fn get(&self, metric: Metric) -> Option<&LawFit> {
        self.fits.iter().find(|f| f.metric == metric)
    }
}

fn tokens(r: &RunCost) -> Option<f64> {
    Some(f64::from(r.prompt_tokens))
}

/// The mean of `values` (with its CI), or `None` with why in `notes`: `what`s, then why
/// (those missing for the same reason in one note).
fn mean_of(what: &str, values: &[f64], notes: &mut Vec<(String, String)>) -> Option<Ci> {
    let mut note = |why: String| match notes.iter_mut().find(|(_, w)| *w == why) {
        Some((whats, _)) => *whats = format!("{whats}, {what}"),
        None => notes.push((what.to_owned(), why)),
    };
    if values.is_empty() && what.contains("J/token") {
        // No point at all: not too few runs, no energy to divide.
        note(
            "no run has a trusted measured net energy of this phase (no INA219 or PMIC, \
              or too little coverage)"
                .to_owned(),
        );
        return None;
    }
    match mean_ci(values) {
        Ok(e) => {
            // A mean of figures that cannot be negative whose CI reaches below 0: few or
            // spread runs; said, not clamped (rev-c: [-0.072, 0.166] s/token, n = 2).
            if e.ci.lo < 0.0 && values.iter().all(|&v| v >= 0.0) {
                note(format!(
                    "the CI reaches below 0 over {} runs: more runs narrow it",
                    values.len()
                ));
            }
            Some(Ci::of(&e))
        }
        Err(e) => {
            note(e.to_string());
            None
        }
    }
}

/// Measured net energy of `phase` per token, J: `None` unless the phase's own figure is
/// trusted (its coverage, not only the run's, at least `min`).
fn phase_j_per_token(r: &RunCost, phase: RunPhase, tokens: u32, min: MinCoverage) -> Option<f64> {
    let net = super::phases::trusted_net_j(r, phase, min)?;
    (tokens > 0).then(|| net / f64::from(tokens))
}

/// The token laws of the runs without an image.
pub fn laws<'r>(used: &[&'r RunCost], names: &WorkloadNames<'r>, min: MinCoverage) -> Vec<LlmLaw> {
    let text: Vec<&RunCost> = used
        .iter()
        .copied()
        .filter(|r| r.image_width.is_none() && r.image_tokens.is_none())
        .collect();
    let groups = groups::group_by(&text, |r| {
        (
            groups::device_name(r),
            groups::model_name(r),
            (names.of_run(r), r.plan.as_str()),
            r.threads,
        )
    });
    groups
        .into_iter()
        .map(|((device, model, (workload, plan), threads), runs)| {
            let mut lengths: Vec<u32> = runs.iter().map(|r| r.prompt_tokens).collect();
            lengths.sort_unstable();
            lengths.dedup();
            let decode_s: Vec<f64> = runs
                .iter()
                .filter(|r| r.generated_tokens > 0)
                .filter_map(|r| Some(r.phase_s[4]? / f64::from(r.generated_tokens)))
                .collect();
            let decode_j: Vec<f64> = runs
                .iter()
                .filter_map(|r| phase_j_per_token(r, RunPhase::Decode, r.generated_tokens, min))
                .collect();
            let prefill_j: Vec<f64> = runs
                .iter()
                .filter_map(|r| phase_j_per_token(r, RunPhase::Prefill, r.prompt_tokens, min))
                .collect();
            let mut decode_notes = Vec::new();
            let decode_s_per_token = mean_of("decode s/token", &decode_s, &mut decode_notes);
            let decode_j_per_token = mean_of("decode J/token", &decode_j, &mut decode_notes);
            let prefill_j_per_token = mean_of("prefill J/token", &prefill_j, &mut decode_notes);
            LlmLaw {
                device: device.to_owned(),
                model: model.into_owned(),
                plan: plan.to_owned(),
                workload: workload.into_owned(),
                threads,
                runs: runs.len(),
                prompt_lengths: lengths,
                fits: LLM_METRICS
                    .iter()
                    .map(|&m| LawFit::fit(&runs, m, tokens))
                    .collect(),
                decode_s_per_token,
                decode_j_per_token,
                prefill_j_per_token,
                decode_notes: decode_notes
                    .into_iter()
                    .map(|(whats, why)| format!("{whats}: {why}"))
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mean of positive figures whose CI reaches below 0 says so; one that does not, or
    /// that cannot be taken, says what it says.
    #[test]
    fn a_ci_below_zero_of_a_positive_figure_is_noted() {
        let mut notes = Vec::new();
        let wide = mean_of("decode s/token", &[0.02, 0.08], &mut notes).unwrap();
        assert!(wide.lo < 0.0, "{wide:?}");
        mean_of("decode J/token", &[0.1, 0.5], &mut notes);
        assert_eq!(
            notes,
            [(
                "decode s/token, decode J/token".to_owned(),
                "the CI reaches below 0 over 2 runs: more runs narrow it".to_owned()
            )]
        );
        let mut notes = Vec::new();
        assert!(mean_of("x", &[1.0, 1.01, 0.99], &mut notes).is_some());
        assert!(mean_of("y", &[1.0], &mut notes).is_none());
        assert_eq!(notes.len(), 1);
        assert!(notes[0].1.contains("2"), "{notes:?}");
    }
}
