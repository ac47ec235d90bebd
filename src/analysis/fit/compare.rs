//! Comparisons: agreement of two outputs, and an estimate against a measurement (base vs
//! compressed, the ratios of means, is [`super::ratio`]).

use super::check_finite;
use super::check_same_len;
use super::dist::t_two_sided;
use super::mean;
use super::ratio::sample_var;
use super::Estimate;
use super::FitError;
use super::LEVEL_95;

/// The mean of `values` with its standard error and 95 % Student-t CI (2 or more values).
///
/// ```
/// use edgewatt::analysis::fit::mean_ci;
/// let m = mean_ci(&[0.8, 0.9, 0.85, 0.95]).unwrap();
/// assert!((m.value - 0.875).abs() < 1e-12);
/// assert!(m.ci.lo < 0.875 && m.ci.hi > 0.875);
/// ```
pub fn mean_ci(values: &[f64]) -> Result<Estimate, FitError> {
    const WHAT: &str = "mean";
    check_finite(WHAT, "value", values)?;
    if values.len() < 2 {
        return Err(FitError::TooFewPoints {
            what: WHAT,
            needed: 2,
            got: values.len(),
            advice: "a CI of a mean needs 2 or more runs",
        });
    }
    let m = mean(values);
    let se = (sample_var(values, m) / values.len() as f64).sqrt();
    let t = t_two_sided(LEVEL_95, (values.len() - 1) as f64);
    if !(m.is_finite() && se.is_finite()) {
        return Err(super::linear::out_of_range(WHAT));
    }
    Ok(Estimate::with_t(m, se, t))
}

/// The agreement of two outputs for the same prompt, 0 (nothing shared) to 1 (the same
/// text): **chrF** with β = 1, the F-score of character n-grams, n = 1…6, whitespace
/// removed (Popović 2015, the MT metric; β = 1 makes it symmetric). It is lexical: two
/// answers that say the same in other words score low. The paper's SimCSE embedding
/// similarity needs a sentence-embedding model that cannot run here; chrF needs none,
/// is deterministic and is robust to tokenisation and small inflection differences.
///
/// Per order n, precision = shared n-grams / n-grams of `a` and recall = shared / n-grams
/// of `b` (shared counted with multiplicity); both are averaged over the orders that
/// either text has, and F = 2PR/(P + R). Two empty texts agree fully (1).
///
/// ```
/// use edgewatt::analysis::fit::output_agreement;
/// assert_eq!(output_agreement("Paris is the capital.", "Paris is the capital."), 1.0);
/// let close = output_agreement("The capital is Paris.", "Paris is the capital.");
/// let far = output_agreement("The capital is Paris.", "I cannot answer that.");
/// assert!(close > far && far < 0.5);
/// assert_eq!(output_agreement("abc", "xyz"), 0.0);
/// ```
#[must_use]
pub fn output_agreement(a: &str, b: &str) -> f64 {
    const MAX_ORDER: usize = 6;
    // The same text shares every n-gram: P = R = 1 at each order, so F is exactly 1 (and
    // repeated runs often give the same text).
    if a == b {
        return 1.0;
    }
    let a: Vec<u32> = a
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(u32::from)
        .collect();
    let b: Vec<u32> = b
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(u32::from)
        .collect();
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut p_sum, mut r_sum, mut orders) = (0.0, 0.0, 0u32);
    let (mut ka, mut kb) = (Vec::new(), Vec::new());
    for n in 1..=MAX_ORDER {
        let (ta, tb) = (a.len().saturating_sub(n - 1), b.len().saturating_sub(n - 1));
        if ta == 0 && tb == 0 {
            break;
        }
        let shared = shared(ngrams(&a, n, &mut ka), ngrams(&b, n, &mut kb));
        p_sum += if ta > 0 {
            shared as f64 / ta as f64
        } else {
            0.0
        };
        r_sum += if tb > 0 {
            shared as f64 / tb as f64
        } else {
            0.0
        };
        orders += 1;
    }
    let (p, r) = (p_sum / f64::from(orders), r_sum / f64::from(orders));
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// Bits per character in an n-gram's key: a char is below 2²¹, so the 6 of the highest
/// order fit in a u128, and keys of one order are equal exactly when the n-grams are.
const CHAR_BITS: u32 = 21;

/// The n-grams of `text` as keys, sorted (equal ones side by side), in `keys`' buffer.
fn ngrams<'k>(text: &[u32], n: usize, keys: &'k mut Vec<u128>) -> &'k [u128] {
    keys.clear();
    keys.extend(text.windows(n).map(|w| {
        w.iter()
            .fold(0u128, |k, &c| (k << CHAR_BITS) | u128::from(c))
    }));
    keys.sort_unstable();
    keys
}

/// N-grams two sorted lists share, with multiplicity: Σ min(count in a, count in b).
fn shared(a: &[u128], b: &[u128]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => (i, j, n) = (i + 1, j + 1, n + 1),
        }
    }
    n
}

/// The run where the estimate was furthest from the measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorstCase {
    /// Position in the slices given.
    pub index: usize,
    pub estimated: f64,
    pub measured: f64,
    /// (estimated − measured)/|measured|·100.
    pub error_pct: f64,
}

/// How far estimates are from measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorSummary {
    pub n: usize,
    /// Mean absolute percentage error: mean |e − m|/|m|·100.
    pub mape_pct: f64,
    /// Mean signed error e − m, in the values' unit (positive: the estimate is high).
    pub bias: f64,
    /// Mean signed percentage error (e − m)/|m|·100.
    pub bias_pct: f64,
    /// Root mean square error, in the values' unit.
    pub rmse: f64,
    /// Agreement with y = x: 1 − Σ(e − m)²/Σ(m − m̄)². It is negative when the estimate
    /// is worse than the measurements' mean; `None` when the measurements do not vary.
    pub r2: Option<f64>,
    /// The largest |error_pct|.
    pub worst: WorstCase,
}

/// MAPE, bias, RMSE, R² and the worst case of `estimated` against `measured` (same
/// order, one pair per run; measurements must not be 0).
///
/// ```
/// use edgewatt::analysis::fit::compare_estimates;
/// let s = compare_estimates(&[11.0, 19.0, 30.0], &[10.0, 20.0, 30.0]).unwrap();
/// assert!((s.mape_pct - 5.0).abs() < 1e-12);
/// assert_eq!(s.worst.index, 0);
/// assert!((s.worst.error_pct - 10.0).abs() < 1e-12);
/// ```
pub fn compare_estimates(estimated: &[f64], measured: &[f64]) -> Result<ErrorSummary, FitError> {
    const WHAT: &str = "estimated vs measured";
    check_same_len(WHAT, ("estimated", estimated), ("measured", measured))?;
    check_finite(WHAT, "estimated", estimated)?;
    check_finite(WHAT, "measured", measured)?;
    if measured.is_empty() {
        return Err(FitError::TooFewPoints {
            what: WHAT,
            needed: 1,
            got: 0,
            advice: "no runs have both an estimate and a measurement",
        });
    }
    if let Some(index) = measured.iter().position(|m| *m == 0.0) {
        return Err(FitError::Invalid {
            what: WHAT,
            detail: format!(
                "measured[{index}] is 0: a relative error needs a non-zero measurement; \
                 leave out runs without measured energy"
            ),
        });
    }
    let n = measured.len();
    let pct: Vec<f64> = estimated
        .iter()
        .zip(measured)
        .map(|(e, m)| (e - m) / m.abs() * 100.0)
        .collect();
    let diff: Vec<f64> = estimated.iter().zip(measured).map(|(e, m)| e - m).collect();
    let index = (0..n)
        .max_by(|&i, &j| pct[i].abs().total_cmp(&pct[j].abs()))
        .unwrap_or(0);
    let m_mean = mean(measured);
    let syy: f64 = measured.iter().map(|m| (m - m_mean) * (m - m_mean)).sum();
    let sse: f64 = diff.iter().map(|d| d * d).sum();
    let summary = ErrorSummary {
        n,
        mape_pct: pct.iter().map(|p| p.abs()).sum::<f64>() / n as f64,
        bias: mean(&diff),
        bias_pct: mean(&pct),
        rmse: (sse / n as f64).sqrt(),
        r2: (syy > 0.0).then(|| 1.0 - sse / syy),
        worst: WorstCase {
            index,
            estimated: estimated[index],
            measured: measured[index],
            error_pct: pct[index],
        },
    };
    let finite = [
        summary.mape_pct,
        summary.bias,
        summary.bias_pct,
        summary.rmse,
    ]
    .iter()
    .chain(summary.r2.iter())
    .all(|v| v.is_finite());
    if finite {
        Ok(summary)
    } else {
        Err(super::linear::out_of_range(WHAT))
    }
}
