//! No finite input makes a fit panic or return a non-finite number.

use edgewatt::analysis::fit::*;
use proptest::prelude::*;

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e6..1e6f64,
        1 => prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
        1 => prop::sample::select(vec![0.0, 1.0, -1.0, 64.0, 1e-300, 1e300]),
    ]
}

fn points(max: usize) -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    (0..max).prop_flat_map(|n| {
        (
            prop::collection::vec(finite(), n),
            prop::collection::vec(finite(), n),
        )
    })
}

fn all_finite(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_finite())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_line_never_panics((x, y) in points(12)) {
        if let Ok(f) = fit_linear(&x, &y) {
            prop_assert!(all_finite(&[f.slope.value, f.slope.se, f.intercept.value, f.intercept.se,
                f.residual_se, f.slope.ci.lo, f.slope.ci.hi]));
            prop_assert!(f.r2.is_none_or(|r| (0.0..=1.0).contains(&r)));
        }
    }

    #[test]
    fn the_knee_never_panics((x, y) in points(14), seed in any::<u64>()) {
        let opts = KneeOptions { bootstrap_reps: 20, seed, ..KneeOptions::default() };
        if let Ok(k) = fit_knee_with(&x, &y, &opts) {
            prop_assert!(all_finite(&[k.psi, k.psi_ci.lo, k.psi_ci.hi, k.plateau.value,
                k.line.slope.value, k.rss, k.residual_se]));
            prop_assert!(k.psi_ci.lo <= k.psi && k.psi <= k.psi_ci.hi);
        }
    }

    #[test]
    fn least_squares_and_cv_never_panic(
        cols in prop::collection::vec(prop::collection::vec(finite(), 8), 1..4),
        y in prop::collection::vec(finite(), 8),
        folds in 0usize..10,
        seed in any::<u64>(),
    ) {
        let cols: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        if let Ok(f) = fit_least_squares(&cols, &y) {
            prop_assert!(f.coefficients.iter().all(|c| c.value.is_finite() && c.se.is_finite()));
        }
        if let Ok(cv) = cross_validate(&cols, &y, folds, seed) {
            prop_assert!(all_finite(&cv.predictions));
            prop_assert!(cv.errors.mape_pct.is_finite());
        }
    }

    #[test]
    fn comparisons_never_panic(
        (a, b) in points(10),
        c in prop::collection::vec(finite(), 0..10),
        s in ".{0,40}",
        t in ".{0,40}",
    ) {
        if let Ok(r) = ratio_of_means(&a, &c) {
            prop_assert!(all_finite(&[r.ratio, r.ratio_ci.lo, r.ratio_ci.hi, r.pct_change]));
            prop_assert!(r.ratio_ci.lo <= r.ratio_ci.hi);
        }
        if let Ok(m) = mean_ci(&c) {
            prop_assert!(all_finite(&[m.value, m.se, m.ci.lo, m.ci.hi]));
        }
        if let Ok(e) = compare_estimates(&a, &b) {
            prop_assert!(all_finite(&[e.mape_pct, e.bias, e.rmse, e.bias_pct]));
        }
        let g = output_agreement(&s, &t);
        prop_assert!((0.0..=1.0).contains(&g));
        prop_assert_eq!(g, output_agreement(&t, &s));
    }
}
