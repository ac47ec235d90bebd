use super::*;
use crate::power::PowerReading;
use crate::power::SourceId;
use crate::record::group;
use crate::record::ProcRole;
use crate::record::TrackedProc;

const S: u64 = 1_000_000;

fn layout(worker: bool) -> SampleLayout {
    SampleLayout {
        cpus: 5,
        procs: worker
            .then_some(TrackedProc {
                pid: 9,
                role: ProcRole::Worker,
            })
            .into_iter()
            .collect(),
        ..SampleLayout::default()
    }
}

/// Sample `i` at 10 Hz on 4 cores: every core 1 busy tick of 10 between samples (10 %),
/// except 6 of 10 from 6 s on; 1000 MB used (1500 MB from 6 s on).
fn sample(l: &SampleLayout, i: u64) -> Sample {
    let mut s = Sample::empty(l);
    s.tick = i;
    s.mono_us = i * S / 10;
    let busy_per_core = |k: u64| if k > 60 { 6 } else { 1 };
    let busy: u64 = (1..=i).map(busy_per_core).sum();
    for c in &mut s.cpu[1..] {
        c.user = busy;
        c.idle = 10 * i - busy;
    }
    s.cpu[0].user = 4 * busy;
    s.cpu[0].idle = 4 * (10 * i - busy);
    s.mem.total = 8_000_000;
    s.mem.available = 8_000_000 - if i > 60 { 1_536_000 } else { 1_024_000 };
    s.set_valid(group::CPU, true);
    s.set_valid(group::MEM, true);
    s
}

fn power(t_us: u64) -> PowerReading {
    PowerReading::power_only(t_us, SourceId::Replay, 2_000_000)
}

#[test]
fn a_plans_baseline_holds_its_power_cpu_and_ram_figures_and_coverage() {
    let mut recent = RecentSamples::new(10 * S);
    for i in 0..=80 {
        // The worker appears at 3 s: another layout, the same system part.
        let l = layout(i >= 30);
        recent.push(&l, &sample(&l, i));
    }
    let mut history = PowerHistory::new(u64::MAX);
    history.extend((0..=80).map(|i| power(i * S / 10)));
    let window = Window::spanning(2 * S, 5 * S);
    let (idle, event) = measure("nightly", window, &recent, Some((&history, 100_000)));
    let want_power = Baseline {
        window,
        power_uw: 2_000_000,
        coverage_ppm: 1_000_000,
    };
    assert_eq!(
        idle,
        PlanIdle {
            window,
            power: Some(want_power),
        }
    );
    assert_eq!(
        event,
        EventKind::PlanBaseline {
            plan: "nightly".into(),
            from_us: 2 * S,
            to_us: 5 * S,
            power_uw: Some(2_000_000),
            power_coverage_ppm: 1_000_000,
            cpu_busy_ppm: Some(100_000),
            ram_used_kb: Some(1_024_000),
            samples_coverage_ppm: 1_000_000,
        }
    );
}

#[test]
fn without_power_or_samples_the_figures_are_none_not_zero() {
    let recent = RecentSamples::new(10 * S);
    let window = Window::spanning(2 * S, 5 * S);
    let (idle, event) = measure("p", window, &recent, None);
    assert_eq!(idle.power, None);
    let EventKind::PlanBaseline {
        power_uw,
        cpu_busy_ppm,
        ram_used_kb,
        power_coverage_ppm,
        samples_coverage_ppm,
        ..
    } = event
    else {
        panic!("{event:?}");
    };
    assert_eq!((power_uw, cpu_busy_ppm, ram_used_kb), (None, None, None));
    assert_eq!((power_coverage_ppm, samples_coverage_ppm), (0, 0));
    // A power source whose readings stopped before the lead-in: no figure either.
    let mut history = PowerHistory::new(u64::MAX);
    history.extend([power(0), power(100_000)]);
    let (idle, _) = measure("p", window, &recent, Some((&history, 100_000)));
    assert_eq!(idle.power, None);
}

#[test]
fn recent_samples_keep_only_the_last_seconds_and_reuse_their_storage() {
    let mut recent = RecentSamples::new(S);
    let l = layout(false);
    for i in 0..=50 {
        recent.push(&l, &sample(&l, i));
    }
    let times: Vec<u64> = recent.samples.iter().map(|s| s.mono_us).collect();
    assert_eq!(times.first(), Some(&(4 * S)), "the last second: 4.0–5.0 s");
    assert_eq!(times.len(), 11);
    assert!(recent.samples.iter().all(|s| s.procs.is_empty()));
    let capacity = recent.samples.capacity();
    for i in 51..=500 {
        recent.push(&l, &sample(&l, i));
    }
    assert_eq!(recent.samples.len(), 11);
    assert_eq!(
        recent.samples.capacity(),
        capacity,
        "no growth in steady state"
    );
    // Another machine's layout (more cores) starts afresh.
    let big = SampleLayout {
        cpus: 9,
        ..SampleLayout::default()
    };
    let mut s = Sample::empty(&big);
    s.mono_us = 60 * S;
    recent.push(&big, &s);
    assert_eq!(recent.samples.len(), 1);
    assert_eq!(recent.layout.cpus, 9);
}
