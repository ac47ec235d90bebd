//! Utilisation from consecutive raw samples.
//!
//! A rate (CPU %) between samples `i − 1` and `i` is a point at `t_i` = `mono_us` of
//! sample `i`, whose value is the average over `(t_{i−1}, t_i]`, and holds over that whole
//! interval ([`Shape::Steps`]): an AUC is then the counters' own Δ, and a window edge
//! inside an interval takes its share of it. A gauge (RAM used, RSS) is a point at every
//! sample whose reading is valid, sample 0 included, joined by straight lines.
//!
//! Conventions:
//! - **machine CPU %**: Δbusy / Δtotal × 100 of the aggregate `cpu` line; 100 % = every
//!   core busy. busy = user + nice + system + irq + softirq + steal (idle and iowait
//!   are not busy).
//! - **per-core-sum CPU %**: Σ over cores of Δbusy_c / Δtotal_c × 100; 100 % per fully
//!   busy core, so 400 % max on 4 cores.
//! - **process CPU %**: Δ(utime + stime) / (Δt · USER_HZ) × 100 in the per-core-sum
//!   convention; divided by the number of cores in the machine convention.
//! - **MB = MiB = 1024 kB**: /proc reports KiB and labels them "kB". RAM used =
//!   MemTotal − MemAvailable.
//!
//! A counter that went backwards is a reset. For a cpu line the checks are on busy and
//! on idle + iowait, not on single fields: the kernel documents that per-CPU iowait
//! "can decrease in certain conditions" (Documentation/filesystems/proc.rst).

use std::borrow::Borrow;

use super::series::GapRule;
use super::series::Series;
use super::series::Shape;
use super::DeriveError;
use crate::record::group;
use crate::record::CpuTicks;
use crate::record::Sample;
use crate::record::SampleLayout;
use crate::record::TrackedProc;

/// The usual kernel clock tick rate (`getconf CLK_TCK`).
pub const DEFAULT_USER_HZ: u32 = 100;
/// kB (KiB) per MB (MiB).
pub const KB_PER_MB: f64 = 1024.0;

/// Why there is no value between two samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapCause {
    /// A sample lacks the valid bit of the reading group.
    Invalid,
    /// A counter went backwards.
    Reset,
}

/// A rate between two samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    Value(f64),
    /// No value; the point is missing and becomes a gap.
    Gap(GapCause),
    /// No time passed on the counter's clock (Δtotal or Δt is 0): no point, and no gap
    /// either — the neighbouring points span the interval.
    Empty,
}

fn both_valid(prev: &Sample, cur: &Sample, bit: u32) -> bool {
    prev.is_valid(bit) && cur.is_valid(bit)
}

/// (Δbusy, Δtotal) of one cpu line, or a reset.
fn cpu_delta(prev: &CpuTicks, cur: &CpuTicks) -> Result<(u64, u64), GapCause> {
    let idle = |c: &CpuTicks| c.idle + c.iowait;
    let busy = cur.busy().checked_sub(prev.busy()).ok_or(GapCause::Reset)?;
    let idle = idle(cur).checked_sub(idle(prev)).ok_or(GapCause::Reset)?;
    Ok((busy, busy + idle))
}

/// Machine CPU % between two samples (aggregate line; 100 % = the whole machine).
#[must_use]
pub fn machine_cpu_pct(prev: &Sample, cur: &Sample) -> Rate {
    if !both_valid(prev, cur, group::CPU) {
        return Rate::Gap(GapCause::Invalid);
    }
    let (Some(p), Some(c)) = (prev.cpu.first(), cur.cpu.first()) else {
        return Rate::Gap(GapCause::Invalid);
    };
    match cpu_delta(p, c) {
        Err(cause) => Rate::Gap(cause),
        Ok((_, 0)) => Rate::Empty,
        Ok((busy, total)) => Rate::Value(busy as f64 / total as f64 * 100.0),
    }
}

/// Per-core-sum CPU % between two samples (lines after the aggregate; 100 % per core).
/// Empty if any core's Δtotal is 0; a gap if any core's counters went backwards.
#[must_use]
pub fn per_core_sum_cpu_pct(prev: &Sample, cur: &Sample) -> Rate {
    if !both_valid(prev, cur, group::CPU) || prev.cpu.len() != cur.cpu.len() || cur.cpu.len() < 2 {
        return Rate::Gap(GapCause::Invalid);
    }
    let mut sum = 0.0;
    let mut empty = false;
    for (p, c) in prev.cpu.iter().zip(&cur.cpu).skip(1) {
        match cpu_delta(p, c) {
            Err(cause) => return Rate::Gap(cause),
            Ok((_, 0)) => empty = true,
            Ok((busy, total)) => sum += busy as f64 / total as f64 * 100.0,
        }
    }
    if empty {
        Rate::Empty
    } else {
        Rate::Value(sum)
    }
}

/// CPU % of tracked process `i` between two samples, per-core-sum convention
/// (divide by the number of cores for the machine convention).
#[must_use]
pub fn proc_cpu_pct(prev: &Sample, cur: &Sample, i: usize, user_hz: u32) -> Rate {
    let bit = group::PROC0 + i as u32;
    if !both_valid(prev, cur, bit) {
        return Rate::Gap(GapCause::Invalid);
    }
    let (Some(p), Some(c)) = (prev.procs.get(i), cur.procs.get(i)) else {
        return Rate::Gap(GapCause::Invalid);
    };
    let ticks = |x: &crate::record::ProcCounters| x.utime_ticks + x.stime_ticks;
    let Some(d_ticks) = ticks(c).checked_sub(ticks(p)) else {
        return Rate::Gap(GapCause::Reset);
    };
    let dt_us = cur.mono_us.saturating_sub(prev.mono_us);
    if dt_us == 0 || user_hz == 0 {
        return Rate::Empty;
    }
    let dt_s = dt_us as f64 / 1e6;
    Rate::Value(d_ticks as f64 / (dt_s * f64::from(user_hz)) * 100.0)
}

/// RAM used (MemTotal − MemAvailable) of one sample, MB (MiB); `None` if invalid.
#[must_use]
pub fn ram_used_mb(s: &Sample) -> Option<f64> {
    s.is_valid(group::MEM)
        .then(|| s.mem.used() as f64 / KB_PER_MB)
}

/// RSS of tracked process `i` in one sample, MB (MiB); `None` if invalid.
#[must_use]
pub fn rss_mb(s: &Sample, i: usize) -> Option<f64> {
    let p = s.procs.get(i)?;
    s.is_valid(group::PROC0 + i as u32)
        .then(|| p.rss_kb as f64 / KB_PER_MB)
}

/// How to derive utilisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeriveOptions {
    /// Kernel clock ticks per second of utime/stime (default 100).
    pub user_hz: u32,
    /// The sampler's interval, µs; `None` = the median interval of the samples.
    pub nominal_interval_us: Option<u64>,
    /// An interval longer than this many nominal intervals is a gap (default 2.5).
    pub gap_factor: f64,
}

impl Default for DeriveOptions {
    fn default() -> Self {
        Self {
            user_hz: DEFAULT_USER_HZ,
            nominal_interval_us: None,
            gap_factor: GapRule::DEFAULT_FACTOR,
        }
    }
}

/// Series of one tracked process.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcUtil {
    pub proc: TrackedProc,
    /// 100 % = the whole machine.
    pub cpu_machine_pct: Series,
    /// 100 % = one core.
    pub cpu_per_core_sum_pct: Series,
    pub rss_mb: Series,
}

/// Every utilisation series of a run of samples of one layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Utilisation {
    /// Cores (per-core `/proc/stat` lines).
    pub ncores: u16,
    pub gap_rule: GapRule,
    /// 100 % = the whole machine.
    pub cpu_machine_pct: Series,
    /// 100 % = one core (400 % max on 4 cores).
    pub cpu_per_core_sum_pct: Series,
    pub ram_used_mb: Series,
    /// In layout order.
    pub procs: Vec<ProcUtil>,
}

fn median_interval_us<S: Borrow<Sample>>(samples: &[S]) -> Option<u64> {
    let mut dts: Vec<u64> = samples
        .windows(2)
        .map(|w| w[1].borrow().mono_us.saturating_sub(w[0].borrow().mono_us))
        .collect();
    dts.sort_unstable();
    dts.get(dts.len() / 2).copied()
}

/// A rate over `(start_us, t_us]`: a step over that interval, or a break at its end.
fn push_rate(
    series: &mut Series,
    (start_us, t_us): (u64, u64),
    rate: Rate,
) -> Result<(), DeriveError> {
    match rate {
        Rate::Value(v) => series.push_step(start_us, t_us, v),
        Rate::Gap(_) => series.push_break(t_us),
        Rate::Empty => Ok(()),
    }
}

fn push_gauge(series: &mut Series, t_us: u64, v: Option<f64>) -> Result<(), DeriveError> {
    match v {
        Some(v) => series.push(t_us, v),
        None => series.push_break(t_us),
    }
}

fn check_samples<S: Borrow<Sample>>(
    layout: &SampleLayout,
    samples: &[S],
) -> Result<(), DeriveError> {
    for (index, s) in samples.iter().map(Borrow::borrow).enumerate() {
        if !layout.fits(s) {
            return Err(DeriveError::LayoutMismatch { index });
        }
        if let Some(prev) = index.checked_sub(1).and_then(|k| samples.get(k)) {
            let prev = prev.borrow();
            if s.mono_us <= prev.mono_us {
                return Err(DeriveError::NotIncreasing {
                    index,
                    mono_us: s.mono_us,
                    prev_us: prev.mono_us,
                });
            }
        }
    }
    Ok(())
}

/// Utilisation series of consecutive samples of one layout (one boot, increasing
/// `mono_us`). See the module doc for the conventions.
pub fn utilisation<S: Borrow<Sample>>(
    layout: &SampleLayout,
    samples: &[S],
    opts: &DeriveOptions,
) -> Result<Utilisation, DeriveError> {
    series_of(layout, samples, opts, true)
}

/// [`utilisation`] without the tracked processes' series (`procs` is empty): the
/// machine's CPU and RAM alone, for a reader that needs no more (a run's cost).
pub(crate) fn machine_utilisation<S: Borrow<Sample>>(
    layout: &SampleLayout,
    samples: &[S],
    opts: &DeriveOptions,
) -> Result<Utilisation, DeriveError> {
    series_of(layout, samples, opts, false)
}

fn series_of<S: Borrow<Sample>>(
    layout: &SampleLayout,
    samples: &[S],
    opts: &DeriveOptions,
    with_procs: bool,
) -> Result<Utilisation, DeriveError> {
    if layout.cpus < 2 {
        return Err(DeriveError::NoCores { cpus: layout.cpus });
    }
    if opts.user_hz == 0 {
        return Err(DeriveError::ZeroUserHz);
    }
    check_samples(layout, samples)?;
    let nominal = match opts.nominal_interval_us {
        Some(us) => us,
        None => median_interval_us(samples).ok_or(DeriveError::NoInterval {
            samples: samples.len(),
        })?,
    };
    let rule = GapRule::new(nominal, opts.gap_factor)?;
    let ncores = layout.cpus - 1;
    let n = samples.len();
    let procs = if with_procs { &layout.procs[..] } else { &[] };
    let rates = |n| Series::with_capacity(rule, n).with_shape(Shape::Steps);
    let mut u = Utilisation {
        ncores,
        gap_rule: rule,
        cpu_machine_pct: rates(n),
        cpu_per_core_sum_pct: rates(n),
        ram_used_mb: Series::with_capacity(rule, n),
        procs: procs
            .iter()
            .map(|p| ProcUtil {
                proc: p.clone(),
                cpu_machine_pct: rates(0),
                cpu_per_core_sum_pct: rates(0),
                rss_mb: Series::new(rule),
            })
            .collect(),
    };
    // The sample each system CPU rate is measured from: the one of its last point or break.
    // An interval with no tick (`Rate::Empty`) is part of the next one, whose step then
    // holds over both: the counters' Δ since that sample.
    let (mut machine_from, mut core_from) = (0, 0);
    for (k, cur) in samples.iter().map(Borrow::borrow).enumerate() {
        let t = cur.mono_us;
        push_gauge(&mut u.ram_used_mb, t, ram_used_mb(cur))?;
        for (i, p) in u.procs.iter_mut().enumerate() {
            push_gauge(&mut p.rss_mb, t, rss_mb(cur, i))?;
        }
        let Some(prev) = k.checked_sub(1).and_then(|j| samples.get(j)) else {
            continue;
        };
        let prev = prev.borrow();
        let span = (prev.mono_us, t);
        for (from, series, rate) in [
            (
                &mut machine_from,
                &mut u.cpu_machine_pct,
                machine_cpu_pct as fn(_, _) -> _,
            ),
            (
                &mut core_from,
                &mut u.cpu_per_core_sum_pct,
                per_core_sum_cpu_pct,
            ),
        ] {
            let since = samples[*from].borrow();
            let rate = rate(since, cur);
            push_rate(series, (since.mono_us, t), rate)?;
            if rate != Rate::Empty {
                *from = k;
            }
        }
        for (i, p) in u.procs.iter_mut().enumerate() {
            let rate = proc_cpu_pct(prev, cur, i, opts.user_hz);
            push_rate(&mut p.cpu_per_core_sum_pct, span, rate)?;
            let machine = match rate {
                Rate::Value(v) => Rate::Value(v / f64::from(ncores)),
                other => other,
            };
            push_rate(&mut p.cpu_machine_pct, span, machine)?;
        }
    }
    Ok(u)
}
