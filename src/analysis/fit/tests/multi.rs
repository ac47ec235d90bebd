use super::super::*;
use super::close;

#[test]
fn with_a_ones_column_it_is_the_simple_line() {
    let x = [10., 8., 13., 9., 11., 14., 6., 4., 12., 7., 5.];
    let y = [
        8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68,
    ];
    let ones = [1.0; 11];
    let multi = fit_least_squares(&[&ones, &x], &y).unwrap();
    let line = fit_linear(&x, &y).unwrap();
    assert_eq!((multi.n, multi.df), (11, 9));
    for (m, l) in multi.coefficients.iter().zip([line.intercept, line.slope]) {
        close(m.value, l.value, 1e-12);
        close(m.se, l.se, 1e-10);
        close(m.ci.lo, l.ci.lo, 1e-10);
        close(m.ci.hi, l.ci.hi, 1e-10);
    }
    close(multi.residual_se, line.residual_se, 1e-12);
    close(multi.r2.unwrap(), line.r2.unwrap(), 1e-12);
}

#[test]
fn columns_of_very_different_scales_are_solved_exactly() {
    // E = P_idle·T + a·CPU AUC (%·s) + b·RAM AUC (MB·s): scales 1e1, 1e5, 1e7.
    let t: Vec<f64> = (1..=12).map(|i| 10.0 * f64::from(i)).collect();
    let cpu: Vec<f64> = (1..=12)
        .map(|i| 1e4 * f64::from((i * 7) % 13 + 1))
        .collect();
    let ram: Vec<f64> = (1..=12)
        .map(|i| 1e6 * f64::from((i * 5) % 11 + 2))
        .collect();
    let e: Vec<f64> = (0..12)
        .map(|i| 3.1 * t[i] + 0.0345 * cpu[i] + 2e-5 * ram[i])
        .collect();
    let fit = fit_least_squares(&[&t, &cpu, &ram], &e).unwrap();
    close(fit.coefficients[0].value, 3.1, 1e-10);
    close(fit.coefficients[1].value, 0.0345, 1e-10);
    close(fit.coefficients[2].value, 2e-5, 1e-10);
    close(fit.predict(&[1.0, 0.0, 0.0]), 3.1, 1e-10);
}

#[test]
fn collinear_and_degenerate_columns_are_named() {
    let x = [1.0, 2.0, 3.0, 4.0, 5.0];
    let twice = [2.0, 4.0, 6.0, 8.0, 10.0];
    let y = [1.0, 3.0, 2.0, 5.0, 4.0];
    let e = fit_least_squares(&[&x, &twice], &y).unwrap_err();
    assert_eq!(
        e,
        FitError::Collinear {
            what: "least squares",
            column: 1
        }
    );
    let zero = [0.0; 5];
    let e = fit_least_squares(&[&zero, &x], &y).unwrap_err();
    assert_eq!(
        e,
        FitError::Collinear {
            what: "least squares",
            column: 0
        }
    );
    let e = fit_least_squares(&[&x[..2], &twice[..2]], &y[..2]).unwrap_err();
    assert!(
        matches!(
            e,
            FitError::TooFewPoints {
                needed: 3,
                got: 2,
                ..
            }
        ),
        "{e}"
    );
    let e = fit_least_squares(&[], &y).unwrap_err();
    assert!(e.to_string().contains("no regressor columns"), "{e}");
    let e = fit_least_squares(&[&x[..4]], &y).unwrap_err();
    assert!(matches!(e, FitError::LengthMismatch { .. }), "{e}");
    let e = fit_least_squares(&[&[1.0, 2.0, f64::NAN, 4.0, 5.0]], &y).unwrap_err();
    assert!(e.to_string().contains("regressor[2] is NaN"), "{e}");
}

#[test]
fn cross_validation_predicts_each_point_from_the_other_folds() {
    let x: Vec<f64> = (10..30).map(f64::from).collect();
    let ones = vec![1.0; 20];
    // A line plus one outlier at x = 16: its own prediction misses it most.
    let mut y: Vec<f64> = x.iter().map(|x| 4.0 + 2.0 * x).collect();
    y[6] += 50.0;
    let cv = cross_validate(&[&ones, &x], &y, 20, 1).unwrap();
    assert_eq!(cv.folds, 20);
    assert_eq!(cv.errors.worst.index, 6);
    // Leave-one-out: the outlier's prediction is the line fitted to the other 19 exactly.
    close(cv.predictions[6], 36.0, 1e-9);
    // Same seed, same folds; 5-fold gives each point a prediction.
    let a = cross_validate(&[&ones, &x], &y, 5, 42).unwrap();
    let b = cross_validate(&[&ones, &x], &y, 5, 42).unwrap();
    assert_eq!(a, b);
    assert!(a.errors.mape_pct > 0.0 && a.errors.mape_pct.is_finite());
}

#[test]
fn cross_validation_refuses_bad_fold_counts() {
    let x = [1.0, 2.0, 3.0, 4.0];
    let y = [1.0, 2.0, 3.0, 4.0];
    for folds in [0, 1, 5] {
        let e = cross_validate(&[&x], &y, folds, 0).unwrap_err();
        assert!(e.to_string().contains("use 2 to 4 folds"), "{e}");
    }
    let ones = [1.0; 4];
    let three = [3.0, 1.0, 4.0, 1.0];
    let e = cross_validate(&[&ones, &x, &three], &y, 2, 0).unwrap_err();
    assert!(
        matches!(
            e,
            FitError::TooFewPoints {
                needed: 3,
                got: 2,
                ..
            }
        ),
        "{e}"
    );
    let e = cross_validate(&[&x], &[0.0, 1.0, 2.0, 3.0], 2, 0).unwrap_err();
    assert!(e.to_string().contains("measured[0] is 0"), "{e}");
}
