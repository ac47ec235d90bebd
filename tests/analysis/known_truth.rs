//! Synthetic data with known coefficients: the fits recover them.

use edgewatt::analysis::fit::*;

use super::Noise;

/// Prompt lengths of an LLM sweep, 5 repetitions each.
fn token_sweep() -> Vec<f64> {
    let lengths = [16.0, 32.0, 64.0, 128.0, 256.0, 384.0, 512.0];
    lengths.iter().flat_map(|&t| [t; 5]).collect()
}

#[test]
fn the_token_law_slope_is_recovered_within_2_percent() {
    let x = token_sweep();
    for seed in 0..50 {
        let mut noise = Noise::new(seed);
        // CPU AUC (%·s) = 120 + 0.85·tokens, noise sd 3 %·s.
        let y: Vec<f64> = x
            .iter()
            .map(|t| 120.0 + 0.85 * t + noise.normal(3.0))
            .collect();
        let fit = fit_linear(&x, &y).unwrap();
        let err = (fit.slope.value - 0.85).abs() / 0.85;
        assert!(
            err < 0.02,
            "seed {seed}: slope {} ({:.2} %)",
            fit.slope.value,
            err * 100.0
        );
        assert!((fit.intercept.value - 120.0).abs() < 5.0, "seed {seed}");
        assert!(fit.r2.unwrap() > 0.99);
    }
}

/// Input sizes (px per side) of a VLM sweep, denser near the clamp, 3 repetitions each.
const SIDES: [f64; 11] = [
    64.0, 128.0, 224.0, 336.0, 448.0, 560.0, 672.0, 896.0, 1120.0, 1344.0, 1792.0,
];

#[test]
fn the_knee_is_recovered_within_one_grid_step() {
    let x: Vec<f64> = SIDES.iter().flat_map(|&s| [s; 3]).collect();
    for (seed, psi_true) in (0..40).zip([600.0, 448.0, 1000.0, 300.0].into_iter().cycle()) {
        let mut noise = Noise::new(seed);
        // Encode ms = 40 + 0.9·min(side, ψ), noise sd 2 % of the plateau.
        let sd = 0.02 * (40.0 + 0.9 * psi_true);
        let y: Vec<f64> = x
            .iter()
            .map(|s| 40.0 + 0.9 * s.min(psi_true) + noise.normal(sd))
            .collect();
        let opts = KneeOptions {
            bootstrap_reps: 99,
            seed,
            ..KneeOptions::default()
        };
        let knee = fit_knee_with(&x, &y, &opts).unwrap();
        let step = knee.bracket.width();
        assert_eq!(knee.verdict, KneeVerdict::Knee, "seed {seed} ψ {psi_true}");
        assert!(
            (knee.psi - psi_true).abs() <= step,
            "seed {seed}: ψ̂ {} vs {psi_true}, step {step}",
            knee.psi
        );
        let level = 40.0 + 0.9 * psi_true;
        assert!(
            (knee.plateau.value - level).abs() < 0.02 * level,
            "seed {seed}"
        );
        assert!((knee.line.slope.value - 0.9).abs() < 0.1, "seed {seed}");
    }
}

#[test]
fn flat_and_unclamped_sweeps_are_reported_as_no_knee() {
    let x: Vec<f64> = SIDES.iter().flat_map(|&s| [s; 3]).collect();
    let mut flat_right = 0;
    let mut linear_right = 0;
    for seed in 0..100 {
        let mut noise = Noise::new(1000 + seed);
        let flat: Vec<f64> = x.iter().map(|_| 300.0 + noise.normal(6.0)).collect();
        let line: Vec<f64> = x
            .iter()
            .map(|s| 40.0 + 0.9 * s + noise.normal(20.0))
            .collect();
        let opts = KneeOptions {
            bootstrap_reps: 0,
            ..KneeOptions::default()
        };
        flat_right +=
            u32::from(fit_knee_with(&x, &flat, &opts).unwrap().verdict == KneeVerdict::Flat);
        linear_right +=
            u32::from(fit_knee_with(&x, &line, &opts).unwrap().verdict == KneeVerdict::Linear);
    }
    eprintln!("no-knee verdicts: flat {flat_right}/100, linear {linear_right}/100");
    // Nominal 95 %; the tests are approximate (ψ is not identified without a knee).
    assert!(flat_right >= 85, "flat recognised {flat_right}/100");
    assert!(linear_right >= 85, "linear recognised {linear_right}/100");
}

#[test]
fn the_energy_model_coefficients_are_recovered_within_2_percent() {
    // E (J) = P_idle·T + a·CPU_AUC + b·RAM_AUC over 60 runs shaped like a calibration
    // plan: a third idle spans, the rest 1…4-thread loads of varied length, models of
    // 100…1600 MB; 0.3 % noise on the metered energy.
    let (p_idle, a, b) = (2.9, 0.0352, 0.0011);
    let mut worst: f64 = 0.0;
    for seed in 0..30 {
        let mut noise = Noise::new(500 + seed);
        let mut rng = edgewatt::synth::Rng::new(seed);
        let (mut t, mut cpu, mut ram, mut e) = (vec![], vec![], vec![], vec![]);
        for run in 0..60 {
            let dur_s = 5.0 + rng.below(120) as f64;
            let load_pct = if run % 3 == 0 {
                1.0
            } else {
                25.0 * (1 + rng.below(4)) as f64
            };
            let ram_mb = 100.0 + rng.below(1500) as f64;
            let (c, r) = (load_pct * dur_s, ram_mb * dur_s);
            let truth = p_idle * dur_s + a * c + b * r;
            t.push(dur_s);
            cpu.push(c);
            ram.push(r);
            e.push(truth * (1.0 + noise.normal(0.003)));
        }
        let fit = fit_least_squares(&[&t, &cpu, &ram], &e).unwrap();
        for (got, want) in fit.coefficients.iter().zip([p_idle, a, b]) {
            let err = (got.value - want).abs() / want;
            worst = worst.max(err);
            assert!(
                err < 0.02,
                "seed {seed}: {} vs {want} ({:.2} %)",
                got.value,
                err * 100.0
            );
        }
        let cv = cross_validate(&[&t, &cpu, &ram], &e, 5, seed).unwrap();
        assert!(
            cv.errors.mape_pct < 2.0,
            "seed {seed}: CV MAPE {}",
            cv.errors.mape_pct
        );
    }
    eprintln!(
        "energy model: worst coefficient error {:.2} % over 30 seeds",
        worst * 100.0
    );
}

#[test]
fn the_compression_table_recovers_known_reductions() {
    // Paper-like truth: CPU AUC −60.5 %, throughput ×2.6; 10 runs each, 5 % noise.
    for seed in 0..30 {
        let mut noise = Noise::new(7000 + seed);
        let mut draw = |mean: f64| -> Vec<f64> {
            (0..10).map(|_| mean * (1.0 + noise.normal(0.05))).collect()
        };
        let (base_auc, small_auc) = (draw(1000.0), draw(395.0));
        let (base_tps, small_tps) = (draw(5.0), draw(13.0));
        let auc = ratio_of_means(&base_auc, &small_auc).unwrap();
        let tps = ratio_of_means(&base_tps, &small_tps).unwrap();
        assert!(
            (auc.pct_change - -60.5).abs() < 3.0,
            "seed {seed}: {}",
            auc.pct_change
        );
        assert!((tps.ratio - 2.6).abs() < 0.15, "seed {seed}: {}", tps.ratio);
    }
}

#[test]
fn an_estimate_with_known_errors_is_summarised() {
    let measured: Vec<f64> = (1..=20).map(|i| 100.0 * f64::from(i)).collect();
    // Every estimate 8 % high except the 5th, 30 % low.
    let mut estimated: Vec<f64> = measured.iter().map(|m| m * 1.08).collect();
    estimated[4] = measured[4] * 0.7;
    let s = compare_estimates(&estimated, &measured).unwrap();
    assert!((s.mape_pct - (19.0 * 8.0 + 30.0) / 20.0).abs() < 1e-9);
    assert!((s.bias_pct - (19.0 * 8.0 - 30.0) / 20.0).abs() < 1e-9);
    assert_eq!(s.worst.index, 4);
    assert!((s.worst.error_pct - -30.0).abs() < 1e-9);
}

#[test]
fn the_cases_a_report_meets_give_errors_not_nan() {
    // No runs, or all failed (the caller drops failed runs: nothing is left).
    assert!(matches!(
        fit_linear(&[], &[]),
        Err(FitError::TooFewPoints { got: 0, .. })
    ));
    assert!(matches!(
        fit_knee(&[], &[]),
        Err(FitError::TooFewPoints { got: 0, .. })
    ));
    assert!(ratio_of_means(&[], &[]).is_err());
    assert!(compare_estimates(&[], &[]).is_err());
    // One token length.
    assert!(matches!(
        fit_linear(&[64.0; 6], &[1.0, 2.0, 1.5, 1.2, 1.1, 1.3]),
        Err(FitError::NoSpread { .. })
    ));
    // A single point per case: the law fits, a ratio cannot have a CI.
    let fit = fit_linear(&[16.0, 64.0, 256.0], &[30.0, 71.0, 240.0]).unwrap();
    assert!(fit.slope.ci.lo.is_finite() && fit.slope.ci.hi.is_finite());
    let knee = fit_knee(&[64.0, 224.0, 448.0, 896.0], &[10.0, 40.0, 80.0, 80.5]).unwrap();
    assert!(knee.psi.is_finite() && knee.residual_se.is_finite());
    let e = ratio_of_means(&[12.0], &[5.0]).unwrap_err();
    assert!(e.to_string().contains("2 or more runs"), "{e}");
    // A gap: a run without a value is NaN until dropped, and the error names it.
    let e = fit_linear(&[16.0, 32.0, 64.0, 128.0], &[20.0, f64::NAN, 70.0, 130.0]).unwrap_err();
    assert!(e.to_string().contains("y[1] is NaN"), "{e}");
    let e = compare_estimates(&[1.0, 2.0], &[1.0, f64::NAN]).unwrap_err();
    assert!(e.to_string().contains("measured[1] is NaN"), "{e}");
}
