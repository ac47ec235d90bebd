//! The CPU and RAM cost of runs from samples around them.

use super::*;
use crate::record::ProcRole;
use crate::record::RunPhase;
use crate::record::TrackedProc;

const S: u64 = 1_000_000;

/// 4 cores at 10 Hz for 20 s: 10 % machine CPU and 1000 MB used, except 60 % and
/// 1500 MB for the points in (12 s, 16 s]. The worker appears at 11 s (new layout).
fn samples() -> Vec<(SampleLayout, Sample)> {
    let base = SampleLayout {
        cpus: 5,
        ..SampleLayout::default()
    };
    let mut with_worker = base.clone();
    with_worker.procs.push(TrackedProc {
        pid: 9,
        role: ProcRole::Worker,
    });
    let mut prev = Sample::empty(&base);
    (0..=200u64)
        .map(|i| {
            let t = i * S / 10;
            let busy = i > 120 && i <= 160;
            let l = if i >= 110 { &with_worker } else { &base };
            let mut s = Sample::empty(l);
            s.cpu = prev.cpu.clone();
            if i > 0 {
                // Per core +10 ticks: 4 of 40 busy, or 24 of 40.
                let user = if busy { [10, 10, 4, 0] } else { [4, 0, 0, 0] };
                for (c, u) in user.iter().enumerate() {
                    s.cpu[c + 1].user += u;
                    s.cpu[c + 1].idle += 10 - u;
                }
                s.cpu[0].user = s.cpu[1..].iter().map(|c| c.user).sum();
                s.cpu[0].idle = s.cpu[1..].iter().map(|c| c.idle).sum();
            }
            if let Some(w) = s.procs.first_mut() {
                // The worker: 1 tick per sample from 11 s, +2 while busy; RSS 100 MB.
                let before = prev.procs.first().map_or(0, |p| p.utime_ticks);
                w.utime_ticks = before + if busy { 3 } else { 1 };
                w.rss_kb = 102_400;
                s.set_valid(l.proc_bit(0), true);
            }
            s.tick = i;
            s.mono_us = t;
            s.mem.total = 8_000_000;
            s.mem.available = 8_000_000 - if busy { 1_536_000 } else { 1_024_000 };
            s.set_valid(group::CPU, true);
            s.set_valid(group::MEM, true);
            prev = s.clone();
            (l.clone(), s)
        })
        .collect()
}

fn run(phases: &[(RunPhase, u64)]) -> Run {
    Run::for_test(9, 8, 8, phases)
}

#[test]
fn a_runs_cpu_and_ram_above_idle_are_integrated_across_layouts() {
    let runs = [
        run(&[(RunPhase::Load, 12 * S), (RunPhase::Done, 16 * S)]),
        run(&[]),
    ];
    let usage = run_usage(&samples(), &runs, None);
    let u = usage[0].as_ref().unwrap();
    // The 40 intervals (12.0, 12.1] … (15.9, 16.0] at 60 %, baseline 10 %: each interval's
    // CPU % holds over it, so 40 × 50 × 0.1 = 200 %·s, the counters' Δ exactly.
    assert!((u.cpu_pct_s - 200.0).abs() < 1e-9, "{}", u.cpu_pct_s);
    // RAM 500 MB above the 1000 MB baseline: 25 + 39 × 500 × 0.1 = 1975 MB·s.
    assert!((u.ram_mb_s - 1975.0).abs() < 1e-9, "{}", u.ram_mb_s);
    assert!((u.baseline_cpu_pct - 10.0).abs() < 1e-9);
    assert!((u.baseline_ram_mb - 1000.0).abs() < 1e-9);
    assert!(u.baseline_window.end_us <= 12 * S);
    assert!(!u.baseline_is_lead_in);
    // Nothing dips below idle here: signed equals clamped. Per core: 4 × the machine's.
    assert!((u.cpu_signed_pct_s - u.cpu_pct_s).abs() < 1e-9);
    assert!((u.ram_signed_mb_s - u.ram_mb_s).abs() < 1e-9);
    assert!(
        (u.cpu_core_pct_s - 4.0 * u.cpu_pct_s).abs() < 1e-6,
        "{}",
        u.cpu_core_pct_s
    );
    assert!((u.coverage - 1.0).abs() < 1e-9);
    // Worker ticks from the sample at 12.0 s to the one at 16.0 s: 40 × 3 = 120 → 1.2 s.
    assert_eq!(u.worker_cpu_s, Some(1.2));
    assert_eq!(u.worker_rss_mb, Some(100.0));
    // 100 MB resident for the 4 s of the run.
    assert!((u.worker_rss_mb_s.unwrap() - 400.0).abs() < 1e-9);
    assert!(usage[1].is_none(), "a run that never started has no usage");
}

/// A run half covered by samples is as busy as its samples say, not half as busy; a run
/// no sample covers has no mean (rev-k: a run read 18 % busy where its samples said 65 %).
#[test]
fn a_runs_mean_cpu_is_over_its_covered_time() {
    let runs = [run(&[(RunPhase::Load, 12 * S), (RunPhase::Done, 16 * S)])];
    // The samples in (13 s, 15 s) lost: the interval (13.0, 15.0] is a gap.
    let gappy: Vec<_> = samples()
        .into_iter()
        .filter(|(_, s)| !(13 * S + 1..15 * S).contains(&s.mono_us))
        .collect();
    let u = run_usage(&gappy, &runs, None)[0].clone().unwrap();
    assert!((u.coverage - 0.5).abs() < 1e-9, "{}", u.coverage);
    assert!(u.covered());
    // 60 % over the 2 s covered; the AUC is the covered time's: 20 intervals × 50 × 0.1.
    assert!(
        (u.cpu_signed_pct_s - 100.0).abs() < 1e-9,
        "{}",
        u.cpu_signed_pct_s
    );
    let mean = u.cpu_mean_pct(4.0).unwrap();
    assert!((mean - 60.0).abs() < 1e-9, "{mean}");
    let none = RunUsage {
        coverage: 0.0,
        cpu_signed_pct_s: 0.0,
        ..u
    };
    assert!(!none.covered());
    assert_eq!(none.cpu_mean_pct(4.0), None);
    assert_eq!(u.cpu_mean_pct(0.0), None);
    // A run inside the gap: no figure of the worker's either (the samples either side
    // spanned the gap, and its CPU between them was not the run's alone).
    assert!(u.worker_cpu_s.is_some());
    let inside = [run(&[
        (RunPhase::Load, 13 * S + S / 4),
        (RunPhase::Done, 14 * S + S / 2),
    ])];
    let v = run_usage(&gappy, &inside, None)[0].clone().unwrap();
    assert!(!v.covered(), "{}", v.coverage);
    assert_eq!(
        (v.worker_cpu_s, v.worker_rss_mb, v.worker_rss_mb_s),
        (None, None, None)
    );
}

#[test]
fn an_idle_lead_in_is_the_baseline_when_given() {
    let runs = [run(&[(RunPhase::Load, 12 * S), (RunPhase::Done, 16 * S)])];
    let idle = Window::new(2 * S, 5 * S).unwrap();
    let u = run_usage(&samples(), &runs, Some(idle))[0].clone().unwrap();
    assert_eq!(u.baseline_window, idle);
    assert!(u.baseline_is_lead_in);
    assert!((u.cpu_pct_s - 200.0).abs() < 1e-9, "{}", u.cpu_pct_s);
    // A lead-in after the run is not its baseline: the search before it is used.
    let late = Window::new(17 * S, 19 * S).unwrap();
    let v = run_usage(&samples(), &runs, Some(late))[0].clone().unwrap();
    assert!(v.baseline_window.end_us <= 12 * S);
}

#[test]
fn rss_auc_cuts_trapezoids_at_the_window_edges() {
    // 0 MB at 0 s rising to 2 MB at 2 s, then flat to 4 s.
    let pts = [(0, 0, 0), (2 * S, 0, 2048), (4 * S, 0, 2048)];
    // [1 s, 3 s]: (1 + 2)/2 × 1 s + 2 × 1 s = 3.5 MB·s.
    let w = Window::new(S, 3 * S).unwrap();
    assert!((rss_auc(&pts, w).unwrap() - 3.5).abs() < 1e-12);
    // Samples that do not reach the window's end give no figure, not a short one.
    let w = Window::new(S, 5 * S).unwrap();
    assert_eq!(rss_auc(&pts, w), None);
}

#[test]
fn the_system_view_keeps_cpu_and_memory_with_their_validity() {
    let (l, s) = samples().pop().unwrap();
    let (vl, v) = system_view(&l, &s);
    assert!(vl.procs.is_empty());
    assert_eq!((v.cpu.clone(), v.mem, v.mono_us), (s.cpu, s.mem, s.mono_us));
    assert!(v.is_valid(group::CPU) && v.is_valid(group::MEM));
    assert!(vl.fits(&v));
}

#[test]
fn samples_of_one_layout_cost_what_their_system_views_cost() {
    // From 11 s every sample has the worker's layout: derived from the samples themselves.
    let with_worker: Vec<_> = samples().into_iter().skip(110).collect();
    assert!(with_worker.iter().all(|(l, _)| l.procs.len() == 1));
    let views: Vec<_> = with_worker.iter().map(|(l, s)| system_view(l, s)).collect();
    let runs = [run(&[(RunPhase::Load, 12 * S), (RunPhase::Done, 16 * S)])];
    let got = run_usage(&with_worker, &runs, None);
    let u = got[0].as_ref().unwrap();
    assert!((u.cpu_pct_s - 200.0).abs() < 1e-9, "{}", u.cpu_pct_s);
    assert_eq!(u.worker_cpu_s, Some(1.2));
    // The views have no worker: the same usage but for the worker's figures.
    let mut want = run_usage(&views, &runs, None);
    let w = want[0].as_mut().unwrap();
    (w.worker_cpu_s, w.worker_rss_mb, w.worker_rss_mb_s) =
        (u.worker_cpu_s, u.worker_rss_mb, u.worker_rss_mb_s);
    assert_eq!(got, want);
}
