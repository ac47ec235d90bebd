use super::close;
use super::util::layout4;
use super::util::sample;
use super::win;
use crate::derive::phase_usage;
use crate::derive::utilisation;
use crate::derive::DeriveError;
use crate::derive::DeriveOptions;
use crate::derive::ProcBaselinePolicy;
use crate::derive::UsageAuc;
use crate::derive::UsageBaseline;
use crate::record::RunPhase;
use crate::record::Sample;

/// 1 Hz, 0..=6 s, 100 ticks per core per second. Seconds 0–3 quiet: every core 10 busy
/// of 100. Seconds 3–6: core 0 fully busy, the worker runs 100 ticks/s, and RAM used
/// grows from 1024 to 1536 MB. Worker RSS 100 MB throughout.
fn run() -> Vec<Sample> {
    let mut out = Vec::new();
    let (mut c0, mut others, mut worker) = (0, 0, 0);
    for t in 0..=6u64 {
        if t > 0 {
            if t <= 3 {
                c0 += 10;
            } else {
                c0 += 100;
                worker += 100;
            }
            others += 10;
        }
        let cores = [
            (c0, 100 * t - c0),
            (others, 100 * t - others),
            (others, 100 * t - others),
            (others, 100 * t - others),
        ];
        let mut s = sample(t as f64, cores, worker, 100 * 1024);
        if t >= 4 {
            s.mem.available -= 512 * 1024;
        }
        out.push(s);
    }
    out
}

#[test]
fn usage_auc_of_a_busy_stretch_after_a_quiet_one() {
    let u = utilisation(&layout4(), &run(), &DeriveOptions::default()).unwrap();
    // Machine % at 1..6 s: 10 10 10 then (100 + 30)/400 = 32.5 three times.
    let machine: Vec<f64> = u.cpu_machine_pct.points().iter().map(|p| p.1).collect();
    assert_eq!(machine, [10.0, 10.0, 10.0, 32.5, 32.5, 32.5]);
    let base = UsageBaseline::from_window(&u, win(1.0, 3.0), ProcBaselinePolicy::Zero).unwrap();
    close(base.cpu_machine_pct.mean, 10.0);
    close(base.cpu_per_core_sum_pct.mean, 40.0);
    close(base.ram_used_mb.mean, 1024.0);
    assert_eq!(base.procs[0].rss_mb, 0.0);
    let a = UsageAuc::new(&u, win(3.0, 6.0), &base);
    // Machine: each interval's % holds over it: (3, 4], (4, 5], (5, 6] at 22.5 above
    // idle → 67.5 %·s (the busy ticks themselves; no ramp lost at 3 s).
    close(a.cpu_pct_s.machine.above, 67.5);
    // Per-core-sum: 40 → 130, 90 above over each of the three → 270 %·s = 4 × 67.5.
    close(a.cpu_pct_s.per_core_sum.above, 270.0);
    // RAM: f = 0, 512, 512, 512 → 256 + 512 + 512 = 1280 MB·s.
    close(a.ram_mb_s.above, 1280.0);
    // Worker against 0: 100 % over each of the three intervals → 300 %·s per-core-sum
    // (its 300 ticks), 75 %·s machine; RSS 100 MB × 3 s = 300 MB·s.
    close(a.procs[0].cpu_pct_s.per_core_sum.above, 300.0);
    close(a.procs[0].cpu_pct_s.machine.above, 75.0);
    close(a.procs[0].rss_mb_s.above, 300.0);
    assert_eq!(a.ram_mb_s.coverage.fraction, 1.0);
    assert_eq!(a.ram_mb_s.n_points, 4);
}

#[test]
fn quietest_baseline_and_window_policy_for_processes() {
    let u = utilisation(&layout4(), &run(), &DeriveOptions::default()).unwrap();
    // Machine points start at 1 s; [1, 3] has mean 10, every later 2 s window more.
    let base = UsageBaseline::quietest(&u, 2_000_000, ProcBaselinePolicy::Window).unwrap();
    assert_eq!(base.window, win(1.0, 3.0));
    // Window policy: the worker's baseline is its quiet mean: CPU 0 %, RSS 100 MB.
    assert_eq!(base.procs[0].cpu_per_core_sum_pct, 0.0);
    close(base.procs[0].rss_mb, 100.0);
    let a = UsageAuc::new(&u, win(3.0, 6.0), &base);
    assert_eq!(a.procs[0].rss_mb_s.above, 0.0);
    // A window where the worker has too few points names it.
    let err = UsageBaseline::from_window(&u, win(0.0, 1.5), ProcBaselinePolicy::Window);
    assert!(matches!(err, Err(DeriveError::TooFewPoints { n: 1, .. })));
}

#[test]
fn phases_of_a_run() {
    // Machine %: 10 over (2, 3], 32.5 over (3, 4], (4, 5], (5, 6]; baseline 10 → 22.5
    // above over each busy second. load [3, 4]: 22.5; decode [4, 6]: 45. RAM (joined
    // points: 1024 MB at 3 s, 1536 from 4 s): load 256, decode 1024 MB·s.
    let u = utilisation(&layout4(), &run(), &DeriveOptions::default()).unwrap();
    let base = UsageBaseline::from_window(&u, win(1.0, 3.0), ProcBaselinePolicy::Zero).unwrap();
    let phases = [
        (RunPhase::Load, win(3.0, 4.0)),
        (RunPhase::Decode, win(4.0, 6.0)),
    ];
    let got = phase_usage(&u, &phases, &base).unwrap();
    assert_eq!(got[0].0, RunPhase::Load);
    close(got[0].1.cpu_pct_s.machine.above, 22.5);
    close(got[1].1.cpu_pct_s.machine.above, 45.0);
    close(got[0].1.ram_mb_s.above, 256.0);
    close(got[1].1.ram_mb_s.above, 1024.0);
}

#[test]
fn constant_512_mb_over_10_s() {
    // RAM used 512 MB at 0..=10 s (1 Hz) above a 0 baseline: 512 · 10 = 5120 MB·s.
    let samples: Vec<Sample> = (0..=10)
        .map(|t| {
            let mut s = sample(f64::from(t), [(0, 100 * t as u64); 4], 0, 0);
            s.mem.available = s.mem.total - 512 * 1024;
            s
        })
        .collect();
    let u = utilisation(&layout4(), &samples, &DeriveOptions::default()).unwrap();
    let a = crate::derive::auc(&u.ram_used_mb, win(0.0, 10.0), 0.0);
    close(a.above, 5120.0);
    assert_eq!(a.n_points, 11);
    assert_eq!(a.coverage.fraction, 1.0);
}
