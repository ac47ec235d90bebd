//! The synthetic machine's samples, and the power readings its [`PowerTruth`] gives
//! between them.

use super::PowerTruth;
use super::SynthLog;
use super::SynthRun;
use super::IDLE_BUSY_TICKS;
use super::IDLE_FREQ_KHZ;
use super::RAM_IDLE_KB;
use super::RAM_TOTAL_KB;
use super::TICK_US;
use crate::derive::Window;
use crate::record::CpuTicks;
use crate::record::PowerReading;
use crate::record::Readings;
use crate::record::Sample;
use crate::record::SampleLayout;
use crate::record::SourceId;
use crate::synth::Rng;

/// A sample point: time, machine CPU %, RAM used MB, frequency kHz, and the sample.
pub(super) struct Point {
    pub(super) t: u64,
    u: f64,
    ram_mb: f64,
    freq_khz: u64,
    pub(super) sample: Sample,
}

pub(super) fn layout() -> SampleLayout {
    SampleLayout {
        cpus: 5,
        procs: vec![],
        thermal_zones: vec!["thermal_zone0:cpu-thermal".into()],
        cpufreq: vec!["policy0".into()],
        throttled: true,
    }
}

/// The samples after the last of `points` up to `to` (one every 100 ms), busy `run`'s load
/// above idle (idle without a run), appended to `points`.
pub(super) fn tick(
    points: &mut Vec<Point>,
    cpu: &mut [CpuTicks],
    to: u64,
    run: Option<&SynthRun>,
    rng: &mut Rng,
) {
    let l = layout();
    let mut t = points.last().map_or(0, |p| p.t);
    while t + TICK_US <= to {
        t += TICK_US;
        let x = run.map_or(0.0, |r| r.load_pct) / 100.0 * 40.0;
        let extra = x.floor() as u64 + u64::from((rng.below(1000) as f64) < x.fract() * 1000.0);
        let mut busy = (IDLE_BUSY_TICKS + extra).min(40);
        let total_busy = busy;
        for c in cpu.iter_mut().skip(1) {
            let b = busy.min(10);
            c.user += b;
            c.idle += 10 - b;
            busy -= b;
        }
        cpu[0].user = cpu[1..].iter().map(|c| c.user).sum();
        cpu[0].idle = cpu[1..].iter().map(|c| c.idle).sum();
        let ram_kb = RAM_IDLE_KB + run.map_or(0, |r| (r.ram_mb * 1024.0) as u64);
        let freq_khz = run.map_or(IDLE_FREQ_KHZ, |r| r.freq_mhz * 1000);
        let mut s = Sample::empty(&l);
        s.tick = t / TICK_US;
        s.mono_us = t;
        s.cpu = Readings::from_slice(cpu);
        s.mem.total = RAM_TOTAL_KB;
        s.mem.available = RAM_TOTAL_KB - ram_kb;
        s.freqs_khz = smallvec::smallvec![freq_khz];
        s.temps_mc = smallvec::smallvec![45_000 + (total_busy * 500) as i64];
        s.valid = (1 << l.groups()) - 1;
        points.push(Point {
            t,
            u: total_busy as f64 / 40.0 * 100.0,
            ram_mb: ram_kb as f64 / 1024.0,
            freq_khz,
            sample: s,
        });
    }
}

fn power_w(truth: &PowerTruth, p: &Point) -> f64 {
    let du = p.u - IDLE_BUSY_TICKS as f64 / 40.0 * 100.0;
    let dram = p.ram_mb - RAM_IDLE_KB as f64 / 1024.0;
    truth.idle_w
        + truth.cpu_w_per_pct * du
        + truth.ram_w_per_mb * dram
        + truth.cpu_ghz_w_per_pct_ghz * du * p.freq_khz as f64 / 1e6
}

/// Readings every `period_us` on the line through the sample points' power, noisy, except
/// in `holes`.
pub(super) fn readings(
    log: &SynthLog,
    points: &[Point],
    holes: &[Window],
    rng: &mut Rng,
) -> Vec<PowerReading> {
    let mut out = Vec::new();
    for w in points.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (pa, pb) = (power_w(&log.truth, a), power_w(&log.truth, b));
        let mut t = a.t;
        while t < b.t {
            if !holes.iter().any(|h| h.contains(t)) {
                let f = (t - a.t) as f64 / (b.t - a.t) as f64;
                let noise = 1.0 + log.noise * (rng.below(2001) as f64 / 1000.0 - 1.0);
                out.push(PowerReading {
                    mono_us: t,
                    source: SourceId::Ina219,
                    bus_uv: Some(5_100_000),
                    current_ua: None,
                    power_uw: ((pa + (pb - pa) * f) * noise * 1e6).round() as i64,
                    shunt_uv: None,
                    flags: 0,
                });
            }
            t += log.power_period_us;
        }
    }
    out
}
