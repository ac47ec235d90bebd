//! The linear law y = a + b·x by ordinary (or weighted) least squares.
//!
//! With weights wᵢ (the errors' variances are σ²/wᵢ; all 1 for OLS):
//! x̄ = Σwx/Σw, Sxx = Σw(x − x̄)², b = Σw(x − x̄)(y − ȳ)/Sxx, a = ȳ − b·x̄,
//! s² = Σw·r²/(n − 2), SE(b) = s/√Sxx, SE(a) = s·√(1/Σw + x̄²/Sxx). CIs are
//! value ± t((1+level)/2; n − 2)·SE, exact when the errors are normal. The band of the
//! mean at x is ŷ(x) ± t·s·√(1/Σw + (x − x̄)²/Sxx).

use super::check_finite;
use super::check_level;
use super::check_same_len;
use super::dist::t_two_sided;
use super::Estimate;
use super::FitError;
use super::Interval;
use super::LEVEL_95;

const WHAT: &str = "linear fit";

/// A fitted line y = a + b·x with its uncertainty.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearFit {
    /// Points used (those with a positive weight).
    pub n: usize,
    /// Residual degrees of freedom: n − 2, less what
    /// [`with_more_parameters`](Self::with_more_parameters) takes.
    pub df: usize,
    /// Confidence level of every interval (0.95 unless asked).
    pub level: f64,
    /// a: y at x = 0.
    pub intercept: Estimate,
    /// b: change of y per unit of x.
    pub slope: Estimate,
    /// Coefficient of determination; `None` when y does not vary (R² is undefined).
    pub r2: Option<f64>,
    /// s, the residual standard error, in y's unit.
    pub residual_se: f64,
    /// The t critical value used for the CIs.
    pub t_crit: f64,
    /// Smallest and largest x fitted.
    pub x_range: Interval,
    x_mean: f64,
    sxx: f64,
    sum_w: f64,
}

impl LinearFit {
    /// ŷ = a + b·x.
    #[must_use]
    pub fn predict(&self, x: f64) -> f64 {
        self.intercept.value + self.slope.value * x
    }

    /// The confidence band of the mean response at `x` (for the plot's shaded band).
    #[must_use]
    pub fn mean_band(&self, x: f64) -> Interval {
        let y = self.predict(x);
        let dx = x - self.x_mean;
        let half = self.t_crit * self.residual_se * (1.0 / self.sum_w + dx * dx / self.sxx).sqrt();
        Interval {
            lo: y - half,
            hi: y + half,
        }
    }

    /// The same line whose fit also estimated `extra` other parameters from the same
    /// points (a knee's ψ): the residual variance and the t quantile on n − 2 − `extra`
    /// degrees of freedom, so every CI and band widens to match. `None` when no degree of
    /// freedom would be left.
    #[must_use]
    pub fn with_more_parameters(&self, extra: usize) -> Option<Self> {
        let df = self.df.checked_sub(extra).filter(|&df| df > 0)?;
        let s = self.residual_se * (self.df as f64 / df as f64).sqrt();
        let t = t_two_sided(self.level, df as f64);
        let scale = |e: &Estimate| {
            Estimate::with_t(
                e.value,
                e.se * s / self.residual_se.max(f64::MIN_POSITIVE),
                t,
            )
        };
        let (intercept, slope) = if self.residual_se > 0.0 {
            (scale(&self.intercept), scale(&self.slope))
        } else {
            (
                Estimate::with_t(self.intercept.value, 0.0, t),
                Estimate::with_t(self.slope.value, 0.0, t),
            )
        };
        Some(Self {
            df,
            intercept,
            slope,
            residual_se: s,
            t_crit: t,
            ..self.clone()
        })
    }
}

/// Fits y = a + b·x by OLS with 95 % CIs.
///
/// Needs at least 3 points and 2 distinct x values. Errors name the bad input.
///
/// ```
/// use edgewatt::analysis::fit::fit_linear;
/// let tokens = [16.0, 32.0, 64.0, 128.0];
/// let cpu_auc = [21.0, 37.0, 69.0, 133.0]; // 5 + 1·x
/// let fit = fit_linear(&tokens, &cpu_auc).unwrap();
/// assert!((fit.slope.value - 1.0).abs() < 1e-12);
/// assert!((fit.intercept.value - 5.0).abs() < 1e-9);
/// assert_eq!(fit.r2, Some(1.0));
/// let band = fit.mean_band(100.0);
/// assert!(band.contains(105.0));
/// ```
pub fn fit_linear(x: &[f64], y: &[f64]) -> Result<LinearFit, FitError> {
    fit_linear_with(x, y, None, LEVEL_95)
}

/// Fits y = a + b·x by weighted least squares with 95 % CIs; `w[i]` ∝ 1/Var(yᵢ) (e.g.
/// the number of repetitions a mean stands for). Points of weight 0 are left out.
///
/// ```
/// use edgewatt::analysis::fit::fit_linear_weighted;
/// let fit = fit_linear_weighted(&[1.0, 2.0, 3.0, 9.0], &[2.0, 4.0, 6.0, 0.0], &[1.0, 1.0, 1.0, 0.0])
///     .unwrap();
/// assert_eq!(fit.n, 3);
/// assert!((fit.slope.value - 2.0).abs() < 1e-12);
/// ```
pub fn fit_linear_weighted(x: &[f64], y: &[f64], w: &[f64]) -> Result<LinearFit, FitError> {
    fit_linear_with(x, y, Some(w), LEVEL_95)
}

/// [`fit_linear`] / [`fit_linear_weighted`] at any confidence `level` in (0, 1).
pub fn fit_linear_with(
    x: &[f64],
    y: &[f64],
    w: Option<&[f64]>,
    level: f64,
) -> Result<LinearFit, FitError> {
    check_level(WHAT, level)?;
    check_same_len(WHAT, ("x", x), ("y", y))?;
    check_finite(WHAT, "x", x)?;
    check_finite(WHAT, "y", y)?;
    let ones = vec![1.0; x.len()];
    let w = match w {
        Some(w) => {
            check_same_len(WHAT, ("x", x), ("weight", w))?;
            if let Some(index) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(FitError::BadWeight {
                    what: WHAT,
                    index,
                    value: w[index],
                });
            }
            w
        }
        None => &ones,
    };
    let used: Vec<usize> = (0..x.len()).filter(|&i| w[i] > 0.0).collect();
    if used.len() < 3 {
        return Err(FitError::TooFewPoints {
            what: WHAT,
            needed: 3,
            got: used.len(),
            advice: "a line with an error estimate needs 3 runs at 2 or more x values",
        });
    }
    let first_x = x[used[0]];
    if used.iter().all(|&i| x[i] == first_x) {
        return Err(FitError::NoSpread {
            what: WHAT,
            x: first_x,
        });
    }
    solve(x, y, w, &used, level)
}

fn solve(
    x: &[f64],
    y: &[f64],
    w: &[f64],
    used: &[usize],
    level: f64,
) -> Result<LinearFit, FitError> {
    let sum_w: f64 = used.iter().map(|&i| w[i]).sum();
    let x_mean = used.iter().map(|&i| w[i] * x[i]).sum::<f64>() / sum_w;
    let y_mean = used.iter().map(|&i| w[i] * y[i]).sum::<f64>() / sum_w;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for &i in used {
        let (dx, dy) = (x[i] - x_mean, y[i] - y_mean);
        sxx += w[i] * dx * dx;
        sxy += w[i] * dx * dy;
        syy += w[i] * dy * dy;
    }
    let slope = sxy / sxx;
    let intercept = y_mean - slope * x_mean;
    let sse: f64 = used
        .iter()
        .map(|&i| {
            let r = y[i] - intercept - slope * x[i];
            w[i] * r * r
        })
        .sum();
    let df = used.len() - 2;
    let s = (sse / df as f64).sqrt();
    let t = t_two_sided(level, df as f64);
    let se_slope = s / sxx.sqrt();
    let se_intercept = s * (1.0 / sum_w + x_mean * x_mean / sxx).sqrt();
    let r2 = (syy > 0.0).then(|| (1.0 - sse / syy).clamp(0.0, 1.0));
    let (lo, hi) = used
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &i| {
            (lo.min(x[i]), hi.max(x[i]))
        });
    let fit = LinearFit {
        n: used.len(),
        df,
        level,
        intercept: Estimate::with_t(intercept, se_intercept, t),
        slope: Estimate::with_t(slope, se_slope, t),
        r2,
        residual_se: s,
        t_crit: t,
        x_range: Interval { lo, hi },
        x_mean,
        sxx,
        sum_w,
    };
    let parts = [intercept, slope, se_intercept, se_slope, s, sxx, x_mean];
    if parts.iter().all(|v| v.is_finite()) && sxx > 0.0 {
        Ok(fit)
    } else {
        Err(out_of_range(WHAT))
    }
}

/// The error for input whose magnitudes overflow (or underflow) double precision.
pub(super) fn out_of_range(what: &'static str) -> FitError {
    FitError::Invalid {
        what,
        detail: "the values are too large or too close together for double precision: \
                 rescale them (e.g. to kilo- or mega-units)"
            .into(),
    }
}
