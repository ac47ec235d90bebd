//! Fault injection on the emulated INA219: NACKs, bus errors, unplug/replug, stuck
//! registers and overflow, through the real reader loop on a fake clock.

use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

use edgewatt::clock::FakeClock;
use edgewatt::derive::energy::integrate;
use edgewatt::derive::energy::Integration;
use edgewatt::derive::Window;
use edgewatt::power::fake::FakeIna219;
use edgewatt::power::fake::Fault;
use edgewatt::power::flags;
use edgewatt::power::ina219::Ina219Config;
use edgewatt::power::ina219::Ina219Source;
use edgewatt::power::reader::run_loop;
use edgewatt::power::reader::PowerMsg;
use edgewatt::power::reader::PowerNotice;
use edgewatt::power::reader::ReaderConfig;
use edgewatt::power::PowerReading;
use edgewatt::power::PowerSource;
use edgewatt::record::EventKind;

const S: u64 = 1_000_000;
const PERIOD_US: u64 = 8_520;

fn cfg() -> Ina219Config {
    Ina219Config {
        stuck_polls: 20,
        config_check_polls: 0,
        ..Ina219Config::default()
    }
}

/// 5.08 V; 600..660 mA in 10 mA steps that change every conversion.
/// The kind of event the daemon logs for a notice.
fn name(n: &PowerNotice) -> &'static str {
    EventKind::from(n.clone()).name()
}

fn fake(clock: &FakeClock) -> FakeIna219 {
    FakeIna219::new(
        0x40,
        10_000,
        clock.clone(),
        Box::new(|t| (5_080, 600_000 + ((t / PERIOD_US) % 7) as i64 * 10_000)),
    )
}

/// What the chip computes for a current (10 mΩ: 1 mA per 10 µV; 200 µA and 4 mW LSBs).
fn expected_power_uw(current_ua: i64) -> i64 {
    current_ua / 200 * 1_270 / 5_000 * 4_000
}

fn run(
    fake: FakeIna219,
    clock: &FakeClock,
    until_us: u64,
) -> (Vec<PowerReading>, Vec<(u64, PowerNotice)>) {
    let mut src = Ina219Source::open(fake, &cfg(), "fake")
        .map_err(|e| e.0)
        .unwrap();
    assert_eq!(src.period_us(), PERIOD_US);
    let reader = ReaderConfig {
        backoff_min_us: 10_000,
        backoff_max_us: 100_000,
        fault_log_interval_us: 60 * S,
    };
    let (tx, rx) = mpsc::channel();
    run_loop(
        &mut src,
        clock,
        &reader,
        &tx,
        &AtomicBool::new(false),
        Some(until_us),
    );
    drop(tx);
    let (mut readings, mut events) = (Vec::new(), Vec::new());
    for m in rx {
        match m {
            PowerMsg::Reading(r) => readings.push(r),
            PowerMsg::Notice { mono_us, notice } => events.push((mono_us, notice)),
        }
    }
    (readings, events)
}

#[test]
fn faults_become_events_and_holes_and_the_reader_recovers_each_time() {
    let clock = FakeClock::new(S);
    let mut f = fake(&clock);
    f.inject(2 * S, 2 * S + 100_000, Fault::Nack);
    f.inject(3 * S, 3 * S + 50_000, Fault::BusError);
    f.inject(4 * S, 5 * S, Fault::Unplugged);
    f.inject(6 * S, 7 * S, Fault::Stuck);
    f.inject(8 * S, 8 * S + 200_000, Fault::Overflow);
    let (readings, events) = run(f, &clock, 10 * S);

    let kinds: Vec<&str> = events.iter().map(|(_, k)| name(k)).collect();
    assert_eq!(
        kinds,
        [
            "power_fault",
            "power_recovered", // NACK
            "power_fault",
            "power_recovered", // bus error
            "power_fault",
            "power_recovered", // unplugged, replugged (chip reset)
            "power_fault",     // stuck
            "power_fault",
            "power_recovered", // overflow
        ]
    );
    let fault = |i: usize| match &events[i].1 {
        PowerNotice::Fault { message, .. } => message.clone(),
        other => panic!("{other:?}"),
    };
    assert!(fault(0).contains("NoAcknowledge"), "{}", fault(0));
    assert!(fault(2).contains("Bus"), "{}", fault(2));
    assert!(fault(6).contains("stuck"), "{}", fault(6));
    assert!(fault(7).contains("math overflow"), "{}", fault(7));
    // The unplug outage: from the first failed poll after 4 s until a poll after 5 s; backoff is
    // capped at 100 ms, so the hole is 1 s plus at most one backoff and one period.
    let (t_fail, _) = events[4];
    let (t_back, ref back) = events[5];
    assert!((4 * S..4 * S + PERIOD_US).contains(&t_fail), "{t_fail}");
    let PowerNotice::Recovered {
        gap_us, failures, ..
    } = back
    else {
        panic!()
    };
    assert_eq!(*gap_us, t_back - t_fail);
    assert!((S..S + 100_000 + PERIOD_US).contains(gap_us), "{gap_us}");
    assert!(*failures >= 10, "retried with backoff: {failures}");

    // Every reading that is not stuck carries the calibrated values: the re-initialisation
    // after the replug restored the calibration (a reset chip reads 0 A).
    let mut stuck = 0;
    for r in &readings {
        if r.flags & flags::STUCK != 0 {
            stuck += 1;
            assert!((6 * S..7 * S + PERIOD_US).contains(&r.mono_us));
            continue;
        }
        let i = r.current_ua.unwrap();
        assert!((600_000..=660_000).contains(&i) && i % 10_000 == 0, "{r:?}");
        assert_eq!(r.power_uw, expected_power_uw(i), "{r:?}");
        assert_eq!(r.bus_uv, Some(5_080_000));
    }
    // 1 s of frozen registers at one conversion per 8.52 ms, the first 20 repeats not yet suspect.
    assert!((90..=100).contains(&stuck), "{stuck}");
    assert!(readings
        .iter()
        .any(|r| r.mono_us > 5 * S && r.mono_us < 6 * S));

    // Coverage shows the holes: unplug ~1 s, stuck ~0.83 s, overflow 0.2 s, NACK 0.1 s,
    // bus error 0.05 s (each up to one backoff longer) out of 9 s.
    let e = integrate(
        &readings,
        Window::spanning(S, 10 * S),
        Integration::for_period(PERIOD_US),
        None,
    );
    assert!(
        (S..S + 110_000).contains(&e.largest_gap_us),
        "{}",
        e.largest_gap_us
    );
    let coverage = e.coverage();
    assert!((0.70..0.77).contains(&coverage), "{coverage}");
    // Mean power over what is covered is the mean of the load: 630 mA × 5.08 V ≈ 3.2 W.
    let mean = e.mean_power_uw().unwrap();
    assert!((3_150_000..3_250_000).contains(&mean), "{mean}");
}

#[test]
fn fault_events_are_rate_limited_during_a_long_outage() {
    let clock = FakeClock::new(S);
    let mut f = fake(&clock);
    f.inject(2 * S, 200 * S, Fault::Nack);
    let (_, events) = run(f, &clock, 150 * S);
    let faults = events
        .iter()
        .filter(|(_, k)| name(k) == "power_fault")
        .count();
    // 148 s of NACKs with one event allowed per 60 s: at 2 s, ~62 s, ~122 s.
    assert_eq!(faults, 3);
    assert!(events.iter().all(|(_, k)| name(k) == "power_fault"));
}

#[test]
fn under_voltage_is_flagged_and_logged_once_per_dip() {
    let clock = FakeClock::new(S);
    let f = FakeIna219::new(
        0x40,
        10_000,
        clock.clone(),
        // 5.0 V, dipping to 4.5 V during 2–3 s and again during 4–5 s.
        Box::new(|t| {
            let dip = (2 * S..3 * S).contains(&t) || (4 * S..5 * S).contains(&t);
            (
                if dip { 4_500 } else { 5_000 },
                600_000 + ((t / PERIOD_US) % 7) as i64 * 10_000,
            )
        }),
    );
    let (readings, events) = run(f, &clock, 6 * S);
    let dips: Vec<i64> = events
        .iter()
        .filter_map(|(_, k)| match k {
            PowerNotice::UnderVoltage { bus_uv, .. } => Some(*bus_uv),
            _ => None,
        })
        .collect();
    assert_eq!(dips, [4_500_000, 4_500_000]);
    for r in &readings {
        let low = r.bus_uv.unwrap() < 4_630_000;
        assert_eq!(r.flags & flags::UNDER_VOLTAGE != 0, low, "{r:?}");
    }
}

#[test]
fn polling_only_returns_fresh_conversions() {
    let clock = FakeClock::new(S);
    let (readings, events) = run(fake(&clock), &clock, 2 * S);
    assert!(events.is_empty(), "{events:?}");
    // One reading per 8.52 ms conversion over 1 s, never the same conversion twice.
    assert!((116..=118).contains(&readings.len()), "{}", readings.len());
    assert!(readings
        .windows(2)
        .all(|w| w[1].mono_us - w[0].mono_us >= PERIOD_US));
}

#[test]
fn a_chip_slower_than_its_datasheet_loses_no_conversion() {
    // Conversions every 9 ms instead of 8.52: empty polls retry after period / 8.
    let clock = FakeClock::new(S);
    let mut f = fake(&clock);
    f.period_override_us = Some(9_000);
    // Conversion 111 completes at +0.999 s; the late poll that takes it is at most 1.065 ms on.
    let (readings, _) = run(f, &clock, 2 * S + 5_000);
    assert_eq!(readings.len(), 111, "1 s / 9 ms");
    for (i, r) in readings.iter().enumerate() {
        let done = S + (i as u64 + 1) * 9_000;
        assert!(
            (done..done + PERIOD_US / 8 + 1).contains(&r.mono_us),
            "{i}: {}",
            r.mono_us
        );
    }
}
