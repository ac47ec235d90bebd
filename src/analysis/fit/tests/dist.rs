//! The t and F quantiles against published table values.

use super::super::dist::ln_gamma_for_tests;
use super::super::*;

/// t(p; ν) from a standard table (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2), 3 decimals.
const T_TABLE: [(f64, f64, f64); 14] = [
    (0.975, 1.0, 12.706),
    (0.975, 2.0, 4.303),
    (0.975, 3.0, 3.182),
    (0.975, 5.0, 2.571),
    (0.975, 10.0, 2.228),
    (0.975, 20.0, 2.086),
    (0.975, 30.0, 2.042),
    (0.975, 100.0, 1.984),
    (0.95, 1.0, 6.314),
    (0.95, 10.0, 1.812),
    (0.99, 5.0, 3.365),
    (0.995, 10.0, 3.169),
    (0.9995, 1.0, 636.619),
    (0.9, 4.0, 1.533),
];

#[test]
fn t_quantiles_match_the_table() {
    for (p, df, want) in T_TABLE {
        let got = t_quantile(p, df).unwrap();
        assert!(
            (got - want).abs() < 6e-4 * want.max(1.0),
            "t({p}; {df}) = {got}, table {want}"
        );
        let lower = t_quantile(1.0 - p, df).unwrap();
        assert!((lower + got).abs() < 1e-9 * got, "symmetry at ({p}, {df})");
    }
}

#[test]
fn t_quantiles_match_closed_forms_to_full_precision() {
    // ν = 1 is Cauchy: tan(π(p − ½)); ν = 2: (2p − 1)/√(2p(1 − p)).
    for p in [0.6, 0.9, 0.975, 0.999, 0.05] {
        let cauchy = (std::f64::consts::PI * (p - 0.5)).tan();
        let two = (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt();
        let got1 = t_quantile(p, 1.0).unwrap();
        let got2 = t_quantile(p, 2.0).unwrap();
        assert!(
            (got1 - cauchy).abs() < 1e-10 * cauchy.abs().max(1.0),
            "{p}: {got1} {cauchy}"
        );
        assert!(
            (got2 - two).abs() < 1e-10 * two.abs().max(1.0),
            "{p}: {got2} {two}"
        );
    }
}

#[test]
fn t_quantile_tends_to_the_normal_one_and_inverts_the_cdf() {
    let z = t_quantile(0.975, 1e7).unwrap();
    assert!((z - 1.959_964).abs() < 1e-5, "{z}");
    for df in [1.5, 3.0, 7.3, 29.0, 250.0] {
        for p in [0.01, 0.3, 0.5, 0.8, 0.99] {
            let t = t_quantile(p, df).unwrap();
            let back = t_cdf(t, df).unwrap();
            assert!((back - p).abs() < 1e-12, "df {df} p {p}: cdf(q) = {back}");
        }
    }
}

#[test]
fn f_quantiles_match_the_table() {
    // F(0.95; d1, d2), standard table.
    for (df, want) in [(1.0, 161.45), (5.0, 6.608), (10.0, 4.965), (30.0, 4.171)] {
        let got = f1_quantile(0.95, df).unwrap();
        assert!(
            (got - want).abs() < 1e-3 * want,
            "F(1, {df}) = {got}, table {want}"
        );
    }
    for (df, want) in [(1.0, 199.5), (5.0, 5.786), (10.0, 4.103), (30.0, 3.316)] {
        let got = f2_quantile(0.95, df).unwrap();
        assert!(
            (got - want).abs() < 1e-3 * want,
            "F(2, {df}) = {got}, table {want}"
        );
    }
}

#[test]
fn ln_gamma_is_right_at_known_points() {
    for (x, want) in [
        (1.0, 0.0),
        (2.0, 0.0),
        (0.5, 0.572_364_942_924_700_1), // ln √π
        (10.0, 12.801_827_480_081_469), // ln 9!
        (0.1, 2.252_712_651_734_206),
    ] {
        let got = ln_gamma_for_tests(x);
        assert!((got - want).abs() < 1e-12, "lnΓ({x}) = {got}, want {want}");
    }
}

#[test]
fn bad_arguments_are_errors_not_nan() {
    assert!(matches!(
        t_quantile(0.0, 5.0),
        Err(FitError::BadLevel { .. })
    ));
    assert!(matches!(
        t_quantile(1.0, 5.0),
        Err(FitError::BadLevel { .. })
    ));
    assert!(matches!(
        t_quantile(f64::NAN, 5.0),
        Err(FitError::BadLevel { .. })
    ));
    assert!(matches!(
        t_quantile(0.9, 0.0),
        Err(FitError::Invalid { .. })
    ));
    assert!(matches!(
        t_quantile(0.9, f64::INFINITY),
        Err(FitError::Invalid { .. })
    ));
    assert!(t_cdf(f64::NAN, 3.0).is_err());
    assert_eq!(t_cdf(f64::INFINITY, 3.0).unwrap(), 1.0);
    assert_eq!(t_cdf(f64::NEG_INFINITY, 3.0).unwrap(), 0.0);
}
