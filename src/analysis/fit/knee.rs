//! The knee (plateau) fit y = a + b·min(x, ψ): cost rises with x (input pixels, image
//! tokens) up to the resize clamp ψ and is flat above it.
//!
//! - ψ̂ minimises RSS(ψ) exactly (see `profile`): between tested values the model is a
//!   line met by a plateau, solved in closed form.
//! - **Profile CI** of ψ: {ψ : RSS(ψ) ≤ RSS(ψ̂)·(1 + F(level; 1, n − 3)/(n − 3))}, scanned
//!   at 64 points per segment between tested values, as its hull.
//! - **Bootstrap CI** of ψ: seeded residual bootstrap (ŷ plus resampled residuals scaled
//!   by √(n/(n − 3))), percentile interval.
//! - **The reported CI** (`psi_ci`) is the profile CI widened to the tested values on
//!   either side of ψ̂: where between two tested resolutions the clamp lies is decided only
//!   by the straight-line shape the model assumes, so the CI is never narrower than the
//!   spacing of the tested values there. Test densely near the clamp to narrow it.
//! - **No knee**: `Flat` when the constant model is not rejected against the knee model
//!   (F(2, n − 3) test at the level), `Linear` when the straight line (ψ at the largest
//!   tested x) is inside the profile CI (F(1, n − 3)): the clamp, if any, is above the
//!   range tested. Both tests are approximate (ψ is not identified under the null), so the
//!   level is nominal.

mod bootstrap;
mod profile;

use profile::Profile;

use super::check_finite;
use super::check_level;
use super::check_same_len;
use super::f1_quantile;
use super::f2_quantile;
use super::fit_linear;
use super::Estimate;
use super::FitError;
use super::Interval;
use super::LinearFit;
use super::LEVEL_95;

const WHAT: &str = "knee fit";

/// Points per segment between tested values where RSS(ψ) is scanned for the profile CI.
const SCAN_PER_SEGMENT: usize = 64;

/// Settings of [`fit_knee`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KneeOptions {
    /// Confidence level of the CIs and the no-knee tests (0.95).
    pub level: f64,
    /// Bootstrap resamples (999); 0 skips the bootstrap.
    pub bootstrap_reps: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
}

impl Default for KneeOptions {
    fn default() -> Self {
        Self {
            level: LEVEL_95,
            bootstrap_reps: 999,
            seed: 0x6b6e_6565,
        }
    }
}

/// What the data say about a knee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KneeVerdict {
    /// Cost rises with x up to ψ and is flat above: a knee inside the tested range.
    Knee,
    /// No knee: cost does not change with x over the tested range.
    Flat,
    /// No knee: cost rises over the whole tested range (any clamp is above the largest x).
    Linear,
}

/// A fitted knee y = a + b·min(x, ψ).
#[derive(Debug, Clone, PartialEq)]
pub struct KneeFit {
    pub n: usize,
    pub verdict: KneeVerdict,
    /// ψ̂, where the rise stops (x's unit).
    pub psi: f64,
    /// The CI of ψ to report: the profile CI, never narrower than the tested values on
    /// either side of ψ̂.
    pub psi_ci: Interval,
    /// The profile-likelihood CI of ψ as the F rule gives it.
    pub psi_ci_profile: Interval,
    /// The seeded residual-bootstrap percentile CI of ψ (`None` with 0 resamples).
    pub psi_ci_bootstrap: Option<Interval>,
    /// The tested values on either side of ψ̂ (their distance is the grid step there).
    pub bracket: Interval,
    /// The line in z = min(x, ψ̂): intercept a and slope b below the knee, with CIs
    /// conditional on ψ̂.
    pub line: LinearFit,
    /// The flat level above the knee, a + b·ψ̂, with its CI conditional on ψ̂.
    pub plateau: Estimate,
    /// RSS of the knee model, of the straight line, and of the constant.
    pub rss: f64,
    pub rss_linear: f64,
    pub rss_flat: f64,
    /// √(RSS/(n − 3)).
    pub residual_se: f64,
    pub level: f64,
}

impl KneeFit {
    /// ŷ = a + b·min(x, ψ̂).
    #[must_use]
    pub fn predict(&self, x: f64) -> f64 {
        self.line.predict(x.min(self.psi))
    }
}

fn check_input(x: &[f64], y: &[f64], options: &KneeOptions) -> Result<(), FitError> {
    check_level(WHAT, options.level)?;
    check_same_len(WHAT, ("x", x), ("y", y))?;
    check_finite(WHAT, "x", x)?;
    check_finite(WHAT, "y", y)?;
    if x.len() < 4 {
        return Err(FitError::TooFewPoints {
            what: WHAT,
            needed: 4,
            got: x.len(),
            advice: "a knee with an error estimate needs 4 runs at 3 or more x values",
        });
    }
    let mut distinct: Vec<f64> = x.to_vec();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    match distinct.len() {
        1 => Err(FitError::NoSpread {
            what: WHAT,
            x: distinct[0],
        }),
        2 => Err(FitError::Invalid {
            what: WHAT,
            detail: format!(
                "only 2 x values ({} and {}): a knee needs 3 or more; test more sizes, \
                 densely around the expected clamp",
                distinct[0], distinct[1]
            ),
        }),
        _ => Ok(()),
    }
}

/// Fits y = a + b·min(x, ψ) with the default [`KneeOptions`] (95 %, 999 resamples).
///
/// Needs 4 or more points at 3 or more distinct x values.
///
/// ```
/// use edgewatt::analysis::fit::{fit_knee, KneeVerdict};
/// let pixels = [64.0, 128.0, 256.0, 384.0, 512.0, 768.0, 1024.0];
/// let tokens: Vec<f64> = pixels.iter().map(|p: &f64| 10.0 + 0.5 * p.min(448.0)).collect();
/// let knee = fit_knee(&pixels, &tokens).unwrap();
/// assert_eq!(knee.verdict, KneeVerdict::Knee);
/// assert!((knee.psi - 448.0).abs() < 1e-6);
/// assert!((knee.plateau.value - 234.0).abs() < 1e-6);
/// assert!(knee.psi_ci.lo <= 384.0 && knee.psi_ci.hi >= 512.0);
/// ```
pub fn fit_knee(x: &[f64], y: &[f64]) -> Result<KneeFit, FitError> {
    fit_knee_with(x, y, &KneeOptions::default())
}

/// [`fit_knee`] with explicit options.
pub fn fit_knee_with(x: &[f64], y: &[f64], options: &KneeOptions) -> Result<KneeFit, FitError> {
    let (mut fit, profile) = fit_profile(x, y, options)?;
    fit.psi_ci_bootstrap = bootstrap::percentile_cis(&[(&profile, fit.psi)], options).pop();
    Ok(fit)
}

/// [`fit_knee_with`] of each (x, y), in order. The same fits as one by one; the bootstraps
/// of data with the same number of points share their resampling draws (which depend
/// only on the seed and n), which is where a lone fit spends most of its time.
#[must_use]
pub fn fit_knees_with(
    data: &[(&[f64], &[f64])],
    options: &KneeOptions,
) -> Vec<Result<KneeFit, FitError>> {
    let fits: Vec<Result<(KneeFit, Profile), FitError>> = data
        .iter()
        .map(|(x, y)| fit_profile(x, y, options))
        .collect();
    let jobs: Vec<(&Profile, f64)> = fits
        .iter()
        .filter_map(|f| f.as_ref().ok().map(|(fit, profile)| (profile, fit.psi)))
        .collect();
    let mut cis = bootstrap::percentile_cis(&jobs, options).into_iter();
    fits.into_iter()
        .map(|f| {
            let (mut fit, _) = f?;
            fit.psi_ci_bootstrap = cis.next();
            Ok(fit)
        })
        .collect()
}

/// The fit without its bootstrap CI, and the profile the bootstrap resamples.
fn fit_profile(
    x: &[f64],
    y: &[f64],
    options: &KneeOptions,
) -> Result<(KneeFit, Profile), FitError> {
    check_input(x, y, options)?;
    let profile = Profile::new(x, y);
    let curve = &profile.curve;
    let n = x.len();
    let df = (n - 3) as f64;
    let (psi, rss) = curve.minimise();
    let u_max = *curve.u.last().unwrap_or(&psi);
    let rss_linear = curve.rss_at(u_max);
    let rss_flat = curve.rss_at(curve.u[0]);
    let f1 = f1_quantile(options.level, df)?;
    let f2 = f2_quantile(options.level, df)?;
    // A perfect fit (rss 0) still gets a CI of the points that fit as well, up to rounding.
    let slack = 1e-12 * rss_flat.max(f64::MIN_POSITIVE);
    let threshold = rss * (1.0 + f1 / df) + slack;
    let inside: Vec<f64> = curve
        .scan(SCAN_PER_SEGMENT)
        .into_iter()
        .chain([psi])
        .filter(|&p| curve.rss_at(p) <= threshold)
        .collect();
    let psi_ci_profile = hull(&inside, psi);
    let (b_lo, b_hi) = curve.bracket(psi);
    let verdict = if rss_flat <= rss * (1.0 + 2.0 * f2 / df) + slack {
        KneeVerdict::Flat
    } else if rss_linear <= threshold {
        KneeVerdict::Linear
    } else {
        KneeVerdict::Knee
    };
    let z: Vec<f64> = x.iter().map(|v| v.min(psi)).collect();
    // The line given ψ̂, its CIs on n − 3 degrees of freedom: ψ was fitted from the same
    // points (check_input asks 4 or more, so one is left).
    let line = fit_linear(&z, y)?
        .with_more_parameters(1)
        .ok_or(FitError::TooFewPoints {
            what: WHAT,
            needed: 4,
            got: n,
            advice: "a knee with an error estimate needs 4 runs at 3 or more x values",
        })?;
    let plateau_band = line.mean_band(psi);
    let plateau_value = line.predict(psi);
    let fit = KneeFit {
        n,
        verdict,
        psi,
        psi_ci: Interval {
            lo: psi_ci_profile.lo.min(b_lo),
            hi: psi_ci_profile.hi.max(b_hi),
        },
        psi_ci_profile,
        psi_ci_bootstrap: None,
        bracket: Interval { lo: b_lo, hi: b_hi },
        plateau: Estimate {
            value: plateau_value,
            se: (plateau_band.hi - plateau_value) / line.t_crit.max(f64::MIN_POSITIVE),
            ci: plateau_band,
        },
        line,
        rss,
        rss_linear,
        rss_flat,
        residual_se: (rss / df).sqrt(),
        level: options.level,
    };
    Ok((finite(fit)?, profile))
}

/// The fit, or an error when a value overflowed (x or y near f64's range: sums of
/// squares become infinite): a fit is never given with an infinite or NaN figure.
fn finite(fit: KneeFit) -> Result<KneeFit, FitError> {
    let values = [
        fit.psi,
        fit.psi_ci.lo,
        fit.psi_ci.hi,
        fit.plateau.value,
        fit.plateau.se,
        fit.line.slope.value,
        fit.rss,
        fit.residual_se,
    ];
    if values.iter().all(|v| v.is_finite()) {
        Ok(fit)
    } else {
        Err(FitError::Invalid {
            what: WHAT,
            detail: "the values are too large to fit (a sum of squares overflows): \
                     rescale x or y (pixels to megapixels, J to kJ)"
                .to_owned(),
        })
    }
}

fn hull(values: &[f64], fallback: f64) -> Interval {
    let lo = values.iter().copied().fold(fallback, f64::min);
    let hi = values.iter().copied().fold(fallback, f64::max);
    Interval { lo, hi }
}
