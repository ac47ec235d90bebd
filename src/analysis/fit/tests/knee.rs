use super::super::*;
use super::close;

const PIXELS: [f64; 8] = [64.0, 128.0, 256.0, 384.0, 512.0, 640.0, 768.0, 1024.0];

fn cost(x: &[f64], psi: f64) -> Vec<f64> {
    x.iter().map(|p| 10.0 + 0.5 * p.min(psi)).collect()
}

#[test]
fn an_exact_knee_between_tested_values_is_found_exactly() {
    let knee = fit_knee(&PIXELS, &cost(&PIXELS, 448.0)).unwrap();
    assert_eq!(knee.verdict, KneeVerdict::Knee);
    close(knee.psi, 448.0, 1e-9);
    close(knee.plateau.value, 234.0, 1e-9);
    close(knee.line.slope.value, 0.5, 1e-9);
    close(knee.line.intercept.value, 10.0, 1e-9);
    assert!(knee.rss < 1e-12);
    assert_eq!(
        knee.bracket,
        Interval {
            lo: 384.0,
            hi: 512.0
        }
    );
    // The reported CI spans at least the segment; the profile one is tight (no noise).
    assert!(knee.psi_ci.lo <= 384.0 && knee.psi_ci.hi >= 512.0);
    assert!(
        knee.psi_ci_profile.width() < 10.0,
        "{:?}",
        knee.psi_ci_profile
    );
    close(knee.predict(2000.0), 234.0, 1e-9);
    close(knee.predict(100.0), 60.0, 1e-9);
}

#[test]
fn a_knee_at_a_tested_value_spans_both_neighbours() {
    let knee = fit_knee(&PIXELS, &cost(&PIXELS, 512.0)).unwrap();
    close(knee.psi, 512.0, 1e-9);
    assert_eq!(
        knee.bracket,
        Interval {
            lo: 384.0,
            hi: 640.0
        }
    );
    assert!(knee.psi_ci.contains(384.0) && knee.psi_ci.contains(640.0));
}

#[test]
fn flat_and_linear_data_have_no_knee() {
    let noise = [0.3, -0.2, 0.1, -0.4, 0.2, 0.0, -0.1, 0.3];
    let flat: Vec<f64> = noise.iter().map(|e| 50.0 + e).collect();
    assert_eq!(fit_knee(&PIXELS, &flat).unwrap().verdict, KneeVerdict::Flat);
    let linear: Vec<f64> = PIXELS
        .iter()
        .zip(noise)
        .map(|(x, e)| 5.0 + 0.2 * x + e)
        .collect();
    let fit = fit_knee(&PIXELS, &linear).unwrap();
    assert_eq!(fit.verdict, KneeVerdict::Linear);
    assert!(fit.psi_ci.hi >= 1024.0);
    // Exactly linear: ψ̂ is the largest tested value.
    let exact = fit_knee(&PIXELS, &cost(&PIXELS, 1e9)).unwrap();
    assert_eq!(exact.verdict, KneeVerdict::Linear);
    close(exact.psi, 1024.0, 1e-12);
}

#[test]
fn one_point_below_the_knee_still_fits() {
    // Only 64 px is below the clamp: ψ is somewhere in (64, 128].
    let y = cost(&PIXELS, 100.0);
    let knee = fit_knee(&PIXELS, &y).unwrap();
    assert_eq!(knee.verdict, KneeVerdict::Knee);
    assert!(knee.psi > 64.0 && knee.psi <= 128.0, "{}", knee.psi);
    assert!(knee.psi_ci.lo <= 64.0 && knee.psi_ci.hi >= 128.0);
    close(knee.plateau.value, 60.0, 1e-9);
}

#[test]
fn the_bootstrap_is_seeded() {
    let noise = [1.0, -2.0, 0.5, 1.5, -1.0, 0.0, 2.0, -0.5];
    let y: Vec<f64> = cost(&PIXELS, 448.0)
        .iter()
        .zip(noise)
        .map(|(c, e)| c + e)
        .collect();
    let opts = KneeOptions {
        bootstrap_reps: 200,
        seed: 9,
        ..KneeOptions::default()
    };
    let a = fit_knee_with(&PIXELS, &y, &opts).unwrap();
    let b = fit_knee_with(&PIXELS, &y, &opts).unwrap();
    assert_eq!(a, b);
    let ci = a.psi_ci_bootstrap.unwrap();
    assert!(ci.lo <= a.psi && a.psi <= ci.hi, "{ci:?} {}", a.psi);
    let none = fit_knee_with(
        &PIXELS,
        &y,
        &KneeOptions {
            bootstrap_reps: 0,
            ..opts
        },
    )
    .unwrap();
    assert_eq!(none.psi_ci_bootstrap, None);
    assert_eq!(none.psi_ci, a.psi_ci);
}

/// Fitted together (their bootstraps split over the cores, draws shared by size), the
/// fits are those made one at a time, including a failed one in the middle.
#[test]
fn fits_made_together_are_the_fits_made_one_by_one() {
    let opts = KneeOptions {
        bootstrap_reps: 50,
        seed: 3,
        ..KneeOptions::default()
    };
    let short: Vec<f64> = PIXELS[..6].to_vec();
    let mut data: Vec<(Vec<f64>, Vec<f64>)> = (0..7)
        .map(|i| {
            let x = if i % 3 == 1 {
                short.clone()
            } else {
                PIXELS.to_vec()
            };
            let y: Vec<f64> = cost(&x, 200.0 + 60.0 * f64::from(i))
                .iter()
                .enumerate()
                .map(|(j, c)| c + f64::from((j * 7 + i as usize) as u32 % 5) - 2.0)
                .collect();
            (x, y)
        })
        .collect();
    data.insert(3, (vec![1.0, 2.0], vec![1.0, 2.0]));
    let slices: Vec<(&[f64], &[f64])> = data
        .iter()
        .map(|(x, y)| (x.as_slice(), y.as_slice()))
        .collect();
    let together = fit_knees_with(&slices, &opts);
    assert_eq!(together.len(), data.len());
    for ((x, y), got) in data.iter().zip(&together) {
        assert_eq!(got, &fit_knee_with(x, y, &opts));
    }
    for (i, fit) in together.iter().enumerate() {
        match fit {
            Ok(f) => assert!(i != 3 && f.psi_ci_bootstrap.is_some()),
            Err(_) => assert_eq!(i, 3),
        }
    }
}

#[test]
fn too_little_data_is_a_clear_error() {
    let e = fit_knee(&[], &[]).unwrap_err();
    assert!(
        matches!(
            e,
            FitError::TooFewPoints {
                got: 0,
                needed: 4,
                ..
            }
        ),
        "{e}"
    );
    let e = fit_knee(&[1.0, 2.0, 3.0], &[1.0, 2.0, 2.0]).unwrap_err();
    assert!(matches!(e, FitError::TooFewPoints { got: 3, .. }), "{e}");
    let e = fit_knee(&[448.0; 6], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap_err();
    assert_eq!(
        e,
        FitError::NoSpread {
            what: "knee fit",
            x: 448.0
        }
    );
    let e = fit_knee(&[1.0, 1.0, 2.0, 2.0], &[1.0, 2.0, 3.0, 4.0]).unwrap_err();
    assert!(e.to_string().contains("only 2 x values (1 and 2)"), "{e}");
    let e = fit_knee(&[1.0, 2.0, 3.0, f64::NEG_INFINITY], &[1.0; 4]).unwrap_err();
    assert!(e.to_string().contains("x[3] is -inf"), "{e}");
    let opts = KneeOptions {
        level: 0.0,
        ..KneeOptions::default()
    };
    assert!(matches!(
        fit_knee_with(&PIXELS, &cost(&PIXELS, 448.0), &opts),
        Err(FitError::BadLevel { .. })
    ));
}

#[test]
fn values_near_f64_s_range_are_an_error_never_an_infinite_fit() {
    // Found by the property test: x² and y² overflow.
    let x = [
        0.0,
        0.0,
        0.0,
        1.465_554_359_850_852_5e307,
        0.0,
        0.0,
        0.0,
        -854_008.77,
        0.0,
        0.0,
        0.0,
    ];
    let mut y = [0.0; 11];
    y[7] = 5.752_888_096_073_068e119;
    let opts = KneeOptions {
        bootstrap_reps: 20,
        seed: 15_768_224_544_299_430_616,
        ..KneeOptions::default()
    };
    let err = fit_knee_with(&x, &y, &opts).unwrap_err();
    assert!(err.to_string().contains("too large to fit"), "{err}");
}
