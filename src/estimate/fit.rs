//! `edgewatt calibrate`'s fit: the estimate's coefficients from rows with measured energy,
//! by least squares with k-fold cross-validation, and the errors before and after.
//!
//! The fit is on **mean power**: `E/T = P_idle + a·CPU_AUC/T + b·RAM_AUC/T [+ c·CPU·GHz_AUC/T]`
//! by ordinary least squares. It has the same coefficients as the energy equation, but
//! every run weighs the same whatever its length (a fit on energy lets the longest runs
//! decide), and P_idle is an ordinary intercept.

use super::apply::energy_j;
use super::apply::regressors;
use super::lsq::solve;
use super::Calibration;
use super::Coefficients;
use super::Provenance;
use crate::cost::RowKind;
use crate::cost::RunCost;

/// Fewest rows with trusted measured energy `calibrate` fits.
pub const MIN_POINTS: usize = 8;
/// Narrowest span of mean machine CPU % over the rows, percentage points.
pub const MIN_LOAD_SPAN_PCT: f64 = 20.0;
/// Folds of the cross-validation (fewer when there are fewer rows).
pub const FOLDS: usize = 5;
/// The frequency term is kept only if it lowers the cross-validated RMSE of the run energy
/// by at least this share (5 %). A term that cannot lower the out-of-sample error is noise;
/// a gain below 5 % is within what another split of the same runs changes, and the simpler
/// model is then the safer one on the next runs.
pub const FREQ_TERM_MIN_GAIN: f64 = 0.05;

/// What to collect, said by every "not enough data" error.
pub const COLLECT: &str = "collect runs with `edgewatt bench plans/calibrate.toml` (idle \
lead-ins, 1 to 4 threads, LLM runs of several lengths) with a power source logging (INA219 \
or PMIC), then calibrate again";

/// Why no calibration could be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrateError {
    #[error("no runs with trusted measured energy ({excluded}): {COLLECT}")]
    NoPoints { excluded: String },
    #[error(
        "only {n} runs with trusted measured energy, at least {MIN_POINTS} needed \
         ({excluded}): {COLLECT}"
    )]
    TooFew { n: usize, excluded: String },
    #[error(
        "too narrow a load range: the runs' mean machine CPU spans {lo_pct:.1}–{hi_pct:.1} %, \
         at least {MIN_LOAD_SPAN_PCT} points needed to tell idle power from the CPU term: \
         {COLLECT}"
    )]
    NarrowLoad { lo_pct: f64, hi_pct: f64 },
    #[error(
        "the runs cannot separate the terms (CPU and RAM above idle move together, or every \
         run is alike): {COLLECT}"
    )]
    Singular,
    #[error(
        "the runs come from {n} devices ({devices}): calibrate one with --device ID, or pool \
         them into one board calibration with --pool"
    )]
    SeveralDevices { n: usize, devices: String },
}

/// One row used for the fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    pub run_id: Option<u64>,
    pub device_id: String,
    /// T s, CPU %·s, RAM MB·s, CPU·GHz %·GHz·s.
    pub x: [f64; 4],
    pub cpu_mean_pct: f64,
    /// Measured gross energy, J.
    pub energy_j: f64,
    /// The measured energy's source kind.
    pub source: String,
}

/// The rows usable for a fit (ok, trusted energy and usage, T > 0), and a count of the
/// others by reason.
#[must_use]
pub fn points(rows: &[RunCost]) -> (Vec<Point>, String) {
    let (mut failed, mut no_energy, mut untrusted) = (0, 0, 0);
    let mut out = Vec::new();
    for r in rows {
        let (x, e) = (regressors(r), r.trusted_gross_j());
        match (r.ok, r.energy.is_some(), x, e, r.cpu_mean_pct()) {
            (false, ..) => failed += 1,
            (true, false, ..) => no_energy += 1,
            (true, true, Some(x), Some(e), Some(u)) if x[0] > 0.0 && e > 0.0 => {
                out.push(Point {
                    label: r.label.clone(),
                    run_id: r.run_id,
                    device_id: r.device_id.clone().unwrap_or_default(),
                    x,
                    cpu_mean_pct: u,
                    energy_j: e,
                    source: r.energy_source_kind().unwrap_or("").to_owned(),
                });
            }
            _ => untrusted += 1,
        }
    }
    let idle = rows.iter().filter(|r| r.kind == RowKind::Idle).count();
    let excluded = format!(
        "{} rows read ({idle} idle lead-ins); left out: {failed} failed, {no_energy} without \
         measured energy, {untrusted} with untrusted energy or usage",
        rows.len()
    );
    (out, excluded)
}

/// Errors of estimated against measured run energy.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorSummary {
    pub n: usize,
    /// Mean absolute percentage error, %.
    pub mape_pct: f64,
    /// Mean signed percentage error (estimate − measured), %.
    pub bias_pct: f64,
    /// R² of the estimate against the measured energy.
    pub r2: f64,
    /// RMSE of the energy, J.
    pub rmse_j: f64,
    /// The row with the largest percentage error: its label, run id and error, %.
    pub worst: (String, Option<u64>, f64),
}

/// The errors of `estimated` (one per point) against the points' measured energy.
#[must_use]
pub fn errors(points: &[Point], estimated: &[f64]) -> ErrorSummary {
    let n = points.len().min(estimated.len()).max(1) as f64;
    let pct: Vec<f64> = points
        .iter()
        .zip(estimated)
        .map(|(p, e)| (e - p.energy_j) / p.energy_j * 100.0)
        .collect();
    let mean = points.iter().map(|p| p.energy_j).sum::<f64>() / n;
    let ss_tot: f64 = points.iter().map(|p| (p.energy_j - mean).powi(2)).sum();
    let ss_res: f64 = points
        .iter()
        .zip(estimated)
        .map(|(p, e)| (e - p.energy_j).powi(2))
        .sum();
    let worst = pct
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .map_or((String::new(), None, 0.0), |(i, &e)| {
            (points[i].label.clone(), points[i].run_id, e)
        });
    ErrorSummary {
        n: pct.len(),
        mape_pct: pct.iter().map(|e| e.abs()).sum::<f64>() / n,
        bias_pct: pct.iter().sum::<f64>() / n,
        r2: if ss_tot > 0.0 { 1.0 - ss_res / ss_tot } else { 0.0 },
        rmse_j: (ss_res / n).sqrt(),
        worst,
    }
}

/// Estimates of the points by `m`, J.
#[must_use]
pub fn estimate_all(m: &Coefficients, points: &[Point]) -> Vec<f64> {
    points.iter().map(|p| energy_j(m, p.x).0).collect()
}

/// Least squares on mean power; `freq`: with the frequency term.
fn fit_points(points: &[&Point], freq: bool) -> Option<Coefficients> {
    let rows: Vec<Vec<f64>> = points
        .iter()
        .map(|p| {
            let t = p.x[0];
            let mut r = vec![1.0, p.x[1] / t, p.x[2] / t];
            if freq {
                r.push(p.x[3] / t);
            }
            r
        })
        .collect();
    let y: Vec<f64> = points.iter().map(|p| p.energy_j / p.x[0]).collect();
    let beta = solve(&rows, &y)?;
    Some(Coefficients {
        idle_w: beta[0],
        cpu_w_per_pct: beta[1],
        ram_w_per_mb: beta[2],
        cpu_ghz_w_per_pct_ghz: beta.get(3).copied(),
    })
}

/// k-fold cross-validated estimates (point i is in fold i mod k); `None` if a fold's fit
/// is singular.
fn cross_validate(points: &[Point], freq: bool, folds: usize) -> Option<Vec<f64>> {
    let mut out = vec![0.0; points.len()];
    for f in 0..folds {
        let train: Vec<&Point> = points
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds != f)
            .map(|(_, p)| p)
            .collect();
        let m = fit_points(&train, freq)?;
        for (i, p) in points.iter().enumerate().filter(|(i, _)| i % folds == f) {
            out[i] = energy_j(&m, p.x).0;
        }
    }
    Some(out)
}

/// A fitted calibration and how well it does.
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    pub calibration: Calibration,
    pub points: usize,
    pub folds: usize,
    /// Cross-validated errors without and with the frequency term (`None`: no frequency
    /// readings, or the term cannot be separated from the CPU term).
    pub cv: ErrorSummary,
    pub cv_freq: Option<ErrorSummary>,
    pub freq_kept: bool,
    /// The fitted coefficients on all the points.
    pub in_sample: ErrorSummary,
}

/// What the fitted calibration is called and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct FitMeta {
    pub id: String,
    /// The device it is for; empty for a pooled (board) fit.
    pub device_id: String,
    pub fitted_at: String,
    pub description: String,
}

/// Fits the coefficients to `points` (see the module doc), checking there are enough with
/// a wide enough load range.
/// `excluded` says which rows were left out (from [`points`]), for the errors.
pub fn fit(points: &[Point], excluded: &str, meta: FitMeta) -> Result<FitReport, CalibrateError> {
    check(points, excluded)?;
    let folds = FOLDS.min(points.len());
    let all: Vec<&Point> = points.iter().collect();
    let base = fit_points(&all, false).ok_or(CalibrateError::Singular)?;
    let cv = errors(
        points,
        &cross_validate(points, false, folds).ok_or(CalibrateError::Singular)?,
    );
    let has_freq = points.iter().any(|p| p.x[3] != 0.0);
    let freq_fit = has_freq
        .then(|| Some((fit_points(&all, true)?, cross_validate(points, true, folds)?)))
        .flatten();
    let cv_freq = freq_fit.as_ref().map(|(_, est)| errors(points, est));
    let freq_kept = cv_freq
        .as_ref()
        .is_some_and(|f| f.rmse_j <= (1.0 - FREQ_TERM_MIN_GAIN) * cv.rmse_j);
    let (model, cv_kept) = match (&freq_fit, &cv_freq) {
        (Some((m, _)), Some(e)) if freq_kept => (*m, e.clone()),
        _ => (base, cv.clone()),
    };
    let mut sources: Vec<&str> = points.iter().map(|p| p.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    let calibration = Calibration {
        id: meta.id,
        board_average: meta.device_id.is_empty(),
        device_id: meta.device_id,
        description: meta.description,
        model,
        provenance: Provenance {
            fitted_at: meta.fitted_at,
            runs: points.len() as u64,
            energy_source: sources.join(", "),
            cv_mape_pct: Some(cv_kept.mape_pct),
            cv_folds: folds as u32,
            reference: String::new(),
        },
        pmic_to_total: None,
    };
    let in_sample = errors(points, &estimate_all(&model, points));
    Ok(FitReport {
        calibration,
        points: points.len(),
        folds,
        cv,
        cv_freq,
        freq_kept,
        in_sample,
    })
}

fn check(points: &[Point], excluded: &str) -> Result<(), CalibrateError> {
    if points.is_empty() {
        return Err(CalibrateError::NoPoints {
            excluded: excluded.to_owned(),
        });
    }
    let lo = points.iter().map(|p| p.cpu_mean_pct).fold(f64::INFINITY, f64::min);
    let hi = points.iter().map(|p| p.cpu_mean_pct).fold(f64::NEG_INFINITY, f64::max);
    if points.len() < MIN_POINTS {
        return Err(CalibrateError::TooFew {
            n: points.len(),
            excluded: excluded.to_owned(),
        });
    }
    if hi - lo < MIN_LOAD_SPAN_PCT {
        return Err(CalibrateError::NarrowLoad {
            lo_pct: lo,
            hi_pct: hi,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
