//! Area under a series above a baseline.
//!
//! With f_i = u_i − baseline at each point, the AUC over a window of a gauge (RAM, RSS;
//! [`Shape::Joined`](super::Shape)) is Σ (f_i + f_{i+1}) / 2 · (t_{i+1} − t_i) over the
//! integrable intervals (gaps are skipped); of a rate (CPU %; [`Shape::Steps`](super::Shape)),
//! Σ f_i · (t_i − start_i) over each point's own interval, i.e. the counters' Δ above
//! idle. In the series' unit × seconds. Two conventions, both always computed:
//! - **above** (the headline, as in the paper): each point's excess is clamped first,
//!   f_i = max(0, u_i − baseline), then integrated. When one interval crosses the
//!   baseline this counts the whole linear ramp from 0 up to the positive end (not just
//!   the part above the crossing), so `above ≥ signed` and `above ≥ 0` always. A step is
//!   flat, so for a rate this is exactly the time above idle.
//! - **signed**: f_i = u_i − baseline unclamped; dips below idle subtract.
//!
//! A window edge between two points gets its fraction of the interval: f at the edge
//! is interpolated linearly between the neighbouring (clamped or signed) f values (a
//! step's value, for a rate). So both conventions integrate one fixed piecewise-linear
//! function and are additive over adjacent windows.
//!
//! The integration is [`trapezoid`](super::trapezoid)'s, on the values in fixed point
//! (`round(v × 2³²)`, baseline subtracted in integers): exact, no float sum drifting with
//! the number of points; floats only convert the series in and the area out.

use super::series::Coverage;
use super::series::Series;
use super::series::Window;
use super::trapezoid::to_fixed;
use super::trapezoid::Integrator;
use super::trapezoid::FIXED_ONE;
use super::DeriveError;
use crate::record::RunPhase;

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

/// Trapezoidal AUC of `series` over `window` above `baseline`; see the module doc for
/// the clamped and signed conventions, edges and gaps.
#[must_use]
pub fn auc(series: &Series, window: Window, baseline: f64) -> Auc {
    let base = to_fixed(baseline);
    let excess = |(t, v): (u64, f64)| (t, to_fixed(v).saturating_sub(base));
    let clamp = |(t, f): (u64, i64)| (t, f.max(0));
    let (mut signed, mut above) = (Integrator::new(window), Integrator::new(window));
    for (a, b) in series.segments(window) {
        let (a, b) = (excess(a), excess(b));
        signed.add(a, b);
        above.add(clamp(a), clamp(b));
    }
    let (signed, above) = (signed.finish(), above.finish());
    Auc {
        window,
        baseline,
        above: above.unit_s(FIXED_ONE),
        signed: signed.unit_s(FIXED_ONE),
        coverage: super::series::coverage_of(&signed, window),
        n_points: series.count_in(window),
    }
}

/// The window of one phase of a run; errors if it is empty.
pub(crate) fn phase_window(phase: RunPhase, window: Window) -> Result<Window, DeriveError> {
    Window::new(window.start_us, window.end_us).map_err(|_| DeriveError::EmptyPhase {
        phase,
        t_start_us: window.start_us,
        t_end_us: window.end_us,
    })
}

/// The AUC of one phase of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseAuc {
    pub phase: RunPhase,
    pub auc: Auc,
}

/// AUC per phase, in the given order (e.g. [`phase_windows`](super::runs::phase_windows)
/// of a run). Phases are independent windows: they may leave holes between them or
/// overlap. Errors if a phase is empty.
pub fn phase_auc(
    series: &Series,
    phases: &[(RunPhase, Window)],
    baseline: f64,
) -> Result<Vec<PhaseAuc>, DeriveError> {
    phases
        .iter()
        .map(|&(phase, w)| {
            Ok(PhaseAuc {
                phase,
                auc: auc(series, phase_window(phase, w)?, baseline),
            })
        })
        .collect()
}
