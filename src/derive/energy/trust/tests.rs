use super::*;
use crate::derive::energy::run_energy;
use crate::derive::energy::BaselineFrom;
use crate::derive::energy::RunSpec;
use crate::derive::energy::Tokens;
use crate::derive::Window;
use crate::record::PowerReading;
use crate::record::SourceId;

const S: u64 = 1_000_000;
const MS: u64 = 1_000;

fn r(t_us: u64, power_uw: i64) -> PowerReading {
    PowerReading::power_only(t_us, SourceId::Ina219, power_uw)
}

/// 100 ms readings: 1 W idle over 0–1 s, 3 W over the run 1–3 s (prefill 1–1.5 s, decode
/// 1.5–3 s), except the readings in `missing`.
fn run_with_hole(missing: std::ops::Range<u64>, baseline: BaselineFrom) -> RunEnergy {
    let rs: Vec<PowerReading> = (0..=30u64)
        .filter(|i| !missing.contains(i))
        .map(|i| r(i * 100 * MS, if i <= 10 { 1_000_000 } else { 3_000_000 }))
        .collect();
    let phases = [
        (RunPhase::Prefill, Window::spanning(S, 3 * S / 2)),
        (RunPhase::Decode, Window::spanning(3 * S / 2, 3 * S)),
    ];
    run_energy(
        &rs,
        &RunSpec {
            source_label: "ina219 test",
            period_us: 100 * MS,
            run: Window::spanning(S, 3 * S),
            phases: &phases,
            baseline,
            tokens: Tokens {
                prompt: 10,
                generated: 30,
            },
        },
    )
}

fn idle_window() -> BaselineFrom {
    BaselineFrom::Window(Window::spanning(0, S))
}

#[test]
fn well_covered_figures_are_trusted_with_their_values() {
    let e = run_with_hole(0..0, idle_window());
    let min = MinCoverage::DEFAULT;
    // 1→3 W ramp over 1.0–1.1 s (0.2 J) + 3 W × 1.9 s = 5.9 J; net − 1 W × 2 s.
    assert_eq!(e.figure(Figure::GrossJ, min), Ok(5.9));
    assert_eq!(e.figure(Figure::NetJ, min), Ok(3.9));
    // Decode: 3 W × 1.5 s = 4.5 J over 30 tokens; net 3 J.
    assert_eq!(e.figure(Figure::GrossJPerGeneratedToken, min), Ok(0.15));
    assert_eq!(e.figure(Figure::NetJPerGeneratedToken, min), Ok(0.1));
    // Prefill: 0.2 + 3 × 0.4 = 1.4 J over 10 tokens; net 0.9 J.
    let pp = e.figure(Figure::GrossJPerPromptToken, min).unwrap();
    assert!((pp - 0.14).abs() < 1e-12, "{pp}");
    let pp = e.figure(Figure::NetJPerPromptToken, min).unwrap();
    assert!((pp - 0.09).abs() < 1e-12, "{pp}");
}

#[test]
fn a_run_covered_below_the_threshold_is_untrusted_with_its_coverage() {
    // Readings 2.0–2.4 s lost: the hole from 1.9 to 2.5 s exceeds the 400 ms maximum gap,
    // so 0.6 s of the 2 s run is uncovered: 70 %.
    let e = run_with_hole(20..25, idle_window());
    assert_eq!(e.run.coverage_ppm, 700_000);
    let why = Untrusted::Coverage {
        coverage_ppm: 700_000,
        min_ppm: 950_000,
    };
    for f in [Figure::GrossJ, Figure::NetJ] {
        assert_eq!(e.figure(f, MinCoverage::DEFAULT), Err(why), "{f:?}");
    }
    // Per generated token is the decode phase's (1.5–3 s): 0.6 s of 1.5 s lost.
    assert_eq!(
        e.figure(Figure::NetJPerGeneratedToken, MinCoverage::DEFAULT),
        Err(Untrusted::Coverage {
            coverage_ppm: 600_000,
            min_ppm: 950_000
        })
    );
    assert_eq!(why.to_string(), "coverage 70 % < 95 %");
    // The prefill phase (1–1.5 s) is whole, so its figures stand.
    assert!(e
        .figure(Figure::NetJPerPromptToken, MinCoverage::DEFAULT)
        .is_ok());
    // A lower threshold trusts it, with the value of the covered part only.
    assert_eq!(e.figure(Figure::GrossJ, MinCoverage::from_pct(70)), Ok(4.1));
    assert_eq!(
        show(&e.figure(Figure::GrossJ, MinCoverage::DEFAULT), 3),
        "- (coverage 70 % < 95 %)"
    );
}

#[test]
fn net_figures_need_a_baseline_covered_like_the_run() {
    let e = run_with_hole(0..0, BaselineFrom::None);
    assert_eq!(
        e.figure(Figure::NetJ, MinCoverage::DEFAULT),
        Err(Untrusted::NoBaseline)
    );
    assert_eq!(e.figure(Figure::GrossJ, MinCoverage::DEFAULT), Ok(5.9));
    // Readings 0.1–0.7 s lost: the baseline window 0–1 s is covered 20 %.
    let e = run_with_hole(1..8, idle_window());
    assert_eq!(
        e.figure(Figure::NetJ, MinCoverage::DEFAULT),
        Err(Untrusted::BaselineCoverage {
            coverage_ppm: 200_000,
            min_ppm: 950_000
        })
    );
    assert_eq!(
        Untrusted::BaselineCoverage {
            coverage_ppm: 200_000,
            min_ppm: 950_000
        }
        .to_string(),
        "baseline coverage 20 % < 95 %"
    );
    assert_eq!(e.figure(Figure::GrossJ, MinCoverage::DEFAULT), Ok(5.9));
}

#[test]
fn no_readings_no_phase_and_no_tokens_are_reasons_too() {
    let e = run_with_hole(0..31, idle_window());
    assert_eq!(
        e.figure(Figure::GrossJ, MinCoverage::from_pct(0)),
        Err(Untrusted::NoReadings)
    );
    let mut e = run_with_hole(0..0, idle_window());
    e.phases.clear();
    assert_eq!(
        e.figure(Figure::NetJPerPromptToken, MinCoverage::DEFAULT),
        Err(Untrusted::NoPhase(RunPhase::Prefill))
    );
    assert_eq!(
        Untrusted::NoPhase(RunPhase::Prefill).to_string(),
        "no prefill phase"
    );
    // Without phases the whole run stands for decode.
    assert_eq!(
        e.figure(Figure::NetJPerGeneratedToken, MinCoverage::DEFAULT),
        Ok(3.9 / 30.0)
    );
    e.tokens.generated = 0;
    assert_eq!(
        e.figure(Figure::NetJPerGeneratedToken, MinCoverage::DEFAULT),
        Err(Untrusted::NoTokens)
    );
}

#[test]
fn shares_just_below_a_threshold_never_read_as_equal_to_it() {
    let why = |coverage_ppm| {
        Untrusted::Coverage {
            coverage_ppm,
            min_ppm: 950_000,
        }
        .to_string()
    };
    assert_eq!(why(949_999), "coverage 94.9 % < 95 %");
    assert_eq!(why(910_000), "coverage 91 % < 95 %");
    assert_eq!(why(0), "coverage 0 % < 95 %");
    assert_eq!(MinCoverage::from_pct(250), MinCoverage::from_pct(100));
    assert_eq!(MinCoverage::default().ppm, 950_000);
}

#[test]
fn the_summary_shows_untrusted_figures_as_a_dash_with_the_reason() {
    let e = run_with_hole(20..25, idle_window());
    let s = e.summary(MinCoverage::DEFAULT);
    assert!(
        s.starts_with(
            "gross - (coverage 70 % < 95 %), net - (coverage 70 % < 95 %) over 2.000 s, \
             coverage 70.0%"
        ),
        "{s}"
    );
    let s = run_with_hole(0..0, idle_window()).summary(MinCoverage::DEFAULT);
    assert!(
        s.starts_with("gross 5.900 J, net 3.900 J over 2.000 s"),
        "{s}"
    );
    assert!(s.contains("baseline 1.000 W [ina219 test]"), "{s}");
}
