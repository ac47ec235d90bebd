//! Energy (or, without a meter, time) per phase, per device, model and workload.

use serde::Serialize;

use super::groups;
use super::groups::WorkloadNames;
use crate::cost::RunCost;
use crate::cost::PHASES;
use crate::derive::energy::MinCoverage;
use crate::record::RunPhase;

/// The mean cost of each phase of one group's runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseCost {
    pub device: String,
    pub model: String,
    /// The workload's name (`plan/workload` where its name is in several plans).
    pub workload: String,
    /// The plan the workload is in.
    pub plan: String,
    pub runs: usize,
    /// `J` (measured net energy, every run measured, each of its phases covered at least
    /// the threshold) or `s` (time: no trusted measured energy on some run or phase; the
    /// estimate is per run, not per phase).
    pub unit: &'static str,
    /// The phases' names, in [`PHASES`] order.
    pub phases: Vec<&'static str>,
    /// Mean per phase (0 for a phase the runs do not have).
    pub mean: Vec<f64>,
}

/// The measured net energy of `phase` of a run whose net energy is trusted, J, if the
/// phase's own figure is trusted too: a gap the run's coverage allows may fall in one
/// short phase and leave it mostly uncovered.
pub(super) fn trusted_net_j(r: &RunCost, phase: RunPhase, min: MinCoverage) -> Option<f64> {
    let e = r.energy.as_ref().filter(|_| r.trust.energy_net)?;
    let w = e.phase(phase)?;
    w.check_net(e.baseline.as_ref(), min).ok()?;
    w.net_j()
}

/// Each phase's net energy, J (0 for a phase the run does not have); `None` unless every
/// phase it has is trusted.
fn measured(r: &RunCost, min: MinCoverage) -> Option<Vec<f64>> {
    let e = r.energy.as_ref().filter(|_| r.trust.energy_net)?;
    PHASES
        .iter()
        .map(|&p| match e.phase(p) {
            None => Some(0.0),
            Some(_) => Some(trusted_net_j(r, p, min)?.max(0.0)),
        })
        .collect()
}

fn seconds(r: &RunCost) -> Vec<f64> {
    r.phase_s.iter().map(|s| s.unwrap_or(0.0)).collect()
}

/// Per device, model and workload.
pub fn phase_costs<'r>(
    used: &[&'r RunCost],
    names: &WorkloadNames<'r>,
    min: MinCoverage,
) -> Vec<PhaseCost> {
    groups::group_by(used, |r| {
        (
            groups::device_name(r),
            groups::model_name(r),
            (names.of_run(r), r.plan.as_str()),
        )
    })
    .into_iter()
    .map(|((device, model, (workload, plan)), runs)| {
        let energy: Option<Vec<Vec<f64>>> = runs.iter().map(|r| measured(r, min)).collect();
        let (unit, values) = match energy {
            Some(v) => ("J", v),
            None => ("s", runs.iter().map(|r| seconds(r)).collect()),
        };
        let n = values.len().max(1) as f64;
        let mean = (0..PHASES.len())
            .map(|i| values.iter().map(|v| v[i]).sum::<f64>() / n)
            .collect();
        PhaseCost {
            device: device.to_owned(),
            model: model.into_owned(),
            workload: workload.into_owned(),
            plan: plan.to_owned(),
            runs: runs.len(),
            unit,
            phases: PHASES.iter().map(|p| p.name()).collect(),
            mean,
        }
    })
    .collect()
}
