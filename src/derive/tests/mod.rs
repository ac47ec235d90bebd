//! Unit tests of the derived values, against values computed by hand in the comments.

mod auc;
mod baseline;
mod prop;
mod usage;
mod util;

use super::GapRule;
use super::Series;
use super::Window;

/// Seconds to µs.
fn us(s: f64) -> u64 {
    (s * 1e6).round() as u64
}

fn win(t0_s: f64, t1_s: f64) -> Window {
    Window::new(us(t0_s), us(t1_s)).unwrap()
}

/// A series of `(seconds, value)` points and breaks (seconds), gap rule `nominal_s` × 2.5.
fn series(points_s: &[(f64, f64)], breaks_s: &[f64], nominal_s: f64) -> Series {
    let points: Vec<(u64, f64)> = points_s.iter().map(|&(t, v)| (us(t), v)).collect();
    let breaks: Vec<u64> = breaks_s.iter().map(|&t| us(t)).collect();
    let rule = GapRule::new(us(nominal_s), GapRule::DEFAULT_FACTOR).unwrap();
    Series::from_parts(&points, &breaks, rule).unwrap()
}

/// Equal up to float rounding (relative 1e-12, absolute 1e-9).
#[track_caller]
fn close(got: f64, want: f64) {
    let tol = 1e-9_f64.max(want.abs() * 1e-12);
    assert!((got - want).abs() <= tol, "got {got}, want {want}");
}
