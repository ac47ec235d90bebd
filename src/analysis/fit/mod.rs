//! Fits for the paper's laws and the estimate's calibration.
//!
//! | function | fits | CI method |
//! |---|---|---|
//! | [`fit_linear`], [`fit_linear_weighted`] | y = a + b·x (OLS / WLS) | Student t, exact under normal errors |
//! | [`fit_least_squares`], [`cross_validate`] | y = Σ βⱼ·xⱼ (Householder QR), k-fold CV | Student t |
//! | [`fit_knee`] | y = a + b·min(x, ψ) (exact profile search) | profile F rule, seeded residual bootstrap |
//! | [`ratio_of_means`] | mean(other) / mean(base), % change | Fieller, Welch degrees of freedom |
//! | [`ratio_of_case_means`] | the same, case by case (the noise within cases) | Fieller, Welch over the cases |
//! | [`mean_ci`] | a mean | Student t |
//! | [`output_agreement`] | chrF (character n-gram F-score) of two texts | — |
//! | [`compare_estimates`] | MAPE, bias, RMSE, R², worst case | — |
//!
//! The Student-t and F quantiles are implemented here ([`t_quantile`], [`f1_quantile`],
//! [`f2_quantile`]) from the regularised incomplete beta function, and checked against
//! published table values: no statistics crate is needed.

mod compare;
mod dist;
mod knee;
mod linear;
mod multi;
mod ratio;

pub use compare::compare_estimates;
pub use compare::mean_ci;
pub use compare::output_agreement;
pub use compare::ErrorSummary;
pub use compare::WorstCase;
pub use dist::f1_quantile;
pub use dist::f2_quantile;
pub use dist::t_cdf;
pub use dist::t_quantile;
pub use knee::fit_knee;
pub use knee::fit_knee_with;
pub use knee::fit_knees_with;
pub use knee::KneeFit;
pub use knee::KneeOptions;
pub use knee::KneeVerdict;
pub use linear::fit_linear;
pub use linear::fit_linear_weighted;
pub use linear::fit_linear_with;
pub use linear::LinearFit;
pub use multi::cross_validate;
pub use multi::fit_least_squares;
pub use multi::fit_least_squares_with;
pub use multi::CrossValidation;
pub use multi::MultiFit;
pub use ratio::ratio_of_case_means;
pub use ratio::ratio_of_case_means_with;
pub use ratio::ratio_of_means;
pub use ratio::ratio_of_means_with;
pub use ratio::RatioCi;

/// Why a fit could not be made. Each says what is wrong with the input and what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("{what}: {got} points, at least {needed} needed: {advice}")]
    TooFewPoints {
        what: &'static str,
        needed: usize,
        got: usize,
        advice: &'static str,
    },
    #[error(
        "{what}: {a} has {a_len} values but {b} has {b_len}: give one value of each per point"
    )]
    LengthMismatch {
        what: &'static str,
        a: &'static str,
        a_len: usize,
        b: &'static str,
        b_len: usize,
    },
    #[error("{what}: {name}[{index}] is {value}: drop the point or fix its source")]
    NonFinite {
        what: &'static str,
        name: &'static str,
        index: usize,
        value: f64,
    },
    #[error("{what}: every x is {x}: vary x (token count, image size) to fit a slope")]
    NoSpread { what: &'static str, x: f64 },
    #[error("{what}: weight[{index}] is {value}: weights must be finite and not negative")]
    BadWeight {
        what: &'static str,
        index: usize,
        value: f64,
    },
    #[error(
        "{what}: regressor {column} is a linear combination of the others (or constant \
         zero): drop it or vary it independently"
    )]
    Collinear { what: &'static str, column: usize },
    #[error("{what}: confidence level {level} must be strictly between 0 and 1 (e.g. 0.95)")]
    BadLevel { what: &'static str, level: f64 },
    #[error("{what}: {detail}")]
    Invalid { what: &'static str, detail: String },
    #[error(
        "{what}: the base mean {mean} is not distinguishable from 0 at this level, so the \
         ratio's interval is unbounded: collect more base runs"
    )]
    UnboundedRatio { what: &'static str, mean: f64 },
}

/// A closed interval `[lo, hi]`, `lo ≤ hi`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    /// Whether `v` lies in the interval (ends included).
    #[must_use]
    pub fn contains(&self, v: f64) -> bool {
        self.lo <= v && v <= self.hi
    }

    /// `hi − lo`.
    #[must_use]
    pub fn width(&self) -> f64 {
        self.hi - self.lo
    }
}

/// A fitted coefficient: its value, standard error and confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    /// Standard error (0 for a perfect fit).
    pub se: f64,
    /// value ± t·se at the fit's level.
    pub ci: Interval,
}

impl Estimate {
    fn with_t(value: f64, se: f64, t: f64) -> Self {
        Self {
            value,
            se,
            ci: Interval {
                lo: value - t * se,
                hi: value + t * se,
            },
        }
    }
}

/// The default confidence level of every CI here.
pub const LEVEL_95: f64 = 0.95;

fn check_level(what: &'static str, level: f64) -> Result<(), FitError> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(FitError::BadLevel { what, level })
    }
}

fn check_finite(what: &'static str, name: &'static str, v: &[f64]) -> Result<(), FitError> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(FitError::NonFinite {
            what,
            name,
            index,
            value: v[index],
        }),
        None => Ok(()),
    }
}

fn check_same_len(
    what: &'static str,
    (a, a_v): (&'static str, &[f64]),
    (b, b_v): (&'static str, &[f64]),
) -> Result<(), FitError> {
    if a_v.len() == b_v.len() {
        Ok(())
    } else {
        Err(FitError::LengthMismatch {
            what,
            a,
            a_len: a_v.len(),
            b,
            b_len: b_v.len(),
        })
    }
}

/// The arithmetic mean (0 for no values; callers check the count first).
fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

#[cfg(test)]
mod tests;
