//! Seeded synthetic traces with the noise of a real machine, for tests and benchmarks.
//!
//! Not used by the daemon. Each tick a core spends its 10 ticks (10 Hz at USER_HZ 100)
//! between user, system, idle and iowait with a slowly drifting load; memory, RSS,
//! temperature and frequency jitter the way they do on a Pi 5.

use crate::record::ProcRole;
use crate::record::Sample;
use crate::record::SampleLayout;
use crate::record::TrackedProc;

/// A small deterministic PRNG (xorshift64*), so traces are reproducible without a dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in the open interval (0, 1), from the top 53 bits.
    pub fn unit_f64(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A draw from N(0, sd²) (Box–Muller), for synthetic data with known truth.
    pub fn normal(&mut self, sd: f64) -> f64 {
        let (u, v) = (self.unit_f64(), self.unit_f64());
        sd * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The layout of a Pi 5 with the daemon and a worker tracked: aggregate + 4 cores,
/// one thermal zone, one cpufreq policy, throttled flags.
#[must_use]
pub fn pi5_layout() -> SampleLayout {
    SampleLayout {
        cpus: 5,
        procs: vec![
            TrackedProc {
                pid: 812,
                role: ProcRole::Daemon,
            },
            TrackedProc {
                pid: 1377,
                role: ProcRole::Worker,
            },
        ],
        thermal_zones: vec!["thermal_zone0:cpu-thermal".into()],
        cpufreq: vec!["policy0".into()],
        throttled: true,
    }
}

/// `n` samples at 10 Hz of `layout`, all valid, seeded.
#[must_use]
pub fn trace(layout: &SampleLayout, n: usize, seed: u64) -> Vec<Sample> {
    let mut rng = Rng::new(seed);
    let mut s = Sample::empty(layout);
    s.mono_us = 3_600_000_000;
    s.mem.total = 8_245_000;
    s.mem.available = 7_100_000;
    s.mem.free = 6_500_000;
    s.mem.cached = 480_000;
    s.mem.swap_total = 204_796;
    s.mem.swap_free = 204_796;
    s.valid = (1u64 << layout.groups()) - 1;
    let mut load = 30u64;
    let mut out = Vec::with_capacity(n);
    for i in 0..n as u64 {
        s.tick = i;
        s.mono_us += 100_000 + rng.below(300);
        load = (load + rng.below(11)).saturating_sub(5).min(100);
        let mut agg = s.cpu.first().copied().unwrap_or_default();
        for c in s.cpu.iter_mut().skip(1) {
            let busy = (10 * load + rng.below(100)) / 100;
            let sys = busy / 4;
            c.user += busy - sys;
            c.system += sys;
            c.idle += 10 - busy.min(10);
            c.iowait += u64::from(rng.below(50) == 0);
            c.softirq += u64::from(rng.below(20) == 0);
            agg.user += busy - sys;
            agg.system += sys;
            agg.idle += 10 - busy.min(10);
        }
        agg.iowait = s.cpu.iter().skip(1).map(|c| c.iowait).sum();
        agg.softirq = s.cpu.iter().skip(1).map(|c| c.softirq).sum();
        if let Some(a) = s.cpu.first_mut() {
            *a = agg;
        }
        let jitter = rng.below(64) * 4;
        s.mem.free = 6_500_000 - load * 1000 - jitter;
        s.mem.available = 7_100_000 - load * 1000 - jitter;
        s.mem.cached = 480_000 + rng.below(3) * 4;
        for (k, p) in s.procs.iter_mut().enumerate() {
            let share = if k == 0 { 1 } else { load / 12 };
            p.utime_ticks += rng.below(share + 1);
            p.stime_ticks += u64::from(rng.below(4) == 0);
            p.rss_kb = 9_000 + k as u64 * 150_000 + rng.below(3) * 4;
            p.minflt += rng.below(4);
        }
        for t in &mut s.temps_mc {
            *t = 48_000 + load as i64 * 200 + rng.below(5) as i64 * 50;
        }
        for f in &mut s.freqs_khz {
            *f = if load > 20 { 2_400_000 } else { 1_500_000 };
        }
        out.push(s.clone());
    }
    out
}
