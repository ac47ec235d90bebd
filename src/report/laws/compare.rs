//! Base vs compressed: the workloads a plan pairs.

use std::collections::HashMap;
use std::collections::HashSet;

use serde::Serialize;

use super::groups;
use super::groups::WorkloadNames;
use super::Ci;
use super::Metric;
use crate::analysis::fit::mean_ci;
use crate::analysis::fit::output_agreement;
use crate::analysis::fit::ratio_of_case_means;
use crate::analysis::fit::ratio_of_means;
use crate::analysis::fit::FitError;
use crate::analysis::fit::RatioCi;
use crate::cost::RunCost;

/// One line of the base-vs-compressed table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareRow {
    /// `cpu_auc`, `ram_auc`, `energy_measured`, `energy_estimated` or `throughput`.
    pub what: String,
    pub source: Option<String>,
    pub n_base: usize,
    pub n_other: usize,
    pub mean_base: Option<f64>,
    pub mean_other: Option<f64>,
    /// (other/base − 1)·100 with its Fieller CI.
    pub pct_change: Option<Ci>,
    /// How the means and the CI were taken: `case means` (each model's mean is the mean
    /// of its cases' means, the CI from the noise within cases:
    /// [`ratio_of_case_means`]), or `runs pooled` (no case run twice by a model: its runs
    /// are one sample, and the spread between cases widens the CI).
    pub method: Option<&'static str>,
    /// other/base with its Fieller CI (throughput reads this: 2.6×).
    pub ratio: Option<Ci>,
    pub problem: Option<String>,
}

/// Each case's values of the base and of the other model.
type Cases = Vec<(Vec<f64>, Vec<f64>)>;

/// The ratio of `cases`' values (base, other; one entry per case both ran) by case means,
/// or, when a model ran no case twice, by its runs pooled.
fn ratio(cases: &Cases) -> (Result<RatioCi, FitError>, Option<&'static str>) {
    let by_case: Vec<(&[f64], &[f64])> = cases
        .iter()
        .map(|(b, o)| (b.as_slice(), o.as_slice()))
        .collect();
    match ratio_of_case_means(&by_case) {
        Err(FitError::TooFewPoints { needed: 2, .. }) => {
            let base: Vec<f64> = cases.iter().flat_map(|c| c.0.iter().copied()).collect();
            let other: Vec<f64> = cases.iter().flat_map(|c| c.1.iter().copied()).collect();
            let r = ratio_of_means(&base, &other);
            let method = r.is_ok().then_some("runs pooled");
            (r, method)
        }
        r => {
            let method = r.is_ok().then_some("case means");
            (r, method)
        }
    }
}

impl CompareRow {
    /// The row of `what` (`label` in words) over each case's values of the base and of
    /// the other model.
    fn of(what: &str, label: &str, source: Option<String>, cases: &Cases) -> Self {
        let both: Cases = cases
            .iter()
            .filter(|(b, o)| !b.is_empty() && !o.is_empty())
            .cloned()
            .collect();
        let runs = |f: fn(&(Vec<f64>, Vec<f64>)) -> usize| both.iter().map(f).sum();
        let mut out = Self {
            what: what.into(),
            source,
            n_base: runs(|c| c.0.len()),
            n_other: runs(|c| c.1.len()),
            mean_base: None,
            mean_other: None,
            pct_change: None,
            method: None,
            ratio: None,
            problem: None,
        };
        // Runs without the figure (no worker sampled, no meter) are not too few runs.
        let without = match (
            cases.iter().all(|c| c.0.is_empty()),
            cases.iter().all(|c| c.1.is_empty()),
        ) {
            (true, true) => Some("of either model"),
            (true, false) => Some("of the base model"),
            (false, true) => Some("of the compressed model"),
            (false, false) => None,
        };
        if let Some(whose) = without {
            out.problem = Some(format!("no run {whose} has a trusted {label}"));
            return out;
        }
        let (result, method) = ratio(&both);
        out.method = method;
        match result {
            Ok(r) => {
                out.mean_base = Some(r.mean_base);
                out.mean_other = Some(r.mean_other);
                out.pct_change = Some(Ci::with(r.pct_change, r.pct_change_ci));
                out.ratio = Some(Ci::with(r.ratio, r.ratio_ci));
            }
            // Too few runs counts the cases both ran alone: say so (rev-c: "the base model
            // needs 2 or more runs" beside a base of two runs, one of them in a case the
            // other model never ran).
            Err(FitError::TooFewPoints { .. }) if both.is_empty() => {
                out.problem = Some(
                    "no case (prompt length, image size) was run by both models: run the \
                     base's cases with the compressed model too"
                        .into(),
                );
            }
            Err(e @ FitError::TooFewPoints { .. }) => {
                let k = both.len();
                out.problem = Some(format!(
                    "{e}, in the case{} both models ran ({k}: {} and {} runs there)",
                    if k == 1 { "" } else { "s" },
                    out.n_base,
                    out.n_other
                ));
            }
            Err(e) => out.problem = Some(e.to_string()),
        }
        out
    }
}

/// A workload against the base its plan names, over the cases both ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub device: String,
    pub plan: String,
    /// The base's workload and the compared one, named as every section names them
    /// (`plan/workload` where the name alone is in several plans).
    pub base_workload: String,
    pub base_model: String,
    pub workload: String,
    pub model: String,
    /// Cases (label after the workload) both ran.
    pub cases: usize,
    pub rows: Vec<CompareRow>,
    /// Mean chrF (0–1) of the outputs of the same case and repetition, with its CI.
    pub agreement: Option<Ci>,
    pub agreement_pairs: usize,
}

fn throughput(r: &RunCost) -> Option<f64> {
    let s = r.phase_s[4].filter(|s| *s > 0.0)?;
    (r.generated_tokens > 0).then(|| f64::from(r.generated_tokens) / s)
}

/// Each case's values of the base and of the other model (a case one of them has no value
/// of is left out of the ratio, not of what [`CompareRow::of`] says is missing).
fn values(base: &[&RunCost], other: &[&RunCost], f: impl Fn(&RunCost) -> Option<f64>) -> Cases {
    let mut by_case: std::collections::BTreeMap<&str, (Vec<f64>, Vec<f64>)> = Default::default();
    for (runs, other_side) in [(base, false), (other, true)] {
        for r in runs {
            if let Some(v) = f(r) {
                let entry = by_case.entry(groups::case(r)).or_default();
                if other_side {
                    &mut entry.1
                } else {
                    &mut entry.0
                }
                .push(v);
            }
        }
    }
    by_case.into_values().collect()
}

fn compare(base: &[&RunCost], other: &[&RunCost]) -> Vec<CompareRow> {
    let mut rows: Vec<CompareRow> = [
        Metric::CpuAuc,
        Metric::RamAuc,
        Metric::WorkerRssAuc,
        Metric::EnergyMeasured,
        Metric::EnergyEstimated,
    ]
    .iter()
    .map(|&m| {
        CompareRow::of(
            &serde_json::to_value(m)
                .map_or_else(|_| String::new(), |v| v.as_str().unwrap_or("").to_owned()),
            m.label(),
            m.sources(base.iter().chain(other).copied()),
            &values(base, other, |r| m.of(r)),
        )
    })
    .collect();
    rows.push(CompareRow::of(
        "throughput",
        "decode throughput (tokens/s)",
        Some("generated tokens / decode s".into()),
        &values(base, other, throughput),
    ));
    rows
}

fn agreement(base: &[&RunCost], other: &[&RunCost]) -> (Option<Ci>, usize) {
    // Each run's base: the first base run of the same case and repetition.
    let mut by_case: HashMap<(&str, u32), &RunCost> = HashMap::with_capacity(base.len());
    for b in base {
        by_case.entry((groups::case(b), b.repetition)).or_insert(*b);
    }
    let scores: Vec<f64> = other
        .iter()
        .filter_map(|o| {
            let b = by_case.get(&(groups::case(o), o.repetition))?;
            Some(output_agreement(&b.output, &o.output))
        })
        .collect();
    let ci = match scores.len() {
        0 => None,
        1 => Some(Ci {
            value: scores[0],
            lo: scores[0],
            hi: scores[0],
        }),
        _ => mean_ci(&scores).ok().map(|e| Ci::of(&e)),
    };
    (ci, scores.len())
}

/// Each workload that names a base, against that base on the same device and plan: per
/// model on each side (a workload run with Q4_1 in one session and Q2_K in another is two
/// comparisons, not one of their mix).
pub fn comparisons<'r>(used: &[&'r RunCost], names: &WorkloadNames<'r>) -> Vec<Comparison> {
    let paired: Vec<&RunCost> = used
        .iter()
        .copied()
        .filter(|r| r.base_workload.is_some())
        .collect();
    let groups = groups::group_by(&paired, |r| {
        (
            groups::device_name(r),
            r.plan.as_str(),
            r.workload.as_str(),
            r.base_workload.as_deref().unwrap_or_default(),
            groups::model_name(r),
        )
    });
    let mut out = Vec::new();
    for ((device, plan, workload, base_workload, _), mine) in groups {
        let base_all: Vec<&RunCost> = used
            .iter()
            .copied()
            .filter(|r| {
                groups::device_name(r) == device && r.plan == plan && r.workload == base_workload
            })
            .collect();
        let mut by_model = groups::group_by(&base_all, groups::model_name);
        if by_model.is_empty() {
            // No base run: a row that says so.
            by_model.push((std::borrow::Cow::Borrowed("?"), Vec::new()));
        }
        for (_, base_runs) in by_model {
            out.push(Comparison {
                device: device.to_owned(),
                plan: plan.to_owned(),
                base_workload: names.name(plan, base_workload).into_owned(),
                workload: names.name(plan, workload).into_owned(),
                ..compare_models(&base_runs, &mine)
            });
        }
    }
    out
}

/// The comparison of `mine` (one compressed model's runs) with `base_all` (one base
/// model's), on the cases both ran; device, plan and workloads left empty.
fn compare_models(base_all: &[&RunCost], mine: &[&RunCost]) -> Comparison {
    // The cases both have.
    let mine_cases: HashSet<&str> = mine.iter().map(|r| groups::case(r)).collect();
    let base: Vec<&RunCost> = base_all
        .iter()
        .copied()
        .filter(|b| mine_cases.contains(groups::case(b)))
        .collect();
    let base_cases: HashSet<&str> = base.iter().map(|r| groups::case(r)).collect();
    let other: Vec<&RunCost> = mine
        .iter()
        .copied()
        .filter(|o| base_cases.contains(groups::case(o)))
        .collect();
    let mut cases: Vec<&str> = other.iter().map(|r| groups::case(r)).collect();
    cases.sort_unstable();
    cases.dedup();
    let (agreement, agreement_pairs) = agreement(&base, &other);
    Comparison {
        base_model: base_all
            .first()
            .map_or_else(|| "?".into(), |r| groups::model(r)),
        model: mine
            .first()
            .map_or_else(|| "?".into(), |r| groups::model(r)),
        device: String::new(),
        plan: String::new(),
        base_workload: String::new(),
        workload: String::new(),
        cases: cases.len(),
        rows: compare(&base, &other),
        agreement,
        agreement_pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::CompareRow;

    #[test]
    fn a_cost_no_run_has_is_said_so_not_too_few_runs() {
        let label = "worker RSS AUC (MB·s)";
        let one_case = |base: &[f64], other: &[f64]| vec![(base.to_vec(), other.to_vec())];
        let row = |base: &[f64], other: &[f64]| {
            CompareRow::of("worker_rss_auc", label, None, &one_case(base, other))
                .problem
                .unwrap_or_default()
        };
        assert_eq!(
            row(&[], &[]),
            "no run of either model has a trusted worker RSS AUC (MB·s)"
        );
        assert_eq!(
            row(&[], &[1.0, 2.0]),
            "no run of the base model has a trusted worker RSS AUC (MB·s)"
        );
        assert_eq!(
            row(&[1.0, 2.0], &[]),
            "no run of the compressed model has a trusted worker RSS AUC (MB·s)"
        );
        // One run is too few, and said so by the fit.
        assert!(row(&[1.0], &[1.0, 2.0]).contains("the base model needs 2 or more runs"));
        assert!(
            row(&[1.0], &[1.0, 2.0])
                .contains("in the case both models ran (1: 1 and 2 runs there)"),
            "{}",
            row(&[1.0], &[1.0, 2.0])
        );
        let ok = CompareRow::of(
            "cpu_auc",
            "CPU AUC (%·s)",
            None,
            &one_case(&[2.0, 2.2], &[1.0, 1.1]),
        );
        assert_eq!(ok.problem, None);
        assert!((ok.ratio.unwrap().value - 0.5).abs() < 1e-9);
    }
}
