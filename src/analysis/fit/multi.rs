//! Least squares with several regressors, y = Σⱼ βⱼ·xⱼ, and k-fold cross-validation.
//!
//! For the calibrated energy estimate, E = P_idle·T + a·CPU_AUC + b·RAM_AUC [+ c·f-term]:
//! the columns are T, CPU_AUC, RAM_AUC (…) and no intercept is added — pass a column of
//! ones for one. Solved by Householder QR (no normal equations, so columns of very
//! different scales stay accurate); Cov(β) = s²·(RᵀR)⁻¹ with s² = SSE/(n − k).

use super::check_finite;
use super::check_level;
use super::check_same_len;
use super::compare::compare_estimates;
use super::compare::ErrorSummary;
use super::dist::t_two_sided;
use super::linear::out_of_range;
use super::Estimate;
use super::FitError;
use super::LEVEL_95;
use crate::synth::Rng;

const WHAT: &str = "least squares";

/// A fitted y = Σⱼ βⱼ·xⱼ with its uncertainty.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiFit {
    /// Points (rows).
    pub n: usize,
    /// Residual degrees of freedom, n − k.
    pub df: usize,
    /// Confidence level of the CIs.
    pub level: f64,
    /// βⱼ, in the order of the columns given.
    pub coefficients: Vec<Estimate>,
    /// s, the residual standard error, in y's unit.
    pub residual_se: f64,
    /// 1 − SSE/Σ(y − ȳ)²; `None` when y does not vary.
    pub r2: Option<f64>,
}

impl MultiFit {
    /// ŷ = Σⱼ βⱼ·xⱼ for one row of regressors (in the columns' order).
    #[must_use]
    pub fn predict(&self, row: &[f64]) -> f64 {
        self.coefficients
            .iter()
            .zip(row)
            .map(|(b, x)| b.value * x)
            .sum()
    }
}

/// QR of the rows `rows` of `columns`: β, the diagonal of (RᵀR)⁻¹, and the SSE.
struct Solved {
    beta: Vec<f64>,
    var_factor: Vec<f64>,
    sse: f64,
}

fn solve(columns: &[&[f64]], y: &[f64], rows: &[usize]) -> Result<Solved, FitError> {
    let k = columns.len();
    let mut a: Vec<Vec<f64>> = columns
        .iter()
        .map(|c| rows.iter().map(|&i| c[i]).collect())
        .collect();
    let mut qty: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
    let norms: Vec<f64> = a.iter().map(|c| norm(c)).collect();
    for j in 0..k {
        let rest = norm(&a[j][j..]);
        if rest.partial_cmp(&(1e-10 * norms[j])) != Some(std::cmp::Ordering::Greater)
            || norms[j] == 0.0
        {
            return Err(FitError::Collinear {
                what: WHAT,
                column: j,
            });
        }
        let alpha = if a[j][j] > 0.0 { -rest } else { rest };
        let mut v = a[j][j..].to_vec();
        v[0] -= alpha;
        let vv: f64 = v.iter().map(|e| e * e).sum();
        for col in a.iter_mut().skip(j).chain(std::iter::once(&mut qty)) {
            let tail = &mut col[j..];
            let s: f64 = v.iter().zip(tail.iter()).map(|(p, q)| p * q).sum::<f64>() * 2.0 / vv;
            tail.iter_mut().zip(&v).for_each(|(t, p)| *t -= s * p);
        }
        a[j][j] = alpha;
    }
    // R is a[col][row] for row ≤ col. Back-substitute R·β = (Qᵀy)[..k] and invert R.
    let r = |row: usize, col: usize| a[col][row];
    let mut beta = vec![0.0; k];
    for i in (0..k).rev() {
        let s: f64 = (i + 1..k).map(|j| r(i, j) * beta[j]).sum();
        beta[i] = (qty[i] - s) / r(i, i);
    }
    // inv[i][j] = (R⁻¹)ᵢⱼ, upper triangular, column by column.
    let mut inv = vec![vec![0.0; k]; k];
    for j in 0..k {
        let mut col = vec![0.0; j + 1];
        col[j] = 1.0 / r(j, j);
        for i in (0..j).rev() {
            let s: f64 = (i + 1..=j).map(|m| r(i, m) * col[m]).sum();
            col[i] = -s / r(i, i);
        }
        for (row, v) in inv.iter_mut().zip(col) {
            row[j] = v;
        }
    }
    let var_factor = (0..k).map(|i| inv[i].iter().map(|e| e * e).sum()).collect();
    let sse = qty[k..].iter().map(|e| e * e).sum();
    Ok(Solved {
        beta,
        var_factor,
        sse,
    })
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|e| e * e).sum::<f64>().sqrt()
}

fn check_columns(columns: &[&[f64]], y: &[f64]) -> Result<(), FitError> {
    if columns.is_empty() {
        return Err(FitError::Invalid {
            what: WHAT,
            detail: "no regressor columns: give at least one".into(),
        });
    }
    check_finite(WHAT, "y", y)?;
    for c in columns {
        check_same_len(WHAT, ("y", y), ("a regressor column", c))?;
        check_finite(WHAT, "regressor", c)?;
    }
    Ok(())
}

/// Fits y = Σⱼ βⱼ·`columns[j]` by least squares with 95 % CIs. Needs more points than
/// columns, and columns that are not linear combinations of each other.
///
/// ```
/// use edgewatt::analysis::fit::fit_least_squares;
/// // E = 3·T + 0.02·cpu_auc + 0.001·ram_auc, exactly.
/// let t = [10.0, 20.0, 30.0, 40.0, 50.0];
/// let cpu = [100.0, 900.0, 400.0, 1600.0, 2500.0];
/// let ram = [5e3, 1e4, 2e4, 1.5e4, 4e4];
/// let e: Vec<f64> = (0..5).map(|i| 3.0 * t[i] + 0.02 * cpu[i] + 0.001 * ram[i]).collect();
/// let fit = fit_least_squares(&[&t, &cpu, &ram], &e).unwrap();
/// assert!((fit.coefficients[0].value - 3.0).abs() < 1e-9);
/// assert!((fit.coefficients[1].value - 0.02).abs() < 1e-12);
/// assert!((fit.predict(&[1.0, 100.0, 1000.0]) - 6.0).abs() < 1e-9);
/// ```
pub fn fit_least_squares(columns: &[&[f64]], y: &[f64]) -> Result<MultiFit, FitError> {
    fit_least_squares_with(columns, y, LEVEL_95)
}

/// [`fit_least_squares`] at any confidence `level` in (0, 1).
pub fn fit_least_squares_with(
    columns: &[&[f64]],
    y: &[f64],
    level: f64,
) -> Result<MultiFit, FitError> {
    check_level(WHAT, level)?;
    check_columns(columns, y)?;
    let k = columns.len();
    if y.len() <= k {
        return Err(FitError::TooFewPoints {
            what: WHAT,
            needed: k + 1,
            got: y.len(),
            advice: "an error estimate needs more runs than coefficients",
        });
    }
    let rows: Vec<usize> = (0..y.len()).collect();
    let solved = solve(columns, y, &rows)?;
    let df = y.len() - k;
    let s = (solved.sse / df as f64).sqrt();
    let t = t_two_sided(level, df as f64);
    let coefficients: Vec<Estimate> = solved
        .beta
        .iter()
        .zip(&solved.var_factor)
        .map(|(b, v)| Estimate::with_t(*b, s * v.sqrt(), t))
        .collect();
    let y_mean = super::mean(y);
    let syy: f64 = y.iter().map(|v| (v - y_mean) * (v - y_mean)).sum();
    let r2 = (syy > 0.0).then(|| (1.0 - solved.sse / syy).max(0.0));
    let finite = coefficients
        .iter()
        .all(|c| c.value.is_finite() && c.se.is_finite())
        && s.is_finite();
    if !finite {
        return Err(out_of_range(WHAT));
    }
    Ok(MultiFit {
        n: y.len(),
        df,
        level,
        coefficients,
        residual_se: s,
        r2,
    })
}

/// Out-of-fold predictions of a k-fold cross-validation, and their error.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossValidation {
    /// Number of folds.
    pub folds: usize,
    /// The prediction for each point from the fit that did not see it (order of y).
    pub predictions: Vec<f64>,
    /// `predictions` against y (MAPE, bias, RMSE, R², worst case).
    pub errors: ErrorSummary,
}

/// k-fold cross-validation of [`fit_least_squares`]: points are shuffled by `seed` and
/// dealt into `folds` folds; each fold is predicted by the fit on the others.
/// `folds == y.len()` is leave-one-out. y must not contain 0 (the errors are relative).
///
/// ```
/// use edgewatt::analysis::fit::cross_validate;
/// let x: Vec<f64> = (1..=10).map(f64::from).collect();
/// let ones = vec![1.0; 10];
/// let y: Vec<f64> = x.iter().map(|x| 2.0 + 0.5 * x).collect();
/// let cv = cross_validate(&[&ones, &x], &y, 5, 7).unwrap();
/// assert!(cv.errors.mape_pct < 1e-9);
/// ```
pub fn cross_validate(
    columns: &[&[f64]],
    y: &[f64],
    folds: usize,
    seed: u64,
) -> Result<CrossValidation, FitError> {
    const WHAT_CV: &str = "cross-validation";
    check_columns(columns, y)?;
    let n = y.len();
    if folds < 2 || folds > n {
        return Err(FitError::Invalid {
            what: WHAT_CV,
            detail: format!("{folds} folds for {n} points: use 2 to {n} folds"),
        });
    }
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Rng::new(seed);
    for i in (1..n).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut predictions = vec![0.0; n];
    for f in 0..folds {
        let mut test = Vec::new();
        let mut train = Vec::new();
        for (pos, &i) in order.iter().enumerate() {
            if pos % folds == f {
                test.push(i);
            } else {
                train.push(i);
            }
        }
        if train.len() < columns.len() {
            return Err(FitError::TooFewPoints {
                what: WHAT_CV,
                needed: columns.len(),
                got: train.len(),
                advice: "each training fold needs as many runs as coefficients: use fewer folds",
            });
        }
        let solved = solve(columns, y, &train)?;
        for i in test {
            predictions[i] = columns
                .iter()
                .zip(&solved.beta)
                .map(|(c, b)| c[i] * b)
                .sum();
        }
    }
    let errors = compare_estimates(&predictions, y)?;
    Ok(CrossValidation {
        folds,
        predictions,
        errors,
    })
}
