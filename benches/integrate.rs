//! The trapezoid integrator's cost against a float reference, in one run: CPU % AUC over
//! a day of 10 Hz points (864 000), cut by a window at both ends, with `derive::auc`
//! (fixed-point values, integer core) and with the float `auc` it replaced (kept here only
//! as the reference), and energy over a day of 100 Hz INA219 readings.
//! Prints ns per point and the ratio integer / float, and the two results' difference.
//!
//! `cargo bench --no-default-features --bench integrate`

use std::hint::black_box;
use std::time::Instant;

use edgewatt::derive::auc;
use edgewatt::derive::energy::integrate;
use edgewatt::derive::energy::Integration;
use edgewatt::derive::GapRule;
use edgewatt::derive::Series;
use edgewatt::derive::Window;
use edgewatt::record::PowerReading;
use edgewatt::record::SourceId;
use edgewatt::synth::Rng;

const POINTS: u64 = 864_000;
const RUNS: u32 = 5;

/// The integrable intervals of `series` clipped to `window`, as `derive` walked them
/// before the integer core: `((ta, ua), (tb, ub), s, e)`.
fn clipped(
    series: &Series,
    window: Window,
) -> impl Iterator<Item = ((u64, f64), (u64, f64), u64, u64)> + '_ {
    let points = series.points();
    let skip = points
        .partition_point(|&(t, _)| t < window.start_us)
        .saturating_sub(1);
    points[skip..]
        .windows(2)
        .enumerate()
        .take_while(move |(_, w)| w[0].0 < window.end_us)
        .filter(move |&(k, _)| !series.is_gap(skip + k))
        .filter_map(move |(_, w)| {
            let (s, e) = (w[0].0.max(window.start_us), w[1].0.min(window.end_us));
            (s < e).then_some((w[0], w[1], s, e))
        })
}

/// The float `derive::auc` before the integer core, as it was: signed and clamped areas
/// in one walk, the coverage and its largest hole in a second, the points counted. The
/// reference; returns the clamped area.
fn float_auc(series: &Series, window: Window, baseline: f64) -> f64 {
    let trapezoid = |(ta, tb): (u64, u64), fa: f64, fb: f64, s: u64, e: u64| {
        let len = (tb - ta) as f64;
        let at = |t: u64| fa + (fb - fa) * ((t - ta) as f64 / len);
        (at(s) + at(e)) / 2.0 * ((e - s) as f64 / 1e6)
    };
    let (mut above, mut signed) = (0.0, 0.0);
    for (a, b, s, e) in clipped(series, window) {
        let (fa, fb) = (a.1 - baseline, b.1 - baseline);
        signed += trapezoid((a.0, b.0), fa, fb, s, e);
        above += trapezoid((a.0, b.0), fa.max(0.0), fb.max(0.0), s, e);
    }
    let (mut covered, mut largest, mut to) = (0, 0, window.start_us);
    for (_, _, s, e) in clipped(series, window) {
        largest = largest.max(s - to);
        covered += e - s;
        to = e;
    }
    let n = series.values_in(window).len();
    black_box((signed, covered, largest.max(window.end_us - to), n));
    above
}

/// Best of `RUNS` timings of `f`, ns per point.
fn ns_per_point(mut f: impl FnMut() -> f64, points: u64) -> (f64, f64) {
    let mut best = f64::MAX;
    let mut value = 0.0;
    for _ in 0..RUNS {
        let t = Instant::now();
        value = black_box(f());
        best = best.min(t.elapsed().as_nanos() as f64 / points as f64);
    }
    (best, value)
}

fn main() {
    let mut rng = Rng::new(11);
    let points: Vec<(u64, f64)> = (0..POINTS)
        .map(|i| (i * 100_000, rng.below(10_000) as f64 / 100.0))
        .collect();
    let rule = GapRule::new(100_000, GapRule::DEFAULT_FACTOR).unwrap();
    let series = Series::from_parts(&points, &[], rule).unwrap();
    let window = Window::new(50_000, (POINTS - 1) * 100_000 - 50_000).unwrap();
    let (int_ns, int_auc) = ns_per_point(|| auc(&series, window, 20.0).above, POINTS);
    let (float_ns, float_auc) = ns_per_point(|| float_auc(&series, window, 20.0), POINTS);
    println!(
        "CPU % AUC, {POINTS} points: integer core {int_ns:.1} ns/point, float reference \
         {float_ns:.1} ns/point, ratio {:.2}; results {int_auc:.6} vs {float_auc:.6} %·s \
         (differ by {:.2e})",
        int_ns / float_ns,
        (int_auc - float_auc).abs()
    );
    let readings: Vec<PowerReading> = (0..POINTS * 10)
        .map(|i| {
            let mw = 4_000 + rng.below(2_000) as i64;
            PowerReading::power_only(i * 10_000, SourceId::Ina219, mw * 1_000)
        })
        .collect();
    let day = Window::spanning(5_000, (POINTS * 10 - 1) * 10_000 - 5_000);
    let (e_ns, gross_j) = ns_per_point(
        || integrate(&readings, day, Integration::for_period(10_000), None).gross_j(),
        POINTS * 10,
    );
    println!(
        "energy, {} readings: {e_ns:.1} ns/reading (sort included), {gross_j:.3} J",
        POINTS * 10
    );
}
