//! The trapezoid integrator, the one every area in edgewatt comes from: CPU and RAM AUC
//! ([`auc`](super::auc())), measured energy ([`energy`](super::energy)) and the worker's RSS
//! AUC ([`runs`](super::runs)).
//!
//! Its core is integer: points are `(CLOCK_MONOTONIC µs, value)` with the value an `i64`
//! in the caller's integer unit (µW, kB, or a float series' fixed-point [`FIXED_ONE`]),
//! areas are `i128` in value·µs. Between two joined points the function is the straight
//! line through them; a window edge cuts a segment where that line crosses it. An area is
//! kept doubled, so a whole segment adds exactly `(t_b − t_a)·(v_a + v_b)`; a segment cut
//! by the window adds its doubled area rounded to the nearest integer (half a unit·µs at
//! most). Nothing drifts with the number of segments, and floats appear only at the
//! edges ([`Integral::unit_s`], [`to_fixed`]).
//!
//! Exact for values within ±2⁶² and segments shorter than 2⁴⁰ µs (12.7 days).

use super::Window;

/// A point: CLOCK_MONOTONIC µs and a value in an integer unit.
pub type Point = (u64, i64);

/// Integer units per unit of a float series: values are integrated as `round(v × 2³²)`,
/// i.e. to within 1.2·10⁻¹⁰ of a unit (%, MB), for |v| < 2³⁰.
pub const FIXED_ONE: f64 = 4_294_967_296.0;

/// A float series value in [`FIXED_ONE`] units, rounded half away from zero (saturating
/// far outside the range). Adding ±0.5 and truncating is `f64::round` without its libm
/// call on CPUs without SSE4.1 (it may differ from it by one unit just below a half);
/// from 2⁵² units on the value is already whole.
#[must_use]
pub fn to_fixed(v: f64) -> i64 {
    let x = v * FIXED_ONE;
    if x.abs() >= 4_503_599_627_370_496.0 {
        x as i64
    } else {
        (x + 0.5f64.copysign(x)) as i64
    }
}

/// The area under joined segments inside a window, and how much of the window they cover.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Integral {
    /// Twice the area, value·µs.
    pub twice_area: i128,
    /// Time of the window under a segment, µs.
    pub covered_us: u64,
    /// The longest stretch of the window under no segment (the earliest if several are as
    /// long); `None` when it is all covered.
    pub largest_gap: Option<Window>,
    /// Some segment reaches the window, even one of zero length.
    pub touched: bool,
}

impl Integral {
    /// The area, value·µs, rounded half away from zero.
    #[must_use]
    pub fn area(&self) -> i128 {
        div_round(self.twice_area, 2)
    }

    /// The area in unit·s, for values in `per_unit` integer units per unit (µs → s too).
    #[must_use]
    pub fn unit_s(&self, per_unit: f64) -> f64 {
        self.twice_area as f64 / (2.0 * per_unit * 1e6)
    }

    /// Length of [`largest_gap`](Self::largest_gap), µs (0 when all covered).
    #[must_use]
    pub fn largest_gap_us(&self) -> u64 {
        self.largest_gap.map_or(0, |w| w.len_us())
    }
}

/// `n / d` rounded to the nearest integer, halves away from zero (`d > 0`).
#[must_use]
pub fn div_round(n: i128, d: i128) -> i128 {
    if n >= 0 {
        (n + d / 2) / d
    } else {
        (n - d / 2) / d
    }
}

/// Twice the area under the line through `a` and `b` between `s` and `e`
/// (`a.0 ≤ s < e ≤ b.0`), value·µs, rounded to the nearest integer; exact when `[s, e]`
/// is the whole segment.
fn twice_area(a: Point, b: Point, s: u64, e: u64) -> i128 {
    if (s, e) == (a.0, b.0) {
        // The whole segment (all but the two at a window's edges): no division.
        return i128::from(e - s) * (i128::from(a.1) + i128::from(b.1));
    }
    let (ta, tb) = (i128::from(a.0), i128::from(b.0));
    let (s, e) = (i128::from(s), i128::from(e));
    let (va, vb) = (i128::from(a.1), i128::from(b.1));
    // 2·area = (e − s)·(v(s) + v(e)) = q·x / r with v(t) = (va·(tb − t) + vb·(t − ta)) / r.
    let (q, r) = (e - s, tb - ta);
    let x = va * (2 * tb - s - e) + vb * (s + e - 2 * ta);
    // q·x overflows for long segments; q·(x div r) + q·(x mod r) / r does not.
    let (xq, xr) = (x.div_euclid(r), x.rem_euclid(r));
    q * xq + div_round(q * xr, r)
}

/// Integrates segments one at a time over a window: [`integrate`] for an iterator, or
/// several integrals in one walk (e.g. signed and clamped values of the same segments).
#[derive(Debug, Clone, Copy)]
pub struct Integrator {
    window: Window,
    /// End of the covered part of the window so far.
    cursor: u64,
    out: Integral,
}

impl Integrator {
    #[must_use]
    pub const fn new(window: Window) -> Self {
        Self {
            window,
            cursor: window.start_us,
            out: Integral {
                twice_area: 0,
                covered_us: 0,
                largest_gap: None,
                touched: false,
            },
        }
    }

    fn note_hole(&mut self, from: u64, to: u64) {
        if to > from && self.out.largest_gap.is_none_or(|w| to - from > w.len_us()) {
            self.out.largest_gap = Some(Window::spanning(from, to));
        }
    }

    /// Adds the segment joining `a` and `b`: after the previous one, not overlapping it. A
    /// segment whose end is not after its start, or outside the window, adds nothing.
    pub fn add(&mut self, a: Point, b: Point) {
        let (ws, we) = (self.window.start_us, self.window.end_us);
        if b.0 <= a.0 || b.0 < ws || a.0 > we {
            return;
        }
        self.out.touched = true;
        let (s, e) = (a.0.max(ws), b.0.min(we));
        if e <= s {
            return;
        }
        self.out.twice_area += twice_area(a, b, s, e);
        self.note_hole(self.cursor, s);
        self.cursor = self.cursor.max(e);
        self.out.covered_us += e - s;
    }

    /// The integral, the hole after the last segment counted.
    #[must_use]
    pub fn finish(mut self) -> Integral {
        self.note_hole(self.cursor, self.window.end_us);
        self.out
    }
}

/// Integrates `segments` (pairs of joined points, in time order, not overlapping) over
/// `window`. A segment whose end is not after its start is skipped.
pub fn integrate(segments: impl IntoIterator<Item = (Point, Point)>, window: Window) -> Integral {
    let mut i = Integrator::new(window);
    for (a, b) in segments {
        i.add(a, b);
    }
    i.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    fn w(a: u64, b: u64) -> Window {
        Window::spanning(a, b)
    }

    #[test]
    fn whole_segments_are_exact_and_cut_ones_take_their_share_of_the_line() {
        // 0 → 20 over [0, 2 s], then 20 flat to 4 s.
        let pts = [(0, 0), (2 * S, 20), (4 * S, 20)];
        let segs = || pts.windows(2).map(|p| (p[0], p[1]));
        let all = integrate(segs(), w(0, 4 * S));
        // 2·(2 s × 10 + 2 s × 20) = 120 value·s.
        assert_eq!(all.twice_area, 120 * i128::from(S));
        assert_eq!(
            (all.covered_us, all.largest_gap, all.touched),
            (4 * S, None, true)
        );
        // [0.5 s, 1.5 s]: v = 5 … 15 → 10 value·s.
        assert_eq!(
            integrate(segs(), w(S / 2, 3 * S / 2)).area(),
            10 * i128::from(S)
        );
        // Past the last point: [3 s, 6 s] covers 1 s, the hole is [4 s, 6 s].
        let tail = integrate(segs(), w(3 * S, 6 * S));
        assert_eq!(tail.area(), 20 * i128::from(S));
        assert_eq!(tail.largest_gap, Some(w(4 * S, 6 * S)));
        assert!((tail.unit_s(1.0) - 20.0).abs() < 1e-12);
    }

    #[test]
    fn a_cut_is_rounded_to_the_nearest_and_the_pieces_add_up() {
        // The line 0 → 1 over 3 µs, cut at 1 µs: areas 1/6 and 4/3 (doubled 1/3, 8/3).
        let seg = [((0, 0), (3, 1))];
        assert_eq!(integrate(seg, w(0, 1)).twice_area, 0);
        assert_eq!(integrate(seg, w(1, 3)).twice_area, 3);
        assert_eq!(integrate(seg, w(0, 3)).twice_area, 3);
        // Negative values round away from zero too.
        assert_eq!(integrate([((0, 0), (3, -1))], w(1, 3)).twice_area, -3);
    }

    #[test]
    fn large_values_over_long_segments_do_not_overflow() {
        // 2⁶² over 2⁴⁰ µs, cut in the middle.
        let (v, t) = (1i64 << 62, 1u64 << 40);
        let i = integrate([((0, v), (t, v))], w(t / 4, 3 * t / 4));
        assert_eq!(i.twice_area, i128::from(v) * i128::from(t));
    }

    #[test]
    fn holes_between_segments_are_gaps_the_earliest_longest_wins() {
        let segs = [((1, 5), (2, 5)), ((4, 5), (5, 5)), ((7, 5), (9, 5))];
        let i = integrate(segs, w(0, 9));
        assert_eq!((i.covered_us, i.twice_area), (4, 2 * 5 * 4));
        // Holes [0,1] [2,4] [5,7]: the first 2 µs one.
        assert_eq!(i.largest_gap, Some(w(2, 4)));
        assert_eq!(i.largest_gap_us(), 2);
        // A zero-length window a segment spans is touched, not covered.
        let z = integrate(segs, w(8, 8));
        assert_eq!((z.touched, z.covered_us, z.largest_gap), (true, 0, None));
        assert!(!integrate(segs, w(3, 3)).touched);
    }

    #[test]
    fn floats_become_fixed_point_within_a_tenth_of_a_billionth() {
        assert_eq!(to_fixed(1.0), 1 << 32);
        assert_eq!(to_fixed(-0.5), -(1 << 31));
        assert!((to_fixed(100.0 / 3.0) as f64 / FIXED_ONE - 100.0 / 3.0).abs() < 1.2e-10);
    }
}
