//! What `edgewatt calibrate` prints: the errors before (each device's calibration in use)
//! and after the fit, the model, its optional terms and the PMIC mapping.

use std::io::Write as _;
use std::path::Path;

use super::CalibrateArgs;
use crate::analysis::chart::signed;
use crate::cli::cost_args::calibrations_or_board_of;
use crate::config::Config;
use crate::estimate::fit::estimate_all;
use crate::estimate::fit::FitReport;
use crate::estimate::fit::Point;
use crate::estimate::fit::RunErrors;
use crate::estimate::import::Excluded;
use crate::estimate::pmic;
use crate::estimate::Calibration;

/// A device id as a message says it: an empty one (a damaged segment header) as
/// "unknown device".
pub(super) fn shown_device(id: &str) -> &str {
    if id.is_empty() {
        "unknown device"
    } else {
        id
    }
}

/// The errors of `e` on one line; the worst run names its device when the fit pools
/// several (`pooled`), which may each have a run of that label and id.
pub(super) fn summary_line(name: &str, e: &RunErrors, pooled: bool) -> String {
    let s = &e.summary;
    let r2 = s.r2.map_or_else(|| "-".to_owned(), |r| format!("{r:.4}"));
    let device = pooled.then_some(shown_device(&e.worst_device));
    let id = match (device, e.worst_run_id) {
        (Some(d), Some(i)) => format!(" ({d}, run {i})"),
        (Some(d), None) => format!(" ({d})"),
        (None, Some(i)) => format!(" (run {i})"),
        (None, None) => String::new(),
    };
    // The bias % is the mean of each run's error %, the J the mean error: their signs may
    // differ (a small run's error weighs more in %); a figure that rounds to 0 has none.
    format!(
        "{name}: MAPE {:.2} %, bias {} % ({} J), R² {r2}, RMSE {:.3} J, worst run {}{id} {} %",
        s.mape_pct,
        signed(s.bias_pct, 2),
        signed(s.bias, 3),
        s.rmse,
        e.worst_label,
        signed(s.worst.error_pct, 2)
    )
}

/// The estimates the errors before are of, and what made them: each run's by the
/// calibration its device's estimates use now (its own file, else the fallback).
pub(super) fn before(
    cfg: &Config,
    args: &CalibrateArgs,
    pts: &[Point],
) -> anyhow::Result<(String, Vec<f64>)> {
    let mut devices: Vec<String> = pts
        .iter()
        .map(|p| p.device_id.clone())
        .filter(|d| !d.is_empty())
        .collect();
    devices.sort();
    devices.dedup();
    // As `report`: a file that cannot be used (bad values, another device's unless
    // --force-calibration) is told, and its devices' errors before are the board average's;
    // refusing would leave no way to the fit that replaces it.
    let (cals, said) = calibrations_or_board_of(cfg, &args.cost, &devices);
    for line in said {
        eprintln!("edgewatt: calibrate: {line}");
    }
    let board = Calibration::pi5_board_average();
    let cal_of = |d: &str| cals.for_device(Some(d)).unwrap_or(&board);
    let estimates = pts
        .iter()
        .map(|p| estimate_all(&cal_of(&p.device_id).model, std::slice::from_ref(p))[0])
        .collect();
    let mut used: Vec<String> = Vec::new();
    for p in pts {
        let cal = cal_of(&p.device_id);
        let kind = if cal.board_average {
            ", board average"
        } else {
            ""
        };
        let name = format!("{}{kind}", cal.source());
        if !used.contains(&name) {
            used.push(name);
        }
    }
    let name = match used.as_slice() {
        [] => format!("{}, board average", board.source()),
        [one] => one.clone(),
        many => format!("each device's own: {}", many.join("; ")),
    };
    Ok((name, estimates))
}

/// Prints the fit of `report` (`idle`: its idle lead-ins; `pooled`: of several devices).
pub(super) fn print(
    report: &FitReport,
    (idle, pooled): (usize, bool),
    before_name: &str,
    before: &RunErrors,
    excluded: &Excluded,
    mapping: Option<&Result<crate::estimate::PmicMapping, pmic::MappingError>>,
    path: &Path,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let cal = &report.calibration;
    let m = &cal.model;
    writeln!(
        out,
        "calibrate: {} runs fitted, {idle} of them idle lead-ins ({excluded})",
        report.points
    )?;
    writeln!(
        out,
        "{}",
        summary_line(&format!("before ({before_name})"), before, pooled)
    )?;
    writeln!(
        out,
        "{}",
        summary_line(
            &format!("after ({}, in-sample)", cal.source()),
            &report.in_sample,
            pooled
        )
    )?;
    let cv = if report.freq_kept {
        report.cv_freq.as_ref().unwrap_or(&report.cv)
    } else {
        &report.cv
    };
    writeln!(
        out,
        "{}",
        summary_line(
            &format!(
                "after ({}, {}-fold cross-validated)",
                cal.source(),
                report.folds
            ),
            cv,
            pooled
        )
    )?;
    writeln!(
        out,
        "model: E = {:.4} W·T + {:.6} W/%·CPU_AUC + {:.7} W/MB·RAM_AUC{}",
        m.idle_w,
        m.cpu_w_per_pct,
        m.ram_w_per_mb,
        m.cpu_ghz_w_per_pct_ghz
            .map_or_else(String::new, |c| format!(" + {c:.7} W/(%·GHz)·CPU·GHz_AUC"))
    )?;
    for line in terms(report) {
        writeln!(out, "{line}")?;
    }
    match mapping {
        None if cal.provenance.energy_source == "pmic" => writeln!(
            out,
            "PMIC→INA219: none: this fit is against the PMIC, so its estimates are of the \
             PMIC's power (log an INA219 beside it to fit the whole board's)"
        )?,
        None => writeln!(
            out,
            "PMIC→INA219: not fitted (exported runs hold no power readings)"
        )?,
        Some(Ok(p)) => writeln!(
            out,
            "PMIC→INA219: total ≈ {:.4}·ΣPMIC + {:.4} W over {} paired seconds, R² {:.4}",
            p.k, p.c_w, p.pairs, p.r2
        )?,
        Some(Err(e)) => writeln!(out, "PMIC→INA219: not fitted: {e}")?,
    }
    writeln!(out, "wrote {} ({})", path.display(), cal.source())?;
    Ok(())
}

/// What became of the optional terms: the frequency term, and the RAM term if dropped.
fn terms(report: &FitReport) -> Vec<String> {
    let freq = match &report.cv_freq {
        None => "not fitted (no frequency readings, or not separable from the CPU term)".to_owned(),
        Some(f) if report.freq_unphysical => format!(
            "left out: with it a coefficient fits below 0 (more load or clock cannot draw less \
             power; cross-validated RMSE {:.3} J with it, {:.3} J without)",
            f.summary.rmse, report.cv.summary.rmse,
        ),
        Some(f) => format!(
            "{} (cross-validated RMSE {:.3} J with it, {:.3} J without; kept only if ≥ {:.0} % lower)",
            if report.freq_kept { "kept" } else { "left out" },
            f.summary.rmse,
            report.cv.summary.rmse,
            crate::estimate::fit::FREQ_TERM_MIN_GAIN * 100.0
        ),
    };
    let mut out = vec![format!("frequency term: {freq}")];
    if let Some(ram) = report.ram_dropped {
        out.push(format!(
            "RAM term: dropped: it fitted {ram:.7} W/MB, below 0 (RAM used hardly varies \
             over these runs); the rest fitted again without it"
        ));
    }
    out
}
