use super::*;
use crate::power::PowerReading;
use crate::power::SourceId;
use crate::record::RunPhase;

const S: u64 = 1_000_000;

fn run(phases: &[(RunPhase, u64)], cooldown_us: u64) -> Run {
    Run {
        cooldown_us,
        ..Run::for_test(7, 32, 20, phases)
    }
}

/// 10 Hz readings: 2 W up to 9.9 s, 5 W from 10.0 s to 14.0 s, 2 W after.
fn history() -> PowerHistory {
    let mut h = PowerHistory::new(u64::MAX);
    h.extend((0..200u64).map(|i| {
        let t = i * S / 10;
        let watts = if (100..=140).contains(&i) { 5 } else { 2 };
        PowerReading {
            mono_us: t,
            source: SourceId::Replay,
            bus_uv: None,
            current_ua: None,
            power_uw: watts * 1_000_000,
            shunt_uv: None,
            flags: 0,
        }
    }));
    h
}

#[test]
fn a_run_gets_gross_net_and_per_phase_energy() {
    let r = run(
        &[
            (RunPhase::Load, 10 * S),
            (RunPhase::Prefill, 11 * S),
            (RunPhase::Decode, 12 * S),
            (RunPhase::Done, 14 * S),
        ],
        0,
    );
    let e = energy_of(&r, false, None, &history(), "replay", 100_000).unwrap();
    // 5 W over [10 s, 14 s].
    assert_eq!(e.run.gross_uj, 20_000_000);
    // Baseline over [5 s, 10 s): 4.9 s at 2 W + the 9.9→10.0 s ramp 2→5 W (0.35 J)
    // = 10.15 J / 5 s = 2.03 W.
    let base = e.baseline.unwrap();
    assert_eq!(base.power_uw, 2_030_000);
    // Net: 20 J − 2.03 W × 4 s = 11.88 J.
    assert_eq!(e.run.net_uj, Some(11_880_000));
    let decode = e.phase(RunPhase::Decode).unwrap();
    assert_eq!(decode.gross_uj, 10_000_000);
    // (10 J − 2.03 W × 2 s) / 20 tokens = 0.297 J per generated token.
    let per_token = e.net_j_per_generated_token().unwrap();
    assert!((per_token - 0.297).abs() < 1e-9, "{per_token}");
    assert_eq!(e.phase(RunPhase::Load).unwrap().gross_uj, 5_000_000);
    assert_eq!(e.tokens.prompt, 32);
    assert_eq!(e.run.coverage_ppm, 1_000_000);
}

#[test]
fn the_baseline_is_the_cooldown_wait_when_shorter() {
    let r = run(&[(RunPhase::Load, 10 * S), (RunPhase::Done, 14 * S)], 2 * S);
    let e = energy_of(&r, false, None, &history(), "replay", 100_000).unwrap();
    let base = e.baseline.unwrap();
    assert_eq!(base.window, Window::spanning(8 * S, 10 * S));
    // 1.9 s at 2 W + 0.35 J ramp = 4.15 J / 2 s.
    assert_eq!(base.power_uw, 2_075_000);
}

#[test]
fn a_run_that_never_started_has_no_energy_and_one_without_readings_says_so() {
    assert!(energy_of(&run(&[], 0), false, None, &history(), "replay", 100_000).is_none());
    let r = run(&[(RunPhase::Load, 100 * S), (RunPhase::Done, 101 * S)], 0);
    let e = energy_of(&r, false, None, &history(), "replay", 100_000).unwrap();
    assert_eq!(e.run.covered_us, 0);
    assert!(e
        .summary()
        .contains("no valid power readings cover this run"));
}

#[test]
fn without_a_cooldown_the_plans_idle_lead_in_is_the_baseline() {
    let r = run(&[(RunPhase::Load, 10 * S), (RunPhase::Done, 14 * S)], 0);
    let idle = Window::spanning(2 * S, 5 * S);
    let e = energy_of(&r, false, Some(idle), &history(), "replay", 100_000).unwrap();
    let base = e.baseline.unwrap();
    assert_eq!(base.window, idle);
    assert_eq!(base.power_uw, 2_000_000, "2 W all along the lead-in");
    // 20 J − 2 W × 4 s.
    assert_eq!(e.run.net_uj, Some(12_000_000));
}

#[test]
fn a_cooldown_ended_by_its_cap_is_no_baseline() {
    // Waited 2 s but the cap ended it: the machine was busy, so the lead-in is the
    // baseline when there is one, else the 5 s before the run.
    let r = run(&[(RunPhase::Load, 10 * S), (RunPhase::Done, 14 * S)], 2 * S);
    let idle = Window::spanning(2 * S, 5 * S);
    let e = energy_of(&r, true, Some(idle), &history(), "replay", 100_000).unwrap();
    assert_eq!(e.baseline.unwrap().window, idle);
    let e = energy_of(&r, true, None, &history(), "replay", 100_000).unwrap();
    assert_eq!(e.baseline.unwrap().window, Window::spanning(5 * S, 10 * S));
}
