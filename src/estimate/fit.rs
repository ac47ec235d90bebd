//! `edgewatt calibrate`'s fit: the estimate's coefficients from rows with measured energy,
//! by least squares with k-fold cross-validation, and the errors before and after.
//!
//! The fit is on **mean power**: `E/T = P_idle + a·CPU_AUC/T + b·RAM_AUC/T [+ c·CPU·GHz_AUC/T]`
//! by ordinary least squares. It has the same coefficients as the energy equation, but
//! every run weighs the same whatever its length (a fit on energy lets the longest runs
//! decide), and P_idle is an ordinary intercept.
//!
//! **Every coefficient is a power, so none may be negative**: more load or more memory
//! cannot draw less power. A RAM term fitted below 0 (RAM used hardly moves under llama.cpp,
//! whose weights are page cache, so its coefficient is mostly noise) is dropped and the rest
//! fitted again without it; a frequency term below 0 is not kept; a CPU term or idle power
//! at or below 0 is an error saying what to collect.

use super::apply::energy_j;
use super::apply::regressors;
pub use super::import::Excluded;
use super::Calibration;
use super::Coefficients;
use super::Provenance;
use crate::analysis::fit::compare_estimates;
use crate::analysis::fit::cross_validate;
use crate::analysis::fit::fit_least_squares;
use crate::analysis::fit::ErrorSummary;
use crate::cost::RowKey;
use crate::cost::RowKind;
use crate::cost::RunCost;

/// Fewest rows with trusted measured energy `calibrate` fits.
pub const MIN_POINTS: usize = 8;
/// Narrowest span of mean machine CPU % over the rows, percentage points.
pub const MIN_LOAD_SPAN_PCT: f64 = 20.0;
/// Folds of the cross-validation (fewer when there are fewer rows).
pub const FOLDS: usize = 5;
/// Seed of the cross-validation's shuffle: the same runs give the same folds.
pub const CV_SEED: u64 = 1;
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
        "no runs of device {device} with trusted measured energy; those read are of {}: check \
         --device",
        devices.join(", ")
    )]
    NoSuchDevice {
        device: String,
        devices: Vec<String>,
    },
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
    #[error(
        "the fit gives {what} = {value:.6}, not above 0: more load would draw less power. \
         The meter may not measure this board's supply, or the runs may not vary in load: \
         {COLLECT}"
    )]
    NotPositive { what: &'static str, value: f64 },
}

/// One row used for the fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub label: String,
    pub run_id: Option<u64>,
    pub device_id: String,
    /// Which run it is wherever it was read from (a run read twice is fitted once).
    pub key: Option<RowKey>,
    /// T s, CPU %·s, RAM MB·s, CPU·GHz %·GHz·s.
    pub x: [f64; 4],
    pub cpu_mean_pct: f64,
    /// An idle lead-in (at rest), not a run.
    pub idle: bool,
    /// Measured gross energy over the whole run (a hole in the readings at the mean power
    /// the meter saw: `RunCost::trusted_gross_over_run_j`), J.
    pub energy_j: f64,
    /// The measured energy's source kind.
    pub source: String,
}

/// The rows usable for a fit (ok, trusted energy and usage, T > 0), and a count of the
/// others by reason.
#[must_use]
pub fn points(rows: &[RunCost]) -> (Vec<Point>, Excluded) {
    let mut ex = Excluded {
        rows: rows.len(),
        idle: rows.iter().filter(|r| r.kind == RowKind::Idle).count(),
        ..Excluded::default()
    };
    let mut out = Vec::new();
    for r in rows {
        let (x, e) = (regressors(r), r.trusted_gross_over_run_j());
        match (r.ok, r.energy.is_some(), x, e, r.cpu_mean_pct()) {
            (false, ..) => ex.failed += 1,
            (true, false, ..) => ex.no_energy += 1,
            (true, true, Some(x), Some(e), Some(u)) if x[0] > 0.0 && e > 0.0 => {
                out.push(Point {
                    label: r.label.clone(),
                    run_id: r.run_id,
                    device_id: r.device_id.clone().unwrap_or_default(),
                    key: RowKey::of(r),
                    x,
                    cpu_mean_pct: u,
                    idle: r.kind == RowKind::Idle,
                    energy_j: e,
                    source: r.energy_source_kind().unwrap_or("").to_owned(),
                });
            }
            _ => ex.untrusted += 1,
        }
    }
    (out, ex)
}

/// Meters in the order a fit prefers them: the INA219 on the 5 V feed measures the whole
/// board; the PMIC misses the 5 V side and reads low (its mapping to the INA219 corrects it).
const METERS: [&str; 2] = ["ina219", "pmic"];

/// A measurement's place in the order a fit prefers meters (lower is better): the
/// `METERS` in order, then any other named source, then none (`""`).
#[must_use]
pub fn meter_rank(source: &str) -> usize {
    METERS
        .iter()
        .position(|m| *m == source)
        .unwrap_or(if source.is_empty() {
            METERS.len() + 1
        } else {
            METERS.len()
        })
}

/// Which of two copies of one row (the same run read from two sources) to keep, lower
/// first: trusted energy, then the better meter ([`meter_rank`]), then trusted usage, then
/// trusted net energy. A copy read from a log that lagged (its last samples or readings not
/// copied yet) is less trusted than the whole one, whichever source was named first.
#[must_use]
pub fn copy_rank(row: &RunCost) -> usize {
    let t = &row.trust;
    let meter = meter_rank(row.energy_source_kind().unwrap_or(""));
    usize::from(!t.energy) * 1000
        + meter * 100
        + usize::from(!t.usage) * 10
        + usize::from(!t.energy_net)
}

/// The points of one meter: a fit against two meters that read differently (a board with
/// an INA219 pooled with PMIC-only boards, or both logged on one) would fit neither. Keeps
/// the first of `METERS` present, else the first named kind by name, else the points of
/// no named meter (an exported file without `energy_source`); returns the meter kept and
/// the points of other meters, left out.
#[must_use]
pub fn one_meter(points: Vec<Point>) -> (Vec<Point>, String, Vec<Point>) {
    // The meter of the lowest rank; of other named sources, the first by name.
    let Some(keep) = points
        .iter()
        .map(|p| p.source.as_str())
        .min_by_key(|&k| (meter_rank(k), k))
        .map(str::to_owned)
    else {
        return (points, String::new(), Vec::new());
    };
    let (kept, left_out): (Vec<Point>, Vec<Point>) =
        points.into_iter().partition(|p| p.source == keep);
    (kept, keep, left_out)
}

/// Errors of estimated against measured run energy (J), with the worst run named.
#[derive(Debug, Clone, PartialEq)]
pub struct RunErrors {
    /// MAPE, bias, RMSE (J), R² and the worst case's index into the points.
    pub summary: ErrorSummary,
    /// The label, run id and device of the point with the largest |error| %.
    pub worst_label: String,
    pub worst_run_id: Option<u64>,
    pub worst_device: String,
}

/// The errors of `estimated` (J, one per point) against the points' measured energy.
pub fn errors(points: &[Point], estimated: &[f64]) -> Result<RunErrors, CalibrateError> {
    let measured: Vec<f64> = points.iter().map(|p| p.energy_j).collect();
    let summary = compare_estimates(estimated, &measured).map_err(|_| CalibrateError::Singular)?;
    let worst = &points[summary.worst.index];
    Ok(RunErrors {
        worst_label: worst.label.clone(),
        worst_run_id: worst.run_id,
        worst_device: worst.device_id.clone(),
        summary,
    })
}

/// Estimates of the points by `m`, J.
#[must_use]
pub fn estimate_all(m: &Coefficients, points: &[Point]) -> Vec<f64> {
    points.iter().map(|p| energy_j(m, p.x).0).collect()
}

/// The terms of a fit besides idle power and the CPU term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Terms {
    ram: bool,
    freq: bool,
}

/// The columns of the fit on mean power (1, CPU_AUC/T [, RAM_AUC/T] [, CPU·GHz_AUC/T]) and
/// the mean power E/T.
fn design(points: &[Point], terms: Terms) -> (Vec<Vec<f64>>, Vec<f64>) {
    let per_t = |j: usize| -> Vec<f64> { points.iter().map(|p| p.x[j] / p.x[0]).collect() };
    let mut cols = vec![vec![1.0; points.len()], per_t(1)];
    if terms.ram {
        cols.push(per_t(2));
    }
    if terms.freq {
        cols.push(per_t(3));
    }
    (cols, points.iter().map(|p| p.energy_j / p.x[0]).collect())
}

/// Least squares on mean power (`analysis::fit`) with `terms` (a term left out is 0).
fn fit_points(points: &[Point], terms: Terms) -> Result<Coefficients, CalibrateError> {
    let (cols, y) = design(points, terms);
    let cols: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let fit = fit_least_squares(&cols, &y).map_err(|_| CalibrateError::Singular)?;
    let mut beta = fit.coefficients.iter().map(|c| c.value);
    let (idle_w, cpu_w_per_pct) = (beta.next().unwrap_or(0.0), beta.next().unwrap_or(0.0));
    Ok(Coefficients {
        idle_w,
        cpu_w_per_pct,
        ram_w_per_mb: if terms.ram {
            beta.next().unwrap_or(0.0)
        } else {
            0.0
        },
        cpu_ghz_w_per_pct_ghz: if terms.freq { beta.next() } else { None },
    })
}

/// The fit with `terms`, and the RAM coefficient it dropped for being below 0 (then fitted
/// again without it); an error if idle power or the CPU term is not above 0.
fn fit_physical(
    points: &[Point],
    terms: Terms,
) -> Result<(Coefficients, Terms, Option<f64>), CalibrateError> {
    let mut m = fit_points(points, terms)?;
    let mut kept = terms;
    let dropped = (terms.ram && m.ram_w_per_mb < 0.0).then_some(m.ram_w_per_mb);
    if dropped.is_some() {
        kept.ram = false;
        m = fit_points(points, kept)?;
    }
    for (what, value) in [("idle_w", m.idle_w), ("cpu_w_per_pct", m.cpu_w_per_pct)] {
        if value.is_nan() || value <= 0.0 {
            return Err(CalibrateError::NotPositive { what, value });
        }
    }
    Ok((m, kept, dropped))
}

/// k-fold cross-validated run energies, J: the mean power predicted by the fit that did
/// not see the run (`analysis::fit::cross_validate`, shuffled by [`CV_SEED`]) times T.
fn cross_validated(
    points: &[Point],
    terms: Terms,
    folds: usize,
) -> Result<Vec<f64>, CalibrateError> {
    let (cols, y) = design(points, terms);
    let cols: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
    let cv = cross_validate(&cols, &y, folds, CV_SEED).map_err(|_| CalibrateError::Singular)?;
    Ok(cv
        .predictions
        .iter()
        .zip(points)
        .map(|(w, p)| w * p.x[0])
        .collect())
}

/// A fitted calibration and how well it does.
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    pub calibration: Calibration,
    pub points: usize,
    pub folds: usize,
    /// Cross-validated errors without and with the frequency term (`None`: no frequency
    /// readings, or the term cannot be separated from the CPU term).
    pub cv: RunErrors,
    pub cv_freq: Option<RunErrors>,
    pub freq_kept: bool,
    /// The fit with the frequency term has a coefficient below 0 (so it is not kept,
    /// whatever its error).
    pub freq_unphysical: bool,
    /// The RAM coefficient, W/MB, when it fitted below 0 and the term was dropped.
    pub ram_dropped: Option<f64>,
    /// The fitted coefficients on all the points.
    pub in_sample: RunErrors,
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
    let all = Terms {
        ram: true,
        freq: false,
    };
    let (base, terms, ram_dropped) = fit_physical(points, all)?;
    let cv = errors(points, &cross_validated(points, terms, folds)?)?;
    let has_freq = points.iter().any(|p| p.x[3] != 0.0);
    let with_freq = Terms {
        freq: true,
        ..terms
    };
    let freq_fit = has_freq
        .then(|| {
            let m = fit_points(points, with_freq).ok()?;
            let est = cross_validated(points, with_freq, folds).ok()?;
            Some((m, errors(points, &est).ok()?))
        })
        .flatten();
    // Kept if it pays for itself out of sample, and is a power (more clock, more watts).
    let physical = |m: &Coefficients| {
        m.idle_w > 0.0
            && m.cpu_w_per_pct > 0.0
            && m.ram_w_per_mb >= 0.0
            && m.cpu_ghz_w_per_pct_ghz.unwrap_or(0.0) >= 0.0
    };
    let freq_unphysical = freq_fit.as_ref().is_some_and(|(m, _)| !physical(m));
    let freq_kept = !freq_unphysical
        && freq_fit
            .as_ref()
            .is_some_and(|(_, f)| f.summary.rmse <= (1.0 - FREQ_TERM_MIN_GAIN) * cv.summary.rmse);
    let (model, cv_kept) = match &freq_fit {
        Some((m, e)) if freq_kept => (*m, e.clone()),
        _ => (base, cv.clone()),
    };
    let cv_freq = freq_fit.map(|(_, e)| e);
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
            cv_mape_pct: Some(cv_kept.summary.mape_pct),
            cv_folds: folds as u32,
            reference: String::new(),
        },
        pmic_to_total: None,
    };
    let in_sample = errors(points, &estimate_all(&model, points))?;
    Ok(FitReport {
        calibration,
        points: points.len(),
        folds,
        cv,
        cv_freq,
        freq_kept,
        freq_unphysical,
        ram_dropped,
        in_sample,
    })
}

fn check(points: &[Point], excluded: &str) -> Result<(), CalibrateError> {
    if points.is_empty() {
        return Err(CalibrateError::NoPoints {
            excluded: excluded.to_owned(),
        });
    }
    let lo = points
        .iter()
        .map(|p| p.cpu_mean_pct)
        .fold(f64::INFINITY, f64::min);
    let hi = points
        .iter()
        .map(|p| p.cpu_mean_pct)
        .fold(f64::NEG_INFINITY, f64::max);
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
