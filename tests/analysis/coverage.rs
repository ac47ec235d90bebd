//! Every CI covers the truth at its nominal rate over 1000 seeded repetitions.

use edgewatt::analysis::fit::*;

use super::assert_coverage;
use super::Noise;
use super::COVERAGE_TOLERANCE;
use super::REPS;

#[test]
fn the_line_s_cis_and_band_cover_at_95_percent() {
    let x = [
        16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 16.0, 64.0, 256.0, 512.0,
    ];
    let (a, b) = (120.0, 0.85);
    let (mut hit_a, mut hit_b, mut hit_band) = (0, 0, 0);
    for seed in 0..REPS {
        let mut noise = Noise::new(seed);
        let y: Vec<f64> = x.iter().map(|t| a + b * t + noise.normal(25.0)).collect();
        let fit = fit_linear(&x, &y).unwrap();
        hit_a += u64::from(fit.intercept.ci.contains(a));
        hit_b += u64::from(fit.slope.ci.contains(b));
        hit_band += u64::from(fit.mean_band(400.0).contains(a + b * 400.0));
    }
    assert_coverage("OLS intercept", hit_a, REPS);
    assert_coverage("OLS slope", hit_b, REPS);
    assert_coverage("OLS band of the mean at x = 400", hit_band, REPS);
}

#[test]
fn weighted_cis_cover_when_the_weights_are_the_inverse_variances() {
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let sd: Vec<f64> = x.iter().map(|v| 0.5 * v).collect();
    let w: Vec<f64> = sd.iter().map(|s| 1.0 / (s * s)).collect();
    let mut hits = 0;
    for seed in 0..REPS {
        let mut noise = Noise::new(10_000 + seed);
        let y: Vec<f64> = x
            .iter()
            .zip(&sd)
            .map(|(v, s)| 3.0 + 2.0 * v + noise.normal(*s))
            .collect();
        hits += u64::from(
            fit_linear_weighted(&x, &y, &w)
                .unwrap()
                .slope
                .ci
                .contains(2.0),
        );
    }
    assert_coverage("WLS slope", hits, REPS);
}

#[test]
fn least_squares_cis_cover_every_coefficient() {
    let mut rng = edgewatt::synth::Rng::new(3);
    let t: Vec<f64> = (0..15).map(|_| 5.0 + rng.below(100) as f64).collect();
    let cpu: Vec<f64> = t
        .iter()
        .map(|d| d * (10.0 + rng.below(300) as f64))
        .collect();
    let ram: Vec<f64> = t
        .iter()
        .map(|d| d * (100.0 + rng.below(500) as f64))
        .collect();
    let truth = [2.9, 0.0352, 0.0011];
    let mut hits = [0u64; 3];
    for seed in 0..REPS {
        let mut noise = Noise::new(20_000 + seed);
        let e: Vec<f64> = (0..15)
            .map(|i| truth[0] * t[i] + truth[1] * cpu[i] + truth[2] * ram[i] + noise.normal(8.0))
            .collect();
        let fit = fit_least_squares(&[&t, &cpu, &ram], &e).unwrap();
        for j in 0..3 {
            hits[j] += u64::from(fit.coefficients[j].ci.contains(truth[j]));
        }
    }
    for (j, name) in ["P_idle", "a (CPU)", "b (RAM)"].iter().enumerate() {
        assert_coverage(&format!("least squares {name}"), hits[j], REPS);
    }
}

#[test]
fn fieller_and_mean_cis_cover_at_95_percent() {
    let (mut hit_ratio, mut hit_mean) = (0, 0);
    for seed in 0..REPS {
        let mut noise = Noise::new(30_000 + seed);
        // Unequal sizes and variances: 8 base runs sd 1.5, 6 compressed runs sd 0.4.
        let base: Vec<f64> = (0..8).map(|_| 10.0 + noise.normal(1.5)).collect();
        let other: Vec<f64> = (0..6).map(|_| 4.0 + noise.normal(0.4)).collect();
        hit_ratio += u64::from(
            ratio_of_means(&base, &other)
                .unwrap()
                .ratio_ci
                .contains(0.4),
        );
        hit_mean += u64::from(mean_ci(&other).unwrap().ci.contains(4.0));
    }
    assert_coverage("Fieller ratio of means", hit_ratio, REPS);
    assert_coverage("mean", hit_mean, REPS);
}

#[test]
fn the_knee_cis_cover_psi() {
    let sides = [
        64.0, 128.0, 224.0, 336.0, 448.0, 560.0, 672.0, 896.0, 1120.0, 1792.0,
    ];
    let x: Vec<f64> = sides.iter().flat_map(|&s| [s; 3]).collect();
    let psi = 600.0;
    let (mut hit_reported, mut hit_profile, mut hit_boot) = (0, 0, 0);
    let reps = REPS / 4;
    for seed in 0..reps {
        let mut noise = Noise::new(40_000 + seed);
        let y: Vec<f64> = x
            .iter()
            .map(|s| 40.0 + 0.9 * s.min(psi) + noise.normal(30.0))
            .collect();
        let opts = KneeOptions {
            bootstrap_reps: 199,
            seed,
            ..KneeOptions::default()
        };
        let knee = fit_knee_with(&x, &y, &opts).unwrap();
        hit_reported += u64::from(knee.psi_ci.contains(psi));
        hit_profile += u64::from(knee.psi_ci_profile.contains(psi));
        hit_boot += u64::from(knee.psi_ci_bootstrap.unwrap().contains(psi));
    }
    let rate = |h: u64| h as f64 / reps as f64;
    eprintln!(
        "knee ψ coverage over {reps}: reported {:.3}, profile {:.3}, bootstrap {:.3}",
        rate(hit_reported),
        rate(hit_profile),
        rate(hit_boot)
    );
    // The profile CI is asymptotic; the reported one, widened to the tested values around
    // ψ̂, is conservative. Both must reach the nominal rate within the binomial tolerance
    // of this many repetitions (sd 0.014 at 250).
    assert!(
        rate(hit_profile) >= 0.95 - 2.0 * COVERAGE_TOLERANCE,
        "{}",
        rate(hit_profile)
    );
    assert!(
        rate(hit_reported) >= 0.95 - COVERAGE_TOLERANCE,
        "{}",
        rate(hit_reported)
    );
    assert!(rate(hit_reported) >= rate(hit_profile));
}
