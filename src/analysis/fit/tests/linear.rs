use super::super::*;
use super::close;

/// Anscombe's quartet, set I (Anscombe 1973).
const ANSCOMBE_X: [f64; 11] = [10., 8., 13., 9., 11., 14., 6., 4., 12., 7., 5.];
const ANSCOMBE_Y: [f64; 11] = [
    8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68,
];

#[test]
fn anscombe_set_one_gives_the_published_fit() {
    let fit = fit_linear(&ANSCOMBE_X, &ANSCOMBE_Y).unwrap();
    // Published: a = 3.0001 (SE 1.1247), b = 0.5001 (SE 0.1179), R² = 0.6665, s = 1.2366.
    close(fit.intercept.value, 3.0001, 1e-4);
    close(fit.intercept.se, 1.1247, 1e-4);
    close(fit.slope.value, 0.5001, 1e-4);
    close(fit.slope.se, 0.1179, 1e-3);
    close(fit.r2.unwrap(), 0.6665, 1e-3);
    close(fit.residual_se, 1.2366, 1e-4);
    assert_eq!((fit.n, fit.df), (11, 9));
    // 95 % CI of the slope: b ± t(0.975; 9)·SE = 0.5001 ± 2.2622·0.1179.
    close(fit.t_crit, 2.262_157, 1e-6);
    close(fit.slope.ci.lo, 0.5001 - 2.262_157 * 0.117_906, 1e-3);
    close(fit.slope.ci.hi, 0.5001 + 2.262_157 * 0.117_906, 1e-3);
    assert_eq!(fit.x_range, Interval { lo: 4.0, hi: 14.0 });
}

#[test]
fn the_band_is_narrowest_at_the_mean_and_equals_the_intercept_ci_at_zero() {
    let fit = fit_linear(&ANSCOMBE_X, &ANSCOMBE_Y).unwrap();
    let at_mean = fit.mean_band(9.0).width();
    for x in [4.0, 8.0, 10.0, 14.0, 30.0] {
        assert!(fit.mean_band(x).width() > at_mean, "{x}");
    }
    // Half-width at x̄ is t·s/√n.
    close(
        at_mean / 2.0,
        fit.t_crit * fit.residual_se / 11f64.sqrt(),
        1e-12,
    );
    let at_zero = fit.mean_band(0.0);
    close(at_zero.lo, fit.intercept.ci.lo, 1e-12);
    close(at_zero.hi, fit.intercept.ci.hi, 1e-12);
}

#[test]
fn integer_weights_give_the_coefficients_of_repeated_points() {
    let x = [1.0, 2.0, 3.0, 4.0];
    let y = [1.1, 2.3, 2.8, 4.4];
    let w = [1.0, 3.0, 1.0, 2.0];
    let weighted = fit_linear_weighted(&x, &y, &w).unwrap();
    let (mut xr, mut yr) = (Vec::new(), Vec::new());
    for i in 0..4 {
        for _ in 0..w[i] as usize {
            xr.push(x[i]);
            yr.push(y[i]);
        }
    }
    let repeated = fit_linear(&xr, &yr).unwrap();
    close(weighted.slope.value, repeated.slope.value, 1e-12);
    close(weighted.intercept.value, repeated.intercept.value, 1e-12);
    close(weighted.r2.unwrap(), repeated.r2.unwrap(), 1e-12);
    // Zero weights leave points out.
    let w0 = fit_linear_weighted(
        &[1.0, 2.0, 3.0, 50.0],
        &[1.0, 2.0, 3.0, -9.0],
        &[1.0, 1.0, 1.0, 0.0],
    )
    .unwrap();
    assert_eq!(w0.n, 3);
    close(w0.slope.value, 1.0, 1e-12);
}

#[test]
fn a_perfect_line_has_zero_errors_and_a_constant_y_has_no_r2() {
    let fit = fit_linear(&[1.0, 2.0, 3.0, 4.0], &[3.0, 5.0, 7.0, 9.0]).unwrap();
    assert_eq!(fit.slope.se, 0.0);
    assert_eq!(fit.slope.ci.width(), 0.0);
    assert_eq!(fit.r2, Some(1.0));
    let flat = fit_linear(&[1.0, 2.0, 3.0], &[5.0, 5.0, 5.0]).unwrap();
    assert_eq!(flat.slope.value, 0.0);
    assert_eq!(flat.r2, None);
}

#[test]
fn degenerate_input_is_a_clear_error() {
    let e = fit_linear(&[], &[]).unwrap_err();
    assert!(
        matches!(
            e,
            FitError::TooFewPoints {
                got: 0,
                needed: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = fit_linear(&[1.0, 2.0], &[1.0, 2.0]).unwrap_err();
    assert!(matches!(e, FitError::TooFewPoints { got: 2, .. }));
    let e = fit_linear(&[64.0; 5], &[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap_err();
    assert_eq!(
        e,
        FitError::NoSpread {
            what: "linear fit",
            x: 64.0
        }
    );
    assert!(e.to_string().contains("every x is 64"), "{e}");
    let e = fit_linear(&[1.0, 2.0, f64::NAN], &[1.0, 2.0, 3.0]).unwrap_err();
    assert!(e.to_string().contains("x[2] is NaN"), "{e}");
    let e = fit_linear(&[1.0, 2.0, 3.0], &[1.0, f64::INFINITY, 3.0]).unwrap_err();
    assert!(e.to_string().contains("y[1] is inf"), "{e}");
    let e = fit_linear(&[1.0, 2.0, 3.0], &[1.0, 2.0]).unwrap_err();
    assert!(e.to_string().contains("x has 3 values but y has 2"), "{e}");
    let e = fit_linear_weighted(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], &[1.0, -1.0, 1.0]).unwrap_err();
    assert!(matches!(e, FitError::BadWeight { index: 1, .. }));
    let e = fit_linear_weighted(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], &[1.0, 0.0, 1.0]).unwrap_err();
    assert!(matches!(e, FitError::TooFewPoints { got: 2, .. }));
    let e = fit_linear_with(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], None, 1.0).unwrap_err();
    assert!(matches!(e, FitError::BadLevel { .. }));
}

#[test]
fn values_beyond_double_precision_are_an_error_not_nan() {
    let e = fit_linear(&[1e200, 2e200, 3e200], &[1e300, -1e300, 1e300]).unwrap_err();
    assert!(e.to_string().contains("rescale"), "{e}");
}

#[test]
fn a_line_that_shares_its_points_with_another_parameter_loses_its_degree_of_freedom() {
    let line = fit_linear(&ANSCOMBE_X, &ANSCOMBE_Y).unwrap();
    let knee = line.with_more_parameters(1).unwrap();
    assert_eq!((line.df, knee.df), (9, 8));
    // The same residuals: s² × df is the SSE in both.
    close(
        knee.residual_se.powi(2) * 8.0,
        line.residual_se.powi(2) * 9.0,
        1e-12,
    );
    close(knee.t_crit, t_quantile(0.975, 8.0).unwrap(), 1e-12);
    close(knee.slope.value, line.slope.value, 0.0);
    close(knee.slope.se, line.slope.se * (9.0f64 / 8.0).sqrt(), 1e-12);
    close(
        knee.slope.ci.hi - knee.slope.value,
        knee.t_crit * knee.slope.se,
        1e-12,
    );
    // The band widens by the same factor.
    let (b, k) = (line.mean_band(9.0), knee.mean_band(9.0));
    let widen = knee.t_crit * knee.residual_se / (line.t_crit * line.residual_se);
    close((k.hi - k.lo) / (b.hi - b.lo), widen, 1e-12);
    assert!(widen > 1.0);
    // Three points have one degree of freedom to give, not two.
    let three = fit_linear(&[1.0, 2.0, 3.0], &[1.0, 2.5, 2.9]).unwrap();
    assert!(three.with_more_parameters(1).is_none());
}
