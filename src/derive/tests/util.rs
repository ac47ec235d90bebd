use super::close;
use crate::derive::machine_cpu_pct;
use crate::derive::per_core_sum_cpu_pct;
use crate::derive::proc_cpu_pct;
use crate::derive::rss_mb;
use crate::derive::utilisation;
use crate::derive::DeriveError;
use crate::derive::DeriveOptions;
use crate::derive::GapCause;
use crate::derive::Rate;
use crate::record::group;
use crate::record::CpuTicks;
use crate::record::ProcRole;
use crate::record::Sample;
use crate::record::SampleLayout;
use crate::record::TrackedProc;

/// Aggregate line + 4 cores, one tracked worker.
pub(super) fn layout4() -> SampleLayout {
    SampleLayout {
        cpus: 5,
        procs: vec![TrackedProc {
            pid: 1377,
            role: ProcRole::Worker,
        }],
        thermal_zones: vec![],
        cpufreq: vec![],
        throttled: false,
    }
}

/// A valid sample at `t_s` with cumulative (busy, idle) user/idle ticks per core; the
/// aggregate line is their sum. Worker: `proc_ticks` utime, `rss_kb`; RAM used `used_kb`.
pub(super) fn sample(t_s: f64, cores: [(u64, u64); 4], proc_ticks: u64, rss_kb: u64) -> Sample {
    let mut s = Sample::empty(&layout4());
    s.mono_us = (t_s * 1e6).round() as u64;
    let mut agg = CpuTicks::default();
    for (i, &(busy, idle)) in cores.iter().enumerate() {
        s.cpu[i + 1].user = busy;
        s.cpu[i + 1].idle = idle;
        agg.user += busy;
        agg.idle += idle;
    }
    s.cpu[0] = agg;
    s.mem.total = 8 * 1024 * 1024;
    s.mem.available = s.mem.total - 1024 * 1024;
    s.procs[0].utime_ticks = proc_ticks;
    s.procs[0].rss_kb = rss_kb;
    s.valid = (1 << layout4().groups()) - 1;
    s
}

#[test]
fn one_busy_core_is_25_pct_machine_and_100_pct_per_core_sum() {
    // Over 0.1 s at USER_HZ 100 each core gets 10 ticks. Core 0 busy 10/10, cores 1–3
    // idle: aggregate 10 busy of 40 → 25 %; per-core 100 + 0 + 0 + 0 = 100 %.
    let a = sample(0.0, [(0, 0); 4], 0, 0);
    let b = sample(0.1, [(10, 0), (0, 10), (0, 10), (0, 10)], 0, 0);
    assert_eq!(machine_cpu_pct(&a, &b), Rate::Value(25.0));
    assert_eq!(per_core_sum_cpu_pct(&a, &b), Rate::Value(100.0));
}

#[test]
fn iowait_is_not_busy_but_irq_and_steal_are() {
    // Core 0: 2 user + 1 irq + 1 steal busy, 3 idle + 3 iowait → 4/10 = 40 %;
    // other cores idle → machine 4/40 = 10 %, per-core-sum 40 %.
    let a = sample(0.0, [(0, 0); 4], 0, 0);
    let mut b = sample(0.1, [(2, 3), (0, 10), (0, 10), (0, 10)], 0, 0);
    for line in [0, 1] {
        b.cpu[line].irq = 1;
        b.cpu[line].steal = 1;
        b.cpu[line].iowait = 3;
    }
    assert_eq!(machine_cpu_pct(&a, &b), Rate::Value(10.0));
    assert_eq!(per_core_sum_cpu_pct(&a, &b), Rate::Value(40.0));
}

#[test]
fn process_cpu_in_both_conventions() {
    // utime 30 → 60 and stime 0 → 10: 40 ticks over 0.5 s at USER_HZ 100 →
    // 40 / (0.5 · 100) · 100 = 80 % per-core-sum; on 4 cores 20 % machine.
    // At USER_HZ 250: 40 / (0.5 · 250) · 100 = 32 %.
    let a = sample(0.0, [(0, 0); 4], 30, 0);
    let mut b = sample(0.5, [(0, 50); 4], 60, 0);
    b.procs[0].stime_ticks = 10;
    assert_eq!(proc_cpu_pct(&a, &b, 0, 100), Rate::Value(80.0));
    assert_eq!(proc_cpu_pct(&a, &b, 0, 250), Rate::Value(32.0));
    let u = utilisation(&layout4(), &[a, b], &DeriveOptions::default()).unwrap();
    assert_eq!(u.ncores, 4);
    assert_eq!(u.procs[0].cpu_per_core_sum_pct.points(), [(500_000, 80.0)]);
    assert_eq!(u.procs[0].cpu_machine_pct.points(), [(500_000, 20.0)]);
    assert_eq!(u.procs[0].proc.pid, 1377);
}

#[test]
fn memory_in_mib() {
    // RAM used = 8 GiB − 7 GiB = 1 GiB = 1024 MB; RSS 2048 kB = 2 MB.
    let s = sample(0.0, [(0, 0); 4], 0, 2048);
    assert_eq!(crate::derive::ram_used_mb(&s), Some(1024.0));
    assert_eq!(rss_mb(&s, 0), Some(2.0));
}

#[test]
fn counter_reset_is_a_gap() {
    // 1 Hz; core 0 busy counters 0, 50, 20 (reset), 70: the point at 2 s is missing
    // (a break), the point at 3 s is computed from samples 2 → 3 as usual.
    let cores = |busy: u64, t: u64| {
        [
            (busy, 100 * t - busy),
            (0, 100 * t),
            (0, 100 * t),
            (0, 100 * t),
        ]
    };
    let s = [
        sample(0.0, cores(0, 0), 0, 0),
        sample(1.0, cores(50, 1), 0, 0),
        sample(2.0, [(20, 20), (0, 200), (0, 200), (0, 200)], 0, 0),
        sample(3.0, [(70, 70), (0, 300), (0, 300), (0, 300)], 0, 0),
    ];
    assert_eq!(machine_cpu_pct(&s[1], &s[2]), Rate::Gap(GapCause::Reset));
    assert_eq!(
        per_core_sum_cpu_pct(&s[1], &s[2]),
        Rate::Gap(GapCause::Reset)
    );
    let u = utilisation(&layout4(), &s, &DeriveOptions::default()).unwrap();
    // t = 1: 50 busy of 400 → 12.5 %; t = 3: 50 busy of 400 → 12.5 %.
    assert_eq!(
        u.cpu_machine_pct.points(),
        [(1_000_000, 12.5), (3_000_000, 12.5)]
    );
    assert_eq!(u.cpu_machine_pct.breaks(), [2_000_000]);
    // 1 → 3 s is within 2.5 × 1 s but broken: not integrated.
    assert!(u.cpu_machine_pct.is_gap(0));
    // A process restart (utime going back) is a reset too.
    let (a, b) = (
        sample(0.0, cores(0, 0), 90, 0),
        sample(1.0, cores(0, 1), 10, 0),
    );
    assert_eq!(proc_cpu_pct(&a, &b, 0, 100), Rate::Gap(GapCause::Reset));
}

#[test]
fn invalid_bit_is_a_gap() {
    // Sample 2 of 0..4 (1 Hz) has its cpu bit cleared: the points at 2 s and 3 s need
    // it, so both are breaks; memory is still valid there, so RAM keeps every point.
    let cores = |t: u64| [(10 * t, 90 * t); 4];
    let mut s: Vec<Sample> = (0..5).map(|t| sample(t as f64, cores(t), 0, 0)).collect();
    s[2].set_valid(group::CPU, false);
    s[4].set_valid(group::MEM, false);
    assert_eq!(machine_cpu_pct(&s[1], &s[2]), Rate::Gap(GapCause::Invalid));
    let u = utilisation(&layout4(), &s, &DeriveOptions::default()).unwrap();
    assert_eq!(
        u.cpu_machine_pct.points(),
        [(1_000_000, 10.0), (4_000_000, 10.0)]
    );
    assert_eq!(u.cpu_machine_pct.breaks(), [2_000_000, 3_000_000]);
    assert_eq!(
        u.cpu_per_core_sum_pct.points(),
        [(1_000_000, 40.0), (4_000_000, 40.0)]
    );
    assert_eq!(u.ram_used_mb.points().len(), 4);
    assert_eq!(u.ram_used_mb.breaks(), [4_000_000]);
}

#[test]
fn zero_total_is_no_point_and_no_gap() {
    // Samples 1 and 2 carry the same counters (read within one jiffy): no point at
    // 1.001 s, no break either. At 2 s core 0 was busy 50 of 50 ticks, the others idle
    // → 50 of 200 = 25 % machine, 100 % per-core-sum.
    let s = [
        sample(0.0, [(0, 0); 4], 0, 0),
        sample(1.0, [(50, 50); 4], 0, 0),
        sample(1.001, [(50, 50); 4], 0, 0),
        sample(2.0, [(100, 50), (50, 100), (50, 100), (50, 100)], 0, 0),
    ];
    assert_eq!(machine_cpu_pct(&s[1], &s[2]), Rate::Empty);
    let u = utilisation(&layout4(), &s, &DeriveOptions::default()).unwrap();
    assert_eq!(
        u.cpu_machine_pct.points(),
        [(1_000_000, 50.0), (2_000_000, 25.0)]
    );
    assert!(u.cpu_machine_pct.breaks().is_empty());
    assert_eq!(
        u.cpu_per_core_sum_pct.points(),
        [(1_000_000, 200.0), (2_000_000, 100.0)]
    );
    // Median interval of 1, 0.001, 0.999 s is 0.999 s.
    assert_eq!(u.gap_rule.nominal_interval_us, 999_000);
    close(u.gap_rule.factor, 2.5);
}

#[test]
fn an_empty_interval_is_part_of_the_next_step_not_a_hole() {
    // As above: (1, 1.001] has no tick, so the 25 % at 2 s is the Δ over (1, 2]. The
    // neighbouring points span the empty interval: [0, 2] is covered, 50 + 25 = 75 %·s.
    let s = [
        sample(0.0, [(0, 0); 4], 0, 0),
        sample(1.0, [(50, 50); 4], 0, 0),
        sample(1.001, [(50, 50); 4], 0, 0),
        sample(2.0, [(100, 50), (50, 100), (50, 100), (50, 100)], 0, 0),
    ];
    let u = utilisation(&layout4(), &s, &DeriveOptions::default()).unwrap();
    let a = crate::derive::auc(&u.cpu_machine_pct, super::win(0.0, 2.0), 0.0);
    close(a.coverage.fraction, 1.0);
    close(a.signed, 75.0);
    // At 100 Hz a core often gets no tick in an interval (the per-core sum is then empty)
    // while the others do: the step that follows is every core's Δ since the last point.
    // Over (0, 0.02]: core 0 busy 2 of 2, core 1 1 of 2, core 2 0 of 2, core 3 1 of 2
    // (none in the first 10 ms) → 100 + 50 + 0 + 50 = 200 % for 0.02 s = 4 %·s.
    let s = [
        sample(0.0, [(0, 0); 4], 0, 0),
        sample(0.01, [(1, 0), (1, 0), (0, 1), (0, 0)], 0, 0),
        sample(0.02, [(2, 0), (1, 1), (0, 2), (1, 1)], 0, 0),
        sample(0.03, [(3, 0), (2, 1), (0, 3), (2, 1)], 0, 0),
    ];
    assert_eq!(per_core_sum_cpu_pct(&s[0], &s[1]), Rate::Empty);
    let u = utilisation(&layout4(), &s, &DeriveOptions::default()).unwrap();
    let a = crate::derive::auc(&u.cpu_per_core_sum_pct, super::win(0.0, 0.02), 0.0);
    close(a.coverage.fraction, 1.0);
    close(a.signed, 4.0);
}

#[test]
fn bad_input_is_a_typed_error() {
    let a = sample(1.0, [(0, 0); 4], 0, 0);
    let b = sample(1.0, [(0, 0); 4], 0, 0);
    let opts = DeriveOptions::default();
    assert_eq!(
        utilisation(&layout4(), &[a.clone(), b], &opts),
        Err(DeriveError::NotIncreasing {
            index: 1,
            mono_us: 1_000_000,
            prev_us: 1_000_000
        })
    );
    let mut odd = a.clone();
    odd.procs.clear();
    assert_eq!(
        utilisation(&layout4(), &[a.clone(), odd], &opts),
        Err(DeriveError::LayoutMismatch { index: 1 })
    );
    assert_eq!(
        utilisation(&layout4(), std::slice::from_ref(&a), &opts),
        Err(DeriveError::NoInterval { samples: 1 })
    );
    let one = DeriveOptions {
        nominal_interval_us: Some(100_000),
        ..opts
    };
    let u = utilisation(&layout4(), &[a], &one).unwrap();
    assert_eq!(u.ram_used_mb.points(), [(1_000_000, 1024.0)]);
    let mut flat = layout4();
    flat.cpus = 1;
    assert_eq!(
        utilisation::<Sample>(&flat, &[], &one),
        Err(DeriveError::NoCores { cpus: 1 })
    );
    let zero_hz = DeriveOptions { user_hz: 0, ..one };
    assert_eq!(
        utilisation::<Sample>(&layout4(), &[], &zero_hz),
        Err(DeriveError::ZeroUserHz)
    );
}
