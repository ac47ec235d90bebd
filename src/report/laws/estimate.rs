//! The estimate against measurement: per device, and apart for the runs a calibration may
//! have been fitted on (an in-sample error is optimistic) and those it cannot have been
//! ([`EnergyEstimate::held_out`](crate::cost::EnergyEstimate::held_out)).

use serde::Serialize;

use super::groups;
use crate::analysis::fit::compare_estimates;
use crate::cost::RunCost;

/// The estimate's gross energy against the measured gross energy, on one device, for the
/// runs of one kind: held out from the calibration's fit, or not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EstimateErrors {
    pub device: String,
    /// The calibration(s) used.
    pub source: String,
    pub board_average: bool,
    /// `true`: runs the calibration cannot have been fitted on (after its fit, another
    /// device's, or a published model); `false`: runs up to its fit on its device, which
    /// it may have been fitted on (the error is then in-sample); `None`: not known.
    pub held_out: Option<bool>,
    /// What the estimate is compared with: the meter, or the PMIC mapped to the whole
    /// board (`pmic-corrected:<id>`) when the calibration has that mapping.
    pub measured: String,
    pub n: usize,
    pub mape_pct: Option<f64>,
    pub bias_j: Option<f64>,
    pub bias_pct: Option<f64>,
    pub rmse_j: Option<f64>,
    pub r2: Option<f64>,
    pub worst_error_pct: Option<f64>,
    pub problem: Option<String>,
    pub estimated_j: Vec<f64>,
    pub measured_j: Vec<f64>,
}

impl EstimateErrors {
    /// Which runs the row holds, for the tables and charts.
    #[must_use]
    pub fn runs_label(&self) -> &'static str {
        match self.held_out {
            Some(true) => "held out",
            Some(false) => "up to the fit (may be in-sample)",
            None => "fit time unknown",
        }
    }
}

/// The measured gross energy the estimate of `r` is compared with, and its source: the
/// whole-board figure of the PMIC mapping when there is one (the calibration then
/// estimates the whole board: it was fitted on the INA219), else the trusted meter; over
/// the whole run (a hole in the readings at the mean power the meter saw), as the fit
/// takes it ([`RunCost::trusted_gross_over_run_j`]).
fn measured(r: &RunCost) -> Option<(f64, &str)> {
    let over_run = r.trusted_gross_over_run_j()?;
    Some(match &r.corrected {
        Some(c) => (
            r.energy.as_ref()?.run.over_window_j(c.gross_j)?,
            c.source.as_str(),
        ),
        None => (over_run, r.energy_source_kind().unwrap_or("?")),
    })
}

/// Joins the distinct values of `each` over `runs`, sorted.
fn distinct<'r>(runs: &[&'r RunCost], each: impl Fn(&'r RunCost) -> Option<&'r str>) -> String {
    let mut all: Vec<&str> = runs.iter().filter_map(|r| each(r)).collect();
    all.sort_unstable();
    all.dedup();
    all.join(", ")
}

/// Per device with estimates, and per kind of run (held out or not): how far the
/// estimates are from the measurements.
pub fn estimate_errors(used: &[&RunCost]) -> Vec<EstimateErrors> {
    let with_estimate: Vec<&RunCost> = used
        .iter()
        .copied()
        .filter(|r| r.estimate.is_some())
        .collect();
    let mut out = Vec::new();
    for (device, runs) in groups::group_by(&with_estimate, groups::device_name) {
        let held = |r: &RunCost| r.estimate.as_ref().and_then(|e| e.held_out);
        let mut kinds: Vec<Option<bool>> = runs.iter().map(|r| held(r)).collect();
        kinds.sort_unstable_by_key(|k| std::cmp::Reverse(*k));
        kinds.dedup();
        for kind in kinds {
            let mine: Vec<&RunCost> = runs.iter().copied().filter(|r| held(r) == kind).collect();
            out.push(errors_of(device, kind, &mine));
        }
    }
    out
}

/// The row of `runs` (one device, one kind).
fn errors_of(device: &str, held_out: Option<bool>, runs: &[&RunCost]) -> EstimateErrors {
    let pairs: Vec<(f64, f64)> = runs
        .iter()
        .filter_map(|r| Some((r.estimate.as_ref()?.gross_j, measured(r)?.0)))
        .collect();
    let mut out = EstimateErrors {
        device: device.to_owned(),
        source: distinct(runs, |r| r.estimate.as_ref().map(|e| e.source.as_str())),
        board_average: runs
            .iter()
            .any(|r| r.estimate.as_ref().is_some_and(|e| e.board_average)),
        held_out,
        measured: distinct(runs, |r| measured(r).map(|m| m.1)),
        n: pairs.len(),
        mape_pct: None,
        bias_j: None,
        bias_pct: None,
        rmse_j: None,
        r2: None,
        worst_error_pct: None,
        problem: None,
        estimated_j: pairs.iter().map(|p| p.0).collect(),
        measured_j: pairs.iter().map(|p| p.1).collect(),
    };
    match compare_estimates(&out.estimated_j, &out.measured_j) {
        Ok(s) => {
            out.mape_pct = Some(s.mape_pct);
            out.bias_j = Some(s.bias);
            out.bias_pct = Some(s.bias_pct);
            out.rmse_j = Some(s.rmse);
            out.r2 = s.r2;
            out.worst_error_pct = Some(s.worst.error_pct);
            if s.r2.is_none() {
                out.problem = Some(format!(
                    "no R²: the measured energy of the {} runs does not vary \
                     (runs of several lengths or loads give one)",
                    pairs.len()
                ));
            }
        }
        Err(_) if pairs.is_empty() => {
            out.problem = Some(
                "no run has trusted measured energy to check the estimate against: \
                 measure with an INA219 or the PMIC"
                    .into(),
            );
        }
        Err(e) => out.problem = Some(e.to_string()),
    }
    for note in meter_notes(runs) {
        out.problem = Some(match out.problem.take() {
            Some(p) => format!("{p}; {note}"),
            None => note,
        });
    }
    out
}

/// What `runs` say of the meters: runs measured of the PMIC's power (uncorrected) or of the
/// whole board's, against an estimate of the other. Most of their error is then the meter's.
fn meter_notes(runs: &[&RunCost]) -> Vec<String> {
    let mut out = Vec::new();
    let of_pmic = |r: &&RunCost| r.corrected.is_none() && r.energy_source_kind() == Some("pmic");
    let mismatched = |estimate_of_pmic: bool| {
        runs.iter()
            .filter(|r| r.trusted_gross_j().is_some())
            .filter(|r| {
                r.estimate
                    .as_ref()
                    .is_some_and(|e| e.of_pmic == estimate_of_pmic)
            })
            .filter(|r| of_pmic(r) != estimate_of_pmic)
            .count()
    };
    let notes = [
        (
            mismatched(false),
            "measured by the PMIC (the SoC's rails: it misses the 5 V side and reads 1-2 W \
             low) against an estimate of the whole board",
        ),
        (
            mismatched(true),
            "measured of the whole board against an estimate of the PMIC's power (a \
             calibration fitted against the PMIC)",
        ),
    ];
    for (n, what) in notes.into_iter().filter(|(n, _)| *n > 0) {
        let note = format!(
            "{n} of these runs {what}: most of their error is the meter's. Fit the \
             PMIC→INA219 mapping, or calibrate this board against the meter it has \
             (calibration/README.md)"
        );
        out.push(note);
    }
    out
}
