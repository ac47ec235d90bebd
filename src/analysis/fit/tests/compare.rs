use super::super::*;
use super::close;

#[test]
fn fieller_interval_solves_its_quadratic() {
    let base = [10.0, 11.0, 9.0, 10.5, 9.5];
    let other = [4.0, 4.4, 3.8, 4.2, 4.1];
    let r = ratio_of_means(&base, &other).unwrap();
    close(r.ratio, 4.1 / 10.0, 1e-12);
    close(r.pct_change, -59.0, 1e-9);
    // At each end, (m_o − ρ·m_b)² = t²·(v_o + ρ²·v_b).
    let (vb, vo) = (0.625 / 5.0, 0.05 / 5.0);
    let t = t_quantile(0.975, r.df).unwrap();
    for rho in [r.ratio_ci.lo, r.ratio_ci.hi] {
        let lhs = (4.1 - rho * 10.0).powi(2);
        let rhs = t * t * (vo + rho * rho * vb);
        close(lhs, rhs, 1e-9);
    }
    assert!(r.ratio_ci.lo < r.ratio && r.ratio < r.ratio_ci.hi);
    // Fieller's interval is not symmetric: longer on the high side for a ratio below 1.
    assert!(r.ratio_ci.hi - r.ratio > r.ratio - r.ratio_ci.lo);
    close(r.pct_change_ci.lo, (r.ratio_ci.lo - 1.0) * 100.0, 1e-12);
    assert!(r.df > 4.0 && r.df < 8.0, "Welch df {}", r.df);
}

#[test]
fn ratios_without_noise_are_exact_and_unbounded_ones_are_refused() {
    let r = ratio_of_means(&[2.0, 2.0, 2.0], &[5.0, 5.0]).unwrap();
    assert_eq!((r.ratio, r.ratio_ci.lo, r.ratio_ci.hi), (2.5, 2.5, 2.5));
    let e = ratio_of_means(&[-1.0, 1.0, 0.5, -0.4], &[5.0, 5.2]).unwrap_err();
    assert!(matches!(e, FitError::UnboundedRatio { .. }), "{e}");
    let e = ratio_of_means(&[0.0, 0.0], &[5.0, 5.2]).unwrap_err();
    assert!(matches!(e, FitError::UnboundedRatio { .. }), "{e}");
    let e = ratio_of_means(&[1.0], &[5.0, 5.2]).unwrap_err();
    assert!(
        e.to_string()
            .contains("the base model needs 2 or more runs"),
        "{e}"
    );
    let e = ratio_of_means(&[1.0, 2.0], &[]).unwrap_err();
    assert!(
        e.to_string()
            .contains("the other model needs 2 or more runs"),
        "{e}"
    );
    let e = ratio_of_means(&[1.0, f64::NAN], &[1.0, 2.0]).unwrap_err();
    assert!(e.to_string().contains("base[1] is NaN"), "{e}");
}

#[test]
fn mean_ci_is_the_t_interval() {
    let m = mean_ci(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
    close(m.value, 3.0, 1e-12);
    close(m.se, (2.5f64 / 5.0).sqrt(), 1e-12);
    close(m.ci.hi - 3.0, 2.776_445 * m.se, 1e-6);
    assert!(mean_ci(&[1.0]).is_err());
    assert!(mean_ci(&[]).is_err());
}

#[test]
fn agreement_is_symmetric_bounded_and_whitespace_blind() {
    let pairs = [
        (
            "The capital of France is Paris.",
            "Paris is the capital of France.",
        ),
        ("1 2 3 4", "1234"),
        ("a", "ab"),
        ("", "something"),
        ("naïve café", "naive cafe"),
    ];
    for (a, b) in pairs {
        let ab = output_agreement(a, b);
        let ba = output_agreement(b, a);
        assert_eq!(ab, ba, "{a:?} {b:?}");
        assert!((0.0..=1.0).contains(&ab), "{a:?} {b:?}: {ab}");
    }
    assert_eq!(output_agreement("1 2 3 4", "1234"), 1.0);
    // Repeated n-grams count with multiplicity: "aaaa" has 4 a's, 3 "aa", 2 "aaa" and 1
    // "aaaa"; "aa" has 2 a's and 1 "aa", so 2 and 1 are shared. Averaged over the 4 orders
    // either text has: P = (2/4 + 1/3 + 0 + 0)/4, R = (2/2 + 1/1 + 0 + 0)/4.
    let (p, r) = ((0.5 + 1.0 / 3.0) / 4.0, 0.5);
    assert!((output_agreement("aaaa", "aa") - 2.0 * p * r / (p + r)).abs() < 1e-12);
    assert_eq!(output_agreement("", ""), 1.0);
    assert_eq!(output_agreement("", "x"), 0.0);
    // "a" vs "ab": order 1 P = 1, R = ½; order 2 P = 0, R = 0 → P̄ = ½, R̄ = ¼ → F = ⅓.
    close(output_agreement("a", "ab"), 1.0 / 3.0, 1e-12);
    let reordered = output_agreement(pairs[0].0, pairs[0].1);
    assert!(reordered > 0.6 && reordered < 1.0, "{reordered}");
}

#[test]
fn estimate_errors_are_computed_per_run() {
    let est = [11.0, 18.0, 33.0, 40.0];
    let meas = [10.0, 20.0, 30.0, 40.0];
    let s = compare_estimates(&est, &meas).unwrap();
    assert_eq!(s.n, 4);
    close(s.mape_pct, (10.0 + 10.0 + 10.0 + 0.0) / 4.0, 1e-12);
    close(s.bias, (1.0 - 2.0 + 3.0 + 0.0) / 4.0, 1e-12);
    close(s.bias_pct, (10.0 - 10.0 + 10.0) / 4.0, 1e-12);
    close(s.rmse, (14.0f64 / 4.0).sqrt(), 1e-12);
    close(s.r2.unwrap(), 1.0 - 14.0 / 500.0, 1e-12);
    // Ties on |%| go to the last; every worst case is 10 %.
    assert!((s.worst.error_pct.abs() - 10.0).abs() < 1e-12);
    // R² can go negative: worse than predicting the mean.
    let bad = compare_estimates(&[40.0, 10.0], &[10.0, 40.0]).unwrap();
    assert!(bad.r2.unwrap() < 0.0);
    let one = compare_estimates(&[5.0], &[4.0]).unwrap();
    assert_eq!(one.r2, None);
    close(one.mape_pct, 25.0, 1e-12);
    let e = compare_estimates(&[], &[]).unwrap_err();
    assert!(matches!(e, FitError::TooFewPoints { got: 0, .. }), "{e}");
    let e = compare_estimates(&[1.0, 2.0], &[1.0, 0.0]).unwrap_err();
    assert!(e.to_string().contains("measured[1] is 0"), "{e}");
    assert!(compare_estimates(&[1.0], &[1.0, 2.0]).is_err());
}

/// chrF as first written: n-grams as sorted char slices.
fn direct_agreement(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().filter(|c| !c.is_whitespace()).collect();
    let b: Vec<char> = b.chars().filter(|c| !c.is_whitespace()).collect();
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut p_sum, mut r_sum, mut orders) = (0.0, 0.0, 0u32);
    for n in 1..=6 {
        let (ta, tb) = (a.len().saturating_sub(n - 1), b.len().saturating_sub(n - 1));
        if ta == 0 && tb == 0 {
            break;
        }
        let mut ga: Vec<&[char]> = a.windows(n).collect();
        let mut gb: Vec<&[char]> = b.windows(n).collect();
        ga.sort_unstable();
        gb.sort_unstable();
        let (mut i, mut j, mut shared) = (0, 0, 0usize);
        while i < ga.len() && j < gb.len() {
            match ga[i].cmp(gb[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => (i, j, shared) = (i + 1, j + 1, shared + 1),
            }
        }
        p_sum += if ta > 0 {
            shared as f64 / ta as f64
        } else {
            0.0
        };
        r_sum += if tb > 0 {
            shared as f64 / tb as f64
        } else {
            0.0
        };
        orders += 1;
    }
    let (p, r) = (p_sum / f64::from(orders), r_sum / f64::from(orders));
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

proptest::proptest! {
    /// Packed n-gram keys (and the shortcut for equal texts) give chrF as the char-slice
    /// n-grams do, to the bit: few letters (many shared and repeated n-grams), spaces,
    /// chars above U+FFFF and the largest char.
    #[test]
    fn packed_ngrams_match_char_slices(
        a in "[ab \u{e9}\u{1F600}\u{10FFFF}]{0,40}",
        b in "[ab \u{e9}\u{1F600}\u{10FFFF}]{0,40}",
    ) {
        proptest::prop_assert_eq!(output_agreement(&a, &b).to_bits(), direct_agreement(&a, &b).to_bits());
        proptest::prop_assert_eq!(output_agreement(&a, &a).to_bits(), direct_agreement(&a, &a).to_bits());
        let joined = format!("{a}{b}");
        proptest::prop_assert_eq!(
            output_agreement(&a, &joined).to_bits(),
            direct_agreement(&a, &joined).to_bits()
        );
    }
}

/// The reviewer's sweep: two cases, each exactly 60 % cheaper. Pooled, the runs' spread
/// between cases reads as noise; case by case the change is −60 % with a CI from the
/// noise within cases, and dropping runs of one case does not move it.
#[test]
fn case_means_keep_the_spread_between_cases_out_of_the_ci() {
    let base = [10.0, 10.2, 9.8, 100.0, 102.0, 98.0];
    let other = [4.0, 4.08, 3.92, 40.0, 40.8, 39.2];
    let pooled = ratio_of_means(&base, &other).unwrap();
    close(pooled.pct_change, -60.0, 1e-9);
    assert!(pooled.pct_change_ci.lo < -90.0 && pooled.pct_change_ci.hi > 100.0);
    let cases: [(&[f64], &[f64]); 2] = [(&base[..3], &other[..3]), (&base[3..], &other[3..])];
    let r = ratio_of_case_means(&cases).unwrap();
    close(r.pct_change, -60.0, 1e-9);
    close(r.mean_base, 55.0, 1e-12);
    close(r.mean_other, 22.0, 1e-12);
    assert_eq!((r.n_base, r.n_other, r.cases), (6, 6, 2));
    // Each case's values vary by exactly ±2 %: the variance of each model's mean of case
    // means is (1/4)·Σ sᵢ²/3, with sᵢ = 0.02·mᵢ.
    let var = |m: [f64; 2]| m.iter().map(|m| (0.02 * m).powi(2) / 3.0).sum::<f64>() / 4.0;
    let (vb, vo) = (var([10.0, 100.0]), var([4.0, 40.0]));
    let t = t_quantile(0.975, r.df).unwrap();
    for rho in [r.ratio_ci.lo, r.ratio_ci.hi] {
        close(
            (22.0 - rho * 55.0).powi(2),
            t * t * (vo + rho * rho * vb),
            1e-9,
        );
    }
    assert!(
        r.pct_change_ci.lo > -63.0 && r.pct_change_ci.hi < -57.0,
        "{r:?}"
    );
    // Two compressed runs of the long case left out (flagged): the pooled mean moves to
    // −76 %, the case means stay at −60 %.
    let kept: [(&[f64], &[f64]); 2] = [(&base[..3], &other[..3]), (&base[3..], &other[3..4])];
    let pooled = ratio_of_means(&base, &[&other[..3], &other[3..4]].concat()).unwrap();
    assert!(pooled.pct_change < -75.0, "{pooled:?}");
    let r = ratio_of_case_means(&kept).unwrap();
    close(r.pct_change, -60.0, 1e-9);
    assert_eq!((r.n_other, r.cases), (4, 2));
    assert!(
        r.pct_change_ci.contains(-60.0) && r.pct_change_ci.hi < -50.0,
        "{r:?}"
    );
}

#[test]
fn case_means_need_a_shared_case_and_a_repeated_one() {
    let e = ratio_of_case_means(&[(&[1.0, 2.0], &[])]).unwrap_err();
    assert!(
        e.to_string()
            .contains("a case (a prompt length, a resolution) both ran"),
        "{e}"
    );
    let e = ratio_of_case_means(&[(&[1.0], &[2.0, 2.1]), (&[3.0], &[4.0])]).unwrap_err();
    assert!(matches!(e, FitError::TooFewPoints { needed: 2, .. }), "{e}");
    assert!(
        e.to_string()
            .contains("the base model needs a case run 2 or more times"),
        "{e}"
    );
    let e = ratio_of_case_means(&[(&[1.0, f64::INFINITY], &[2.0, 2.1])]).unwrap_err();
    assert!(e.to_string().contains("base[1] is inf"), "{e}");
    // A case only one model ran is left out.
    let r = ratio_of_case_means(&[(&[2.0, 2.0], &[1.0, 1.0]), (&[50.0], &[])]).unwrap();
    assert_eq!((r.ratio, r.cases, r.n_base), (0.5, 1, 2));
}
