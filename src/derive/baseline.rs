//! The idle baseline: statistics of a series over a quiet window.
//!
//! The mean is the plain mean of the points in the window (not time-weighted); the sd
//! is the sample standard deviation (n − 1); the median of an even count is the mean
//! of the two middle values.

use super::series::Series;
use super::series::Window;
use super::DeriveError;

/// Fewest points a baseline window must hold.
pub const MIN_BASELINE_POINTS: usize = 3;

/// Statistics of a series over a window, in the series' unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    pub window: Window,
    pub mean: f64,
    pub median: f64,
    pub sd: f64,
    /// Points in the window (edges included).
    pub n: usize,
}

fn stats(window: Window, values: impl Iterator<Item = f64>) -> Baseline {
    let mut v: Vec<f64> = values.collect();
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n as f64 - 1.0);
    v.sort_by(f64::total_cmp);
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Baseline {
        window,
        mean,
        median,
        sd: var.sqrt(),
        n,
    }
}

/// Baseline of `series` over `window`, naming the series `what` in errors.
pub(crate) fn baseline_named(
    series: &Series,
    window: Window,
    what: &str,
) -> Result<Baseline, DeriveError> {
    let pts = series.values_in(window);
    if pts.len() < MIN_BASELINE_POINTS {
        return Err(DeriveError::TooFewPoints {
            what: what.to_owned(),
            t0_us: window.start_us,
            t1_us: window.end_us,
            n: pts.len(),
            min: MIN_BASELINE_POINTS,
        });
    }
    Ok(stats(window, pts.iter().map(|&(_, v)| v)))
}

/// Mean, median, sd and count of the points of `series` in an explicit quiet `window`
/// (edges included). Errors if it holds fewer than [`MIN_BASELINE_POINTS`] points.
pub fn baseline(series: &Series, window: Window) -> Result<Baseline, DeriveError> {
    baseline_named(series, window, "baseline")
}

/// The window of `len_us` with the lowest mean, for automatic idle detection, and its
/// baseline. Candidates are the windows `[t_k, t_k + len_us]` that start at a point and
/// end no later than the last point, holding at least [`MIN_BASELINE_POINTS`] points;
/// ties go to the earliest. Gaps inside a candidate are allowed (its points are real
/// readings); check [`Series::coverage`] of the result if that matters.
pub fn quietest_window(series: &Series, len_us: u64) -> Result<Baseline, DeriveError> {
    let pts = series.points();
    let no_window = || DeriveError::NoQuietWindow {
        len_us,
        n: pts.len(),
        min: MIN_BASELINE_POINTS,
    };
    let last_us = pts.last().ok_or_else(no_window)?.0;
    let mut best: Option<(f64, usize, usize)> = None;
    let mut end = 0;
    for (k, &(t0, _)) in pts.iter().enumerate() {
        let Some(t1) = t0.checked_add(len_us).filter(|&t1| t1 <= last_us) else {
            break;
        };
        end = end.max(k);
        while pts.get(end).is_some_and(|&(t, _)| t <= t1) {
            end += 1;
        }
        let slice = &pts[k..end];
        if slice.len() < MIN_BASELINE_POINTS {
            continue;
        }
        // Summed afresh (not a running sum) so equal windows give equal means.
        let mean = slice.iter().map(|&(_, v)| v).sum::<f64>() / slice.len() as f64;
        if best.is_none_or(|(m, _, _)| mean < m) {
            best = Some((mean, k, end));
        }
    }
    let (_, k, end) = best.ok_or_else(no_window)?;
    let t0_us = pts[k].0;
    let window = Window::new(t0_us, t0_us + len_us)?;
    Ok(stats(window, pts[k..end].iter().map(|&(_, v)| v)))
}
