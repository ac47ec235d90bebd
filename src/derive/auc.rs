//! Trapezoidal area under a series above a baseline.
//!
//! With f_i = u_i − baseline at each point, the AUC over a window is
//! Σ (f_i + f_{i+1}) / 2 · (t_{i+1} − t_i) over the integrable intervals (gaps are
//! skipped), in the series' unit × seconds. Two conventions, both always computed:
//! - **above** (the headline, as in the paper): each point's excess is clamped first,
//!   f_i = max(0, u_i − baseline), then integrated. When one interval crosses the
//!   baseline this counts the whole linear ramp from 0 up to the positive end (not just
//!   the part above the crossing), so `above ≥ signed` and `above ≥ 0` always.
//! - **signed**: f_i = u_i − baseline unclamped; dips below idle subtract.
//!
//! A window edge between two points gets its fraction of the interval: f at the edge
//! is interpolated linearly between the neighbouring (clamped or signed) f values. So
//! both conventions integrate one fixed piecewise-linear function and are additive
//! over adjacent windows.

use super::series::Series;
use super::series::Span;
use super::series::Window;
use super::Coverage;
use super::DeriveError;

/// The AUC of one series over one window, in the series' unit × seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Auc {
    pub window: Window,
    /// Subtracted from every point, in the series' unit.
    pub baseline: f64,
    /// ∫ max(0, u − baseline) dt (clamped at the points), unit·s.
    pub above: f64,
    /// ∫ (u − baseline) dt, unit·s.
    pub signed: f64,
    pub coverage: Coverage,
    /// Points in the window (edges included).
    pub n_points: usize,
}

/// Area of the line through (ta, fa), (tb, fb) between s and e (ta ≤ s < e ≤ tb), unit·s.
fn trapezoid(span: &Span, fa: f64, fb: f64, s_us: u64, e_us: u64) -> f64 {
    let len = (span.tb_us - span.ta_us) as f64;
    let at = |t: u64| fa + (fb - fa) * ((t - span.ta_us) as f64 / len);
    (at(s_us) + at(e_us)) / 2.0 * ((e_us - s_us) as f64 / 1e6)
}

/// Trapezoidal AUC of `series` over `window` above `baseline`; see the module doc for
/// the clamped and signed conventions, edges and gaps.
#[must_use]
pub fn auc(series: &Series, window: Window, baseline: f64) -> Auc {
    let mut above = 0.0;
    let mut signed = 0.0;
    for (span, s, e) in series.clipped(window) {
        let (fa, fb) = (span.ua - baseline, span.ub - baseline);
        signed += trapezoid(&span, fa, fb, s, e);
        above += trapezoid(&span, fa.max(0.0), fb.max(0.0), s, e);
    }
    Auc {
        window,
        baseline,
        above,
        signed,
        coverage: series.coverage(window),
        n_points: series.count_in(window),
    }
}

/// A named stretch of a run (e.g. load, prefill, decode), µs on CLOCK_MONOTONIC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    pub name: String,
    pub t_start_us: u64,
    pub t_end_us: u64,
}

impl Phase {
    #[must_use]
    pub fn new(name: impl Into<String>, t_start_us: u64, t_end_us: u64) -> Self {
        Self {
            name: name.into(),
            t_start_us,
            t_end_us,
        }
    }

    /// The phase's window; errors if it is empty.
    pub fn window(&self) -> Result<Window, DeriveError> {
        Window::new(self.t_start_us, self.t_end_us).map_err(|_| DeriveError::EmptyPhase {
            name: self.name.clone(),
            t_start_us: self.t_start_us,
            t_end_us: self.t_end_us,
        })
    }
}

impl From<(&str, u64, u64)> for Phase {
    fn from((name, t_start_us, t_end_us): (&str, u64, u64)) -> Self {
        Self::new(name, t_start_us, t_end_us)
    }
}

/// The AUC of one phase.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseAuc {
    pub name: String,
    pub auc: Auc,
}

/// AUC per phase, in the given order. Phases are independent windows: they may leave
/// holes between them or overlap. Errors if a phase is empty.
pub fn phase_auc(
    series: &Series,
    phases: &[Phase],
    baseline: f64,
) -> Result<Vec<PhaseAuc>, DeriveError> {
    phases
        .iter()
        .map(|p| {
            Ok(PhaseAuc {
                name: p.name.clone(),
                auc: auc(series, p.window()?, baseline),
            })
        })
        .collect()
}
