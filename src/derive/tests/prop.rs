//! Properties of the AUC over random series with random gaps and breaks.

use proptest::prelude::*;

use crate::derive::auc;
use crate::derive::GapRule;
use crate::derive::Series;
use crate::derive::Window;

const NOMINAL_US: u64 = 1_000_000;

/// Points at random intervals of 2 µs..3 s (so some exceed 2.5 × 1 s and are gaps),
/// with values from `value`, and a break before about one point in seven.
fn arb_series(value: impl Strategy<Value = f64>) -> impl Strategy<Value = Series> {
    prop::collection::vec((2u64..3_000_000, value, prop::bool::weighted(0.15)), 0..40).prop_map(
        |steps| {
            let rule = GapRule::new(NOMINAL_US, GapRule::DEFAULT_FACTOR).unwrap();
            let mut s = Series::new(rule);
            let mut t = 0;
            for (dt, v, brk) in steps {
                t += dt;
                if brk {
                    s.push_break(t - dt / 2).unwrap();
                }
                s.push(t, v).unwrap();
            }
            s
        },
    )
}

fn close_to(got: f64, want: f64, scale: f64) -> Result<(), TestCaseError> {
    let tol = 1e-9 * scale.max(1.0);
    prop_assert!((got - want).abs() <= tol, "got {got}, want {want}");
    Ok(())
}

proptest! {
    #[test]
    fn constant_above_baseline_is_excess_times_covered_time(
        c in 0.0f64..100.0,
        excess in -100.0f64..100.0,
        series in arb_series(Just(0.0)),
        t0 in 0u64..130_000_000,
        len in 1u64..130_000_000,
    ) {
        // Every point is c; the baseline is c − excess.
        let pts: Vec<(u64, f64)> = series.points().iter().map(|&(t, _)| (t, c)).collect();
        let s = Series::from_parts(&pts, series.breaks(), series.gap_rule()).unwrap();
        let w = Window::new(t0, t0 + len).unwrap();
        let a = auc(&s, w, c - excess);
        let covered_s = w.len_s() * a.coverage.fraction;
        let scale = 100.0 * w.len_s();
        close_to(a.signed, excess * covered_s, scale)?;
        close_to(a.above, excess.max(0.0) * covered_s, scale)?;
        prop_assert_eq!(a.coverage.integrated_us as f64 / w.len_us() as f64, a.coverage.fraction);
        prop_assert!(a.coverage.largest_gap_us <= w.len_us() - a.coverage.integrated_us);
    }

    #[test]
    fn auc_is_additive_over_adjacent_windows(
        s in arb_series(-50.0f64..150.0),
        baseline in -20.0f64..60.0,
        t0 in 0u64..120_000_000,
        len1 in 1u64..60_000_000,
        len2 in 1u64..60_000_000,
    ) {
        let (left, right) = (Window::new(t0, t0 + len1).unwrap(), Window::new(t0 + len1, t0 + len1 + len2).unwrap());
        let whole = Window::new(t0, t0 + len1 + len2).unwrap();
        let (a, b, ab) = (auc(&s, left, baseline), auc(&s, right, baseline), auc(&s, whole, baseline));
        let scale = 200.0 * whole.len_s();
        close_to(ab.above, a.above + b.above, scale)?;
        close_to(ab.signed, a.signed + b.signed, scale)?;
        prop_assert_eq!(ab.coverage.integrated_us, a.coverage.integrated_us + b.coverage.integrated_us);
        let at_split = usize::from(s.points().iter().any(|&(t, _)| t == t0 + len1));
        prop_assert_eq!(ab.n_points, a.n_points + b.n_points - at_split);
        prop_assert!(ab.above >= ab.signed - 1e-9 * scale);
        prop_assert!(ab.above >= 0.0);
    }
}

/// Intervals of 2 µs..3 s back to back (so some exceed 2.5 × 1 s and are not integrated),
/// each a step at a value of 0..400, with a hole before about one in seven.
fn arb_steps() -> impl Strategy<Value = Vec<(u64, u64, f64)>> {
    prop::collection::vec(
        (2u64..3_000_000, 0.0f64..400.0, prop::bool::weighted(0.15)),
        1..40,
    )
    .prop_map(|steps| {
        let mut t = 0;
        let mut out = Vec::new();
        for (dt, v, hole) in steps {
            if hole {
                t += dt;
            }
            out.push((t, t + dt, v));
            t += dt;
        }
        out
    })
}

proptest! {
    #[test]
    fn a_rate_series_integrates_each_interval_at_its_value_cut_at_the_window(
        steps in arb_steps(),
        t0 in 0u64..130_000_000,
        len in 1u64..130_000_000,
    ) {
        use crate::derive::Shape;
        let rule = GapRule::new(NOMINAL_US, GapRule::DEFAULT_FACTOR).unwrap();
        let mut s = Series::new(rule).with_shape(Shape::Steps);
        for &(a, b, v) in &steps {
            s.push_step(a, b, v).unwrap();
        }
        let w = Window::new(t0, t0 + len).unwrap();
        // The truth: each integrable interval's overlap with the window × its value.
        let (mut want, mut covered_us) = (0.0, 0);
        for &(a, b, v) in steps.iter().filter(|&&(a, b, _)| !rule.too_long(b - a)) {
            let overlap = b.min(w.end_us).saturating_sub(a.max(w.start_us));
            want += v * overlap as f64 / 1e6;
            covered_us += overlap;
        }
        let got = auc(&s, w, 0.0);
        close_to(got.signed, want, 400.0 * w.len_s())?;
        close_to(got.above, want, 400.0 * w.len_s())?;
        prop_assert_eq!(got.coverage.integrated_us, covered_us);
    }
}

#[test]
fn a_step_must_not_end_before_it_starts_or_start_inside_the_last_one() {
    use crate::derive::DeriveError;
    use crate::derive::Shape;
    let rule = GapRule::new(NOMINAL_US, GapRule::DEFAULT_FACTOR).unwrap();
    let mut s = Series::new(rule).with_shape(Shape::Steps);
    let backwards = s.push_step(10, 5, 1.0);
    assert!(
        matches!(backwards, Err(DeriveError::SeriesOrder { .. })),
        "{backwards:?}"
    );
    s.push_step(0, 10, 1.0).unwrap();
    let overlapping = s.push_step(9, 20, 1.0);
    assert!(
        matches!(overlapping, Err(DeriveError::SeriesOrder { .. })),
        "{overlapping:?}"
    );
    s.push_step(12, 20, 2.0).unwrap();
    // [0, 10] at 1 and [12, 20] at 2: 10 + 16 unit·µs, 18 of the 20 µs covered.
    let a = auc(&s, Window::new(0, 20).unwrap(), 0.0);
    assert!((a.signed - 26e-6).abs() < 1e-15, "{}", a.signed);
    assert_eq!(a.coverage.integrated_us, 18);
}
