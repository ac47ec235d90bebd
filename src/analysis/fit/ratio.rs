//! Base vs compressed: mean(other)/mean(base) with its Fieller CI, over independent runs
//! ([`ratio_of_means`]) or case by case over the cases both models ran
//! ([`ratio_of_case_means`]).

use super::check_finite;
use super::check_level;
use super::dist::t_two_sided;
use super::mean;
use super::FitError;
use super::Interval;
use super::LEVEL_95;

/// The ratio mean(other)/mean(base) with its CI, and the same as a % change.
#[derive(Debug, Clone, PartialEq)]
pub struct RatioCi {
    /// mean(other) / mean(base): a throughput ratio (2.6×) reads this.
    pub ratio: f64,
    /// Fieller CI of the ratio.
    pub ratio_ci: Interval,
    /// (ratio − 1)·100: a cost reduction (−60.5 %) reads this.
    pub pct_change: f64,
    /// The CI of `pct_change`, (ratio_ci − 1)·100.
    pub pct_change_ci: Interval,
    /// The means compared: of the runs, or of the cases' means ([`ratio_of_case_means`]).
    pub mean_base: f64,
    pub mean_other: f64,
    /// Runs of each model.
    pub n_base: usize,
    pub n_other: usize,
    /// Cases the means are over (1: the runs as one sample).
    pub cases: usize,
    /// Welch–Satterthwaite degrees of freedom used for the t quantile.
    pub df: f64,
    pub level: f64,
}

pub(super) fn sample_var(v: &[f64], m: f64) -> f64 {
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64
}

/// A mean's variance as a sum of independent parts, each with its degrees of freedom.
struct Parts(Vec<(f64, f64)>);

impl Parts {
    fn var(&self) -> f64 {
        self.0.iter().map(|(v, _)| v).sum()
    }

    /// Σ vᵢ²/dfᵢ, times `scale`²: the Welch–Satterthwaite denominator of `scale` × this.
    fn welch(&self, scale: f64) -> f64 {
        self.0.iter().map(|(v, df)| (scale * v).powi(2) / df).sum()
    }
}

/// mean(other)/mean(base) with a 95 % CI by **Fieller's method** (not the delta method:
/// Fieller's interval is exact for normal means and stays right when the base mean is
/// noisy, where the delta method's symmetric interval is too narrow on one side). The two
/// samples are independent runs; the t quantile uses Welch–Satterthwaite degrees of
/// freedom at the estimated ratio. Each sample needs 2 or more values.
///
/// Runs of one workload at several cases (prompt lengths, resolutions) are not one sample:
/// for them use [`ratio_of_case_means`].
///
/// ```
/// use edgewatt::analysis::fit::ratio_of_means;
/// let base_j = [10.0, 10.4, 9.6, 10.2, 9.8];
/// let compressed_j = [4.0, 4.1, 3.9, 4.05, 3.95];
/// let r = ratio_of_means(&base_j, &compressed_j).unwrap();
/// assert!((r.pct_change - -60.0).abs() < 1e-9);
/// assert!(r.pct_change_ci.contains(-60.0) && r.pct_change_ci.hi < -55.0);
/// ```
pub fn ratio_of_means(base: &[f64], other: &[f64]) -> Result<RatioCi, FitError> {
    ratio_of_means_with(base, other, LEVEL_95)
}

/// [`ratio_of_means`] at any confidence `level` in (0, 1).
pub fn ratio_of_means_with(base: &[f64], other: &[f64], level: f64) -> Result<RatioCi, FitError> {
    const WHAT: &str = "ratio of means";
    check_level(WHAT, level)?;
    check_finite(WHAT, "base", base)?;
    check_finite(WHAT, "other", other)?;
    for (v, advice) in [
        (base, "the base model needs 2 or more runs"),
        (other, "the other model needs 2 or more runs"),
    ] {
        if v.len() < 2 {
            return Err(FitError::TooFewPoints {
                what: WHAT,
                needed: 2,
                got: v.len(),
                advice,
            });
        }
    }
    let part = |v: &[f64]| {
        let m = mean(v);
        (
            m,
            Parts(vec![(
                sample_var(v, m) / v.len() as f64,
                (v.len() - 1) as f64,
            )]),
        )
    };
    let (b, o) = (part(base), part(other));
    let sizes = (base.len(), other.len(), 1);
    fieller(WHAT, b, o, sizes, level)
}

/// mean(other)/mean(base) case by case, with its 95 % Fieller CI: `cases` holds, for each
/// case both models ran (a prompt length, a resolution), the base's values and the
/// other's. Each model's mean is the mean of its cases' means, so a case counts the same
/// whatever number of its runs were kept, and the CI holds only the noise within cases:
/// the cases are the plan's design, not a sample, and the spread between a 16-token and
/// a 512-token run is not uncertainty about the ratio. With every case run equally often
/// the ratio is that of the runs' means.
///
/// A case run once by a model gets that model's pooled relative variance (its cases'
/// variances over their squared means, pooled: costs' noise grows with their size); the
/// cases run once are together one part of the variance, on the pooled degrees of
/// freedom, as they share that one estimate (a part each would add up degrees of freedom
/// the estimate lacks).
/// A case one model lacks is left out. Errors: no case, a model with no case run twice,
/// a value not finite, or a base mean whose CI reaches 0.
///
/// ```
/// use edgewatt::analysis::fit::ratio_of_case_means;
/// // Two prompt lengths, each 60 % cheaper on the compressed model.
/// let short: (&[f64], &[f64]) = (&[10.0, 10.2, 9.8], &[4.0, 4.1, 3.9]);
/// let long: (&[f64], &[f64]) = (&[100.0, 102.0, 98.0], &[40.0, 41.0, 39.0]);
/// let r = ratio_of_case_means(&[short, long]).unwrap();
/// assert!((r.pct_change - -60.0).abs() < 1e-9);
/// assert!(r.pct_change_ci.lo > -63.0 && r.pct_change_ci.hi < -57.0);
/// ```
pub fn ratio_of_case_means(cases: &[(&[f64], &[f64])]) -> Result<RatioCi, FitError> {
    ratio_of_case_means_with(cases, LEVEL_95)
}

/// [`ratio_of_case_means`] at any confidence `level` in (0, 1).
pub fn ratio_of_case_means_with(
    cases: &[(&[f64], &[f64])],
    level: f64,
) -> Result<RatioCi, FitError> {
    const WHAT: &str = "ratio of case means";
    check_level(WHAT, level)?;
    for (base, other) in cases {
        check_finite(WHAT, "base", base)?;
        check_finite(WHAT, "other", other)?;
    }
    let both: Vec<(&[f64], &[f64])> = cases
        .iter()
        .copied()
        .filter(|(b, o)| !b.is_empty() && !o.is_empty())
        .collect();
    if both.is_empty() {
        return Err(FitError::TooFewPoints {
            what: WHAT,
            needed: 1,
            got: 0,
            advice: "the two models need a case (a prompt length, a resolution) both ran",
        });
    }
    let k = both.len() as f64;
    let side = |values: Vec<&[f64]>, advice| -> Result<(f64, Parts), FitError> {
        let means: Vec<f64> = values.iter().map(|v| mean(v)).collect();
        // The pooled relative variance, for the cases run once.
        let (mut rel, mut df) = (0.0, 0.0);
        for (v, m) in values.iter().zip(&means) {
            if v.len() >= 2 && *m != 0.0 {
                rel += sample_var(v, *m) / (m * m) * (v.len() - 1) as f64;
                df += (v.len() - 1) as f64;
            }
        }
        if df == 0.0 {
            return Err(FitError::TooFewPoints {
                what: WHAT,
                needed: 2,
                got: 1,
                advice,
            });
        }
        rel /= df;
        // The cases run once share one estimate, `rel` on `df` degrees of freedom: one part.
        let mut parts: Vec<(f64, f64)> = values
            .iter()
            .zip(&means)
            .filter(|(v, _)| v.len() >= 2)
            .map(|(v, m)| {
                (
                    sample_var(v, *m) / v.len() as f64 / (k * k),
                    (v.len() - 1) as f64,
                )
            })
            .collect();
        let once: f64 = values
            .iter()
            .zip(&means)
            .filter(|(v, _)| v.len() == 1)
            .map(|(_, m)| rel * m * m / (k * k))
            .sum();
        if once > 0.0 {
            parts.push((once, df));
        }
        Ok((means.iter().sum::<f64>() / k, Parts(parts)))
    };
    let b = side(
        both.iter().map(|c| c.0).collect(),
        "the base model needs a case run 2 or more times (a plan's repetitions)",
    )?;
    let o = side(
        both.iter().map(|c| c.1).collect(),
        "the other model needs a case run 2 or more times (a plan's repetitions)",
    )?;
    let runs = |f: fn(&(&[f64], &[f64])) -> usize| both.iter().map(f).sum::<usize>();
    let sizes = (runs(|c| c.0.len()), runs(|c| c.1.len()), both.len());
    fieller(WHAT, b, o, sizes, level)
}

/// Fieller's interval of mo/mb from the two means and their variances' parts; `sizes`:
/// runs of the base, of the other, and cases.
fn fieller(
    what: &'static str,
    (mb, base): (f64, Parts),
    (mo, other): (f64, Parts),
    (n_base, n_other, cases): (usize, usize, usize),
    level: f64,
) -> Result<RatioCi, FitError> {
    if mb == 0.0 {
        return Err(FitError::UnboundedRatio { what, mean: mb });
    }
    let (vb, vo) = (base.var(), other.var());
    let ratio = mo / mb;
    let num = vo + ratio * ratio * vb;
    let den = other.welch(1.0) + base.welch(ratio * ratio);
    let df = if den > 0.0 {
        num * num / den
    } else {
        (n_base + n_other).saturating_sub(2).max(1) as f64
    };
    let t = t_two_sided(level, df.max(1.0));
    let t2 = t * t;
    // (mo − ρ·mb)² = t²·(vo + ρ²·vb): a·ρ² − 2·mo·mb·ρ + c = 0.
    let a = mb * mb - t2 * vb;
    if a <= 0.0 {
        return Err(FitError::UnboundedRatio { what, mean: mb });
    }
    let c = mo * mo - t2 * vo;
    let disc = (mo * mo * mb * mb - a * c).max(0.0).sqrt();
    let (r1, r2) = ((mo * mb - disc) / a, (mo * mb + disc) / a);
    let ratio_ci = Interval {
        lo: r1.min(r2),
        hi: r1.max(r2),
    };
    if !(ratio.is_finite() && ratio_ci.lo.is_finite() && ratio_ci.hi.is_finite()) {
        return Err(super::linear::out_of_range(what));
    }
    Ok(RatioCi {
        ratio,
        ratio_ci,
        pct_change: (ratio - 1.0) * 100.0,
        pct_change_ci: Interval {
            lo: (ratio_ci.lo - 1.0) * 100.0,
            hi: (ratio_ci.hi - 1.0) * 100.0,
        },
        mean_base: mb,
        mean_other: mo,
        n_base,
        n_other,
        cases,
        df,
        level,
    })
}
