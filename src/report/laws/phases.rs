//! Energy (or, without a meter, time) per phase, per device, model and workload.

use serde::Serialize;

use super::groups;
use crate::cost::RunCost;
use crate::cost::PHASES;

/// The mean cost of each phase of one group's runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseCost {
    pub device: String,
    pub model: String,
    pub workload: String,
    pub runs: usize,
    /// `J` (measured net energy, every run measured) or `s` (time: no trusted measured
    /// energy on some run; the estimate is per run, not per phase).
    pub unit: &'static str,
    /// The phases' names, in [`PHASES`] order.
    pub phases: Vec<&'static str>,
    /// Mean per phase (0 for a phase the runs do not have).
    pub mean: Vec<f64>,
}

fn measured(r: &RunCost) -> Option<Vec<f64>> {
    let e = r.energy.as_ref().filter(|_| r.trust.energy_net)?;
    PHASES
        .iter()
        .map(|p| Some(e.phase(*p).map_or(Some(0.0), |w| w.net_j())?.max(0.0)))
        .collect()
}

fn seconds(r: &RunCost) -> Vec<f64> {
    r.phase_s.iter().map(|s| s.unwrap_or(0.0)).collect()
}

/// Per device, model and workload.
pub fn phase_costs(used: &[&RunCost]) -> Vec<PhaseCost> {
    groups::group_by(used, |r| {
        (
            groups::device_name(r),
            groups::model_name(r),
            r.workload.as_str(),
        )
    })
    .into_iter()
    .map(|((device, model, workload), runs)| {
        let energy: Option<Vec<Vec<f64>>> = runs.iter().map(|r| measured(r)).collect();
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
            workload: workload.to_owned(),
            runs: runs.len(),
            unit,
            phases: PHASES.iter().map(|p| p.name()).collect(),
            mean,
        }
    })
    .collect()
}
