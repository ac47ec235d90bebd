use super::*;
use crate::derive::energy::Baseline;
use crate::derive::energy::Figure;
use crate::derive::energy::Untrusted;
use crate::power::PowerReading;
use crate::power::SourceId;
use crate::record::RunPhase;

const S: u64 = 1_000_000;
const MIN: MinCoverage = MinCoverage::DEFAULT;

fn run(phases: &[(RunPhase, u64)]) -> Run {
    Run::for_test(7, 32, 20, phases)
}

fn reading(t: u64, watts: i64) -> PowerReading {
    PowerReading {
        mono_us: t,
        source: SourceId::Replay,
        bus_uv: None,
        current_ua: None,
        power_uw: watts * 1_000_000,
        shunt_uv: None,
        flags: 0,
    }
}

/// 10 Hz readings: 2 W up to 9.9 s, 5 W from 10.0 s to 14.0 s, 2 W after.
fn history() -> PowerHistory {
    let mut h = PowerHistory::new(u64::MAX);
    h.extend((0..200u64).map(|i| {
        let watts = if (100..=140).contains(&i) { 5 } else { 2 };
        reading(i * S / 10, watts)
    }));
    h
}

fn ten_to_fourteen() -> Run {
    run(&[(RunPhase::Load, 10 * S), (RunPhase::Done, 14 * S)])
}

#[test]
fn a_run_gets_gross_net_and_per_phase_energy_over_a_baseline_before_its_rise() {
    let r = run(&[
        (RunPhase::Load, 10 * S),
        (RunPhase::Prefill, 11 * S),
        (RunPhase::Decode, 12 * S),
        (RunPhase::Done, 14 * S),
    ]);
    let e = energy_of(&r, None, None, &history(), "replay", 100_000).unwrap();
    // 5 W over [10 s, 14 s].
    assert_eq!(e.run.gross_uj, 20_000_000);
    // The baseline ends one maximum gap (4 × 100 ms) before the first mark, so the
    // 9.9 → 10.0 s rise is not in it: 2 W exactly over [4.6 s, 9.6 s].
    let base = e.baseline.unwrap();
    assert_eq!(base.window, Window::spanning(4_600_000, 9_600_000));
    assert_eq!(base.power_uw, 2_000_000);
    // Net: 20 J − 2 W × 4 s = 12 J.
    assert_eq!(e.run.net_uj, Some(12_000_000));
    let decode = e.phase(RunPhase::Decode).unwrap();
    assert_eq!(decode.gross_uj, 10_000_000);
    // (10 J − 2 W × 2 s) / 20 tokens = 0.3 J per generated token.
    assert_eq!(e.figure(Figure::NetJPerGeneratedToken, MIN), Ok(0.3));
    assert_eq!(e.phase(RunPhase::Load).unwrap().gross_uj, 5_000_000);
    assert_eq!(e.tokens.prompt, 32);
    assert_eq!(e.run.coverage_ppm, 1_000_000);
}

#[test]
fn a_quiet_cooldown_is_the_baseline_up_to_where_it_ended() {
    let c = CooldownEnd {
        end_us: 9_900_000,
        quiet_us: 2 * S,
        capped: false,
    };
    let e = energy_of(
        &ten_to_fourteen(),
        Some(c),
        None,
        &history(),
        "replay",
        100_000,
    )
    .unwrap();
    let base = e.baseline.unwrap();
    assert_eq!(base.window, Window::spanning(7_900_000, 9_900_000));
    assert_eq!(base.power_uw, 2_000_000);
}

#[test]
fn a_run_that_never_started_has_no_energy_and_one_without_readings_says_so() {
    assert!(energy_of(&run(&[]), None, None, &history(), "replay", 100_000).is_none());
    let r = run(&[(RunPhase::Load, 100 * S), (RunPhase::Done, 101 * S)]);
    let e = energy_of(&r, None, None, &history(), "replay", 100_000).unwrap();
    assert_eq!(e.run.covered_us, 0);
    assert_eq!(e.figure(Figure::GrossJ, MIN), Err(Untrusted::NoReadings));
    assert!(e
        .summary(MIN)
        .starts_with("gross - (no valid power readings)"));
}

fn plan_idle(power_uw: i64) -> PlanIdle {
    let window = Window::spanning(2 * S, 5 * S);
    PlanIdle {
        window,
        power: Some(Baseline {
            window,
            power_uw,
            coverage_ppm: 1_000_000,
        }),
    }
}

#[test]
fn without_a_quiet_cooldown_the_plans_stored_baseline_is_subtracted_as_stored() {
    // Stored as 1.5 W (the readings now say 2 W there): the stored figure is used.
    let plan = plan_idle(1_500_000);
    for cooldown in [
        None,
        Some(CooldownEnd {
            end_us: 9_900_000,
            quiet_us: 2 * S,
            capped: true,
        }),
    ] {
        let e = energy_of(
            &ten_to_fourteen(),
            cooldown,
            Some(&plan),
            &history(),
            "replay",
            100_000,
        )
        .unwrap();
        assert_eq!(e.baseline, plan.power);
        // 20 J − 1.5 W × 4 s.
        assert_eq!(e.run.net_uj, Some(14_000_000));
    }
}

#[test]
fn a_run_long_after_its_plans_start_keeps_the_stored_baseline() {
    // 15 minutes of history, as the daemon keeps; the plan's lead-in was 2–5 s, the run
    // is 20 minutes later, when the lead-in's readings are long gone.
    let mut h = PowerHistory::new(15 * 60 * S);
    let run_from = 20 * 60 * S;
    let at = |i: u64| i * S / 10;
    h.extend((0..=50).map(|i| reading(at(i), 2)));
    let recent = super::super::baseline::RecentSamples::new(10 * S);
    let (plan, _) = super::super::baseline::measure(
        "p",
        Window::spanning(2 * S, 5 * S),
        &recent,
        Some((&h, 100_000)),
    );
    assert_eq!(plan.power.unwrap().power_uw, 2_000_000);
    h.extend((51..=12_200).map(|i| {
        let busy = (run_from..=run_from + 4 * S).contains(&at(i));
        reading(at(i), if busy { 5 } else { 2 })
    }));
    assert!(
        h.around(2 * S, 5 * S).len() <= 1,
        "the lead-in is forgotten"
    );
    let r = run(&[
        (RunPhase::Load, run_from),
        (RunPhase::Done, run_from + 4 * S),
    ]);
    let e = energy_of(&r, None, Some(&plan), &h, "replay", 100_000).unwrap();
    assert_eq!(e.baseline, plan.power);
    assert_eq!(e.run.net_uj, Some(12_000_000), "20 J − 2 W × 4 s");
    assert_eq!(e.figure(Figure::NetJ, MIN), Ok(12.0));
}

#[test]
fn a_plan_without_power_in_its_lead_in_falls_back_to_the_seconds_before_the_run() {
    let plan = PlanIdle {
        window: Window::spanning(2 * S, 5 * S),
        power: None,
    };
    let e = energy_of(
        &ten_to_fourteen(),
        None,
        Some(&plan),
        &history(),
        "replay",
        100_000,
    )
    .unwrap();
    assert_eq!(
        e.baseline.unwrap().window,
        Window::spanning(4_600_000, 9_600_000)
    );
}

#[test]
fn the_progress_line_shows_untrusted_energy_as_a_dash_with_the_reason() {
    let mut h = history();
    // The sensor lost for 11–13 s: the hole runs from the reading at 10.9 s to the one at
    // 13.1 s, so 2.2 s of the 4 s run are uncovered: 45 % covered.
    let mut kept = PowerHistory::new(u64::MAX);
    kept.extend(
        h.around(0, 20 * S)
            .into_iter()
            .filter(|r| !(11 * S..=13 * S).contains(&r.mono_us)),
    );
    h = kept;
    let mut r = ten_to_fourteen();
    let e = energy_of(&r, None, None, &h, "replay", 100_000).unwrap();
    assert_eq!(e.run.coverage_ppm, 450_000);
    r.energy = Some((&e).into());
    let line = progress_line(&r, 2, 12, MIN);
    assert!(
        line.contains("gross - (coverage 45 % < 95 %), net - (coverage 45 % < 95 %)"),
        "{line}"
    );
    assert!(line.starts_with("[  3/12] t "), "{line}");
    let trusting = progress_line(&r, 2, 12, MinCoverage::from_pct(40));
    assert!(
        trusting.contains("gross 9.000 J, net 5.400 J"),
        "{trusting}"
    );
}

#[test]
fn a_run_after_a_capped_cooldown_shows_no_net_figure_anywhere() {
    let mut r = run(&[
        (RunPhase::Load, 10 * S),
        (RunPhase::Prefill, 11 * S),
        (RunPhase::Decode, 12 * S),
        (RunPhase::Done, 14 * S),
    ]);
    let e = energy_of(&r, None, None, &history(), "replay", 100_000).unwrap();
    r.energy = Some((&e).into());
    let of_run = RunEnergy::of_run(&r).unwrap();
    assert_eq!(
        of_run.figure(Figure::NetJ, MIN),
        Ok(12.0),
        "not capped: trusted"
    );
    r.cooldown_capped = true;
    let capped = RunEnergy::of_run(&r).unwrap();
    assert_eq!(capped.figure(Figure::GrossJ, MIN), Ok(20.0));
    for net in [
        Figure::NetJ,
        Figure::NetJPerGeneratedToken,
        Figure::NetJPerPromptToken,
    ] {
        assert_eq!(capped.figure(net, MIN), Err(Untrusted::CooldownCapped));
    }
    let line = progress_line(&r, 0, 1, MIN);
    assert!(
        line.contains("net - (cooldown capped: not idle before the run)"),
        "{line}"
    );
}
