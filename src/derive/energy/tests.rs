use super::*;
use crate::record::power_flags as flags;
use crate::record::SourceId;

const S: u64 = 1_000_000;

fn r(t_us: u64, power_uw: i64) -> PowerReading {
    PowerReading::power_only(t_us, SourceId::Ina219, power_uw)
}

fn gap(max_gap_us: u64) -> Integration {
    Integration { max_gap_us }
}

#[test]
fn trapezoids_over_a_fully_covered_window() {
    // 1 W → 3 W over the first second (2 J), then 3 W for a second (3 J).
    let rs = [r(0, 1_000_000), r(S, 3_000_000), r(2 * S, 3_000_000)];
    let e = integrate(&rs, Window::spanning(0, 2 * S), gap(S + S / 2), None);
    assert_eq!(e.gross_uj, 5_000_000);
    assert_eq!(e.covered_us, 2 * S);
    assert_eq!(e.coverage_ppm, 1_000_000);
    assert_eq!(e.largest_gap_us, 0);
    assert_eq!(e.readings, 3);
    assert_eq!(e.net_uj, None);
    assert!((e.gross_wh() - 5.0 / 3600.0).abs() < 1e-12);
    assert_eq!(e.mean_power_uw(), Some(2_500_000));
}

#[test]
fn window_edges_are_interpolated() {
    // p(0.5 s) = 2 W: (2+3)/2 × 0.5 + 3 × 0.5 = 2.75 J.
    let rs = [r(0, 1_000_000), r(S, 3_000_000), r(2 * S, 3_000_000)];
    let e = integrate(&rs, Window::spanning(S / 2, 3 * S / 2), gap(2 * S), None);
    assert_eq!(e.gross_uj, 2_750_000);
    assert_eq!(e.coverage_ppm, 1_000_000);
    assert_eq!(e.readings, 1);
}

#[test]
fn a_hole_is_not_filled_and_shows_in_coverage() {
    let ms = 1_000;
    let rs = [
        r(0, 2_000_000),
        r(100 * ms, 2_000_000),
        r(1_000 * ms, 2_000_000),
        r(1_100 * ms, 2_000_000),
    ];
    let e = integrate(
        &rs,
        Window::spanning(0, 1_100 * ms),
        Integration::for_period(100 * ms),
        None,
    );
    assert_eq!(e.gross_uj, 400_000, "2 W over the 200 ms covered");
    assert_eq!(e.covered_us, 200 * ms);
    assert_eq!(e.coverage_ppm, 181_818, "200 / 1100");
    assert_eq!(e.largest_gap_us, 900 * ms);
}

#[test]
fn a_run_shorter_than_the_period_still_gets_a_figure() {
    // 2 W at 0 and 4 W at 100 ms; the run is 40–60 ms: mean 3 W × 20 ms = 60 mJ.
    let rs = [r(0, 2_000_000), r(100_000, 4_000_000)];
    let e = integrate(&rs, Window::spanning(40_000, 60_000), gap(400_000), None);
    assert_eq!(e.gross_uj, 60_000);
    assert_eq!(e.coverage_ppm, 1_000_000);
    assert_eq!(e.readings, 0);
}

#[test]
fn stuck_readings_are_gaps_and_an_uncovered_run_says_so() {
    let mut stuck = r(S, 1_000_000);
    stuck.flags = flags::STUCK;
    let rs = [r(0, 1_000_000), stuck, r(2 * S, 1_000_000)];
    let e = integrate(&rs, Window::spanning(0, 2 * S), gap(S + S / 2), None);
    assert_eq!(e.gross_uj, 0);
    assert_eq!(e.coverage_ppm, 0);
    assert_eq!(e.largest_gap_us, 2 * S);
    assert_eq!(e.mean_power_uw(), None);
    let run = run_energy(
        &rs,
        &RunSpec {
            source_label: "ina219 test",
            period_us: S / 4,
            run: Window::spanning(0, 2 * S),
            phases: &[],
            baseline: BaselineFrom::None,
            tokens: Tokens::default(),
        },
    );
    let summary = run.summary(MinCoverage::DEFAULT);
    assert!(
        summary.starts_with("gross - (no valid power readings), net - (no valid power readings)"),
        "{summary}"
    );
    assert!(summary.contains("coverage 0.0%"));
}

#[test]
fn no_readings_at_all_is_one_big_gap() {
    let e = integrate(&[], Window::spanning(5, 105), gap(10), Some(1_000));
    assert_eq!((e.gross_uj, e.covered_us, e.largest_gap_us), (0, 0, 100));
    assert_eq!(e.net_uj, Some(0));
}

#[test]
fn order_of_readings_does_not_matter() {
    let rs = [r(2 * S, 3_000_000), r(0, 1_000_000), r(S, 3_000_000)];
    let e = integrate(&rs, Window::spanning(0, 2 * S), gap(2 * S), None);
    assert_eq!(e.gross_uj, 5_000_000);
}

fn run_fixture() -> RunEnergy {
    // Idle 1 W for 0–1 s, ramp to 3 W by 1.5 s, 3 W until 3 s.
    let ms = 1_000;
    let rs = [
        r(0, 1_000_000),
        r(500 * ms, 1_000_000),
        r(1_000 * ms, 1_000_000),
        r(1_500 * ms, 3_000_000),
        r(2_000 * ms, 3_000_000),
        r(2_500 * ms, 3_000_000),
        r(3_000 * ms, 3_000_000),
    ];
    let phases = [
        (RunPhase::Prefill, Window::spanning(S, 3 * S / 2)),
        (RunPhase::Decode, Window::spanning(3 * S / 2, 3 * S)),
    ];
    run_energy(
        &rs,
        &RunSpec {
            source_label: "ina219 /dev/i2c-1",
            period_us: 500 * ms,
            run: Window::spanning(S, 3 * S),
            phases: &phases,
            baseline: BaselineFrom::Window(Window::spanning(0, S)),
            tokens: Tokens {
                prompt: 10,
                generated: 30,
            },
        },
    )
}

#[test]
fn run_phases_baseline_and_per_token_figures() {
    let e = run_fixture();
    let b = e.baseline.unwrap();
    assert_eq!((b.power_uw, b.coverage_ppm), (1_000_000, 1_000_000));
    // Ramp 1→3 W over 0.5 s = 1 J, then 3 W × 1.5 s = 4.5 J.
    assert_eq!(e.run.gross_uj, 5_500_000);
    assert_eq!(e.run.net_uj, Some(3_500_000), "5.5 J − 1 W × 2 s");
    let prefill = e.phase(RunPhase::Prefill).unwrap();
    assert_eq!(
        (prefill.gross_uj, prefill.net_uj),
        (1_000_000, Some(500_000))
    );
    let decode = e.phase(RunPhase::Decode).unwrap();
    assert_eq!(
        (decode.gross_uj, decode.net_uj),
        (4_500_000, Some(3_000_000))
    );
    assert_eq!(e.phase(RunPhase::Load), None);
    let close = |f, want: f64| (e.figure(f, MinCoverage::DEFAULT).unwrap() - want).abs() < 1e-12;
    assert!(close(Figure::GrossJPerPromptToken, 0.1));
    assert!(close(Figure::NetJPerPromptToken, 0.05));
    assert!(close(Figure::GrossJPerGeneratedToken, 0.15));
    assert!(close(Figure::NetJPerGeneratedToken, 0.1));
    assert_eq!(e.measured_rate_mhz, 2_500, "5 readings in 2 s");
    assert_eq!(e.integration.max_gap_us, 2 * S);
    assert_eq!(
        e.summary(MinCoverage::DEFAULT),
        "gross 5.500 J, net 3.500 J over 2.000 s, coverage 100.0%, largest gap 0.000 s, \
         2.5 Hz, baseline 1.000 W [ina219 /dev/i2c-1]"
    );
}

#[test]
fn no_tokens_means_no_per_token_figure() {
    let mut e = run_fixture();
    e.tokens = Tokens::default();
    for f in [Figure::GrossJPerGeneratedToken, Figure::NetJPerPromptToken] {
        assert_eq!(e.figure(f, MinCoverage::DEFAULT), Err(Untrusted::NoTokens));
    }
}

#[test]
fn the_run_energy_round_trips_through_the_stored_record() {
    let e = run_fixture();
    let stored = crate::record::MeasuredEnergy::from(&e);
    assert_eq!(stored.run.gross_uj, e.run.gross_uj);
    assert_eq!(stored.phases.len(), e.phases.len());
    assert_eq!(RunEnergy::from(&stored), e);
}

/// A VLM run as the worker marks it: Prefill [1, 2] s, Encode [2, 3] s, Prefill again
/// [3, 4] s (the image's tokens, after its encode), Decode [4, 6] s; 3 W throughout from
/// 100 ms readings but for `missing` (reading indices), 1 W idle stored.
fn vlm_fixture(missing: std::ops::Range<u64>) -> RunEnergy {
    let rs: Vec<PowerReading> = (0..=70)
        .filter(|i| !missing.contains(i))
        .map(|i| r(i * S / 10, 3_000_000))
        .collect();
    let phases = [
        (RunPhase::Prefill, Window::spanning(S, 2 * S)),
        (RunPhase::Encode, Window::spanning(2 * S, 3 * S)),
        (RunPhase::Prefill, Window::spanning(3 * S, 4 * S)),
        (RunPhase::Decode, Window::spanning(4 * S, 6 * S)),
    ];
    run_energy(
        &rs,
        &RunSpec {
            source_label: "ina219 test",
            period_us: S / 10,
            run: Window::spanning(S, 6 * S),
            phases: &phases,
            baseline: BaselineFrom::Stored(Baseline {
                window: Window::spanning(0, S),
                power_uw: 1_000_000,
                coverage_ppm: 1_000_000,
            }),
            // 10 text and 30 image tokens: the daemon counts both as prompt tokens.
            tokens: Tokens {
                prompt: 40,
                generated: 20,
            },
        },
    )
}

#[test]
fn a_phase_that_repeats_is_all_its_windows() {
    let e = vlm_fixture(0..0);
    // Prefill is 2 s of 3 W (1 s before the encode, 1 s after): 6 J gross, 6 − 1 W × 2 s
    // = 4 J net; not the first second alone (3 J, 2 J).
    let prefill = e.phase(RunPhase::Prefill).unwrap();
    assert_eq!(
        (prefill.gross_uj, prefill.net_uj, prefill.covered_us),
        (6_000_000, Some(4_000_000), 2 * S)
    );
    assert_eq!(prefill.coverage_ppm, 1_000_000);
    assert_eq!(
        prefill.readings, 22,
        "11 readings in each window, edges included"
    );
    let close = |f, want: f64| {
        let got = e.figure(f, MinCoverage::DEFAULT).unwrap();
        assert!((got - want).abs() < 1e-12, "{f:?}: {got} vs {want}");
    };
    // 4 J over the 40 prompt tokens (text and image) prefill evaluates.
    close(Figure::NetJPerPromptToken, 0.1);
    close(Figure::GrossJPerPromptToken, 0.15);
    // Decode does not repeat: 2 s × (3 − 1) W / 20 tokens.
    close(Figure::NetJPerGeneratedToken, 0.2);
    // The phases add up to the run: prefill 4 + encode 2 + decode 4 = 10 J net.
    let net = |p| e.phase(p).unwrap().net_uj.unwrap();
    assert_eq!(
        net(RunPhase::Prefill) + net(RunPhase::Encode) + net(RunPhase::Decode),
        e.run.net_uj.unwrap()
    );
}

#[test]
fn a_repeated_phase_is_covered_by_the_share_of_all_its_windows() {
    // Readings 3.2–3.8 s missing: 3.1–3.9 s is a hole (0.8 s > the 0.4 s maximum gap), in
    // the second prefill window. Covered: 1 s + 0.2 s of the phase's 2 s = 60 %.
    let e = vlm_fixture(32..39);
    let prefill = e.phase(RunPhase::Prefill).unwrap();
    assert_eq!(prefill.covered_us, 1_200_000);
    assert_eq!(prefill.coverage_ppm, 600_000);
    assert_eq!(prefill.largest_gap_us, 800_000);
    assert_eq!(prefill.gross_uj, 3_600_000, "3 W × 1.2 s covered");
    assert_eq!(
        e.figure(Figure::NetJPerPromptToken, MinCoverage::DEFAULT),
        Err(Untrusted::Coverage {
            coverage_ppm: 600_000,
            min_ppm: 950_000
        })
    );
}
