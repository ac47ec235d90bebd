//! Student-t and F distributions: what the confidence intervals need.
//!
//! The t CDF is the regularised incomplete beta function,
//! P(T > t) = ½·I_{ν/(ν+t²)}(ν/2, ½) for t ≥ 0, evaluated by its continued fraction
//! (modified Lentz) with ln Γ from the Lanczos approximation (g = 7, 9 terms). The
//! quantile inverts the CDF by bisection on x = ν/(ν+t²), which is monotone, so it
//! always converges; ν need not be an integer (Welch degrees of freedom).
//!
//! F(1, ν) is T² and F(2, ν) has the closed form P(F ≤ f) = 1 − (1 + 2f/ν)^(−ν/2): those
//! are the only F quantiles the fits use (profile and nested-model tests).

use super::FitError;

/// Lanczos coefficients for g = 7, n = 9.
const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];

/// ln Γ(x) for x > 0.
fn ln_gamma(x: f64) -> f64 {
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = LANCZOS[0];
    for (i, c) in LANCZOS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The continued fraction of I_x(a, b), by the modified Lentz method.
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0));
    let mut h = d;
    for m in 1..=1000 {
        let m = f64::from(m);
        let even = m * (b - m) * x / ((a - 1.0 + 2.0 * m) * (a + 2.0 * m));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 1.0 + 2.0 * m));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// The regularised incomplete beta function I_x(a, b), for a, b > 0.
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b
    }
}

fn check_df(df: f64) -> Result<(), FitError> {
    if df > 0.0 && df.is_finite() {
        Ok(())
    } else {
        Err(FitError::Invalid {
            what: "Student t",
            detail: format!("{df} degrees of freedom: they must be finite and above 0"),
        })
    }
}

/// P(T ≤ t) for Student's t with `df` degrees of freedom.
///
/// ```
/// use edgewatt::analysis::fit::t_cdf;
/// assert!((t_cdf(2.228_138_85, 10.0).unwrap() - 0.975).abs() < 1e-9);
/// ```
pub fn t_cdf(t: f64, df: f64) -> Result<f64, FitError> {
    check_df(df)?;
    if t.is_nan() {
        return Err(FitError::Invalid {
            what: "Student t",
            detail: "t is NaN".into(),
        });
    }
    let tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
    Ok(if t >= 0.0 { 1.0 - tail } else { tail })
}

/// The `p` quantile of Student's t with `df` degrees of freedom (`0 < p < 1`, `df > 0`).
///
/// The 95 % two-sided critical value is `t_quantile(0.975, df)`.
///
/// ```
/// use edgewatt::analysis::fit::t_quantile;
/// // Published table: t(0.975; 10) = 2.228.
/// assert!((t_quantile(0.975, 10.0).unwrap() - 2.228).abs() < 1e-3);
/// ```
pub fn t_quantile(p: f64, df: f64) -> Result<f64, FitError> {
    check_df(df)?;
    if !(p > 0.0 && p < 1.0) {
        return Err(FitError::BadLevel {
            what: "Student t quantile",
            level: p,
        });
    }
    Ok(t_quantile_unchecked(p, df))
}

/// [`t_quantile`] for inputs already checked.
pub(super) fn t_quantile_unchecked(p: f64, df: f64) -> f64 {
    if p == 0.5 {
        return 0.0;
    }
    let upper = if p > 0.5 { 1.0 - p } else { p };
    // Find x = df/(df+t²) with ½·I_x(df/2, ½) = upper; the left side rises with x.
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if 0.5 * incomplete_beta(df / 2.0, 0.5, mid) < upper {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let x = 0.5 * (lo + hi);
    let t = (df * (1.0 - x) / x).sqrt();
    if p > 0.5 {
        t
    } else {
        -t
    }
}

/// The two-sided critical value t((1 + level)/2; df) for a CI at `level`.
pub(super) fn t_two_sided(level: f64, df: f64) -> f64 {
    t_quantile_unchecked(0.5 * (1.0 + level), df)
}

/// The `p` quantile of F(1, df) (= t((1+p)/2; df)²).
///
/// ```
/// use edgewatt::analysis::fit::f1_quantile;
/// // Published table: F(0.95; 1, 10) = 4.965.
/// assert!((f1_quantile(0.95, 10.0).unwrap() - 4.965).abs() < 1e-3);
/// ```
pub fn f1_quantile(p: f64, df: f64) -> Result<f64, FitError> {
    let t = t_quantile(0.5 * (1.0 + p), df)?;
    Ok(t * t)
}

/// The `p` quantile of F(2, df), from its closed-form CDF.
///
/// ```
/// use edgewatt::analysis::fit::f2_quantile;
/// // Published table: F(0.95; 2, 10) = 4.103.
/// assert!((f2_quantile(0.95, 10.0).unwrap() - 4.103).abs() < 1e-3);
/// ```
pub fn f2_quantile(p: f64, df: f64) -> Result<f64, FitError> {
    check_df(df)?;
    if !(p > 0.0 && p < 1.0) {
        return Err(FitError::BadLevel {
            what: "F quantile",
            level: p,
        });
    }
    Ok(df / 2.0 * ((1.0 - p).powf(-2.0 / df) - 1.0))
}

#[cfg(test)]
pub(super) fn ln_gamma_for_tests(x: f64) -> f64 {
    ln_gamma(x)
}
