//! The cooldown before each run (issue 3 point 4): wait until the CPU is back at the
//! plan's idle baseline and the SoC under a temperature, at most `max_wait_s`, and say how
//! the wait ended.
//!
//! The baseline is the all-CPU busy share over the plan's idle lead-in
//! ([`CpuStat::busy_pct_since`] of two reads of `/proc/stat`). Each check measures the
//! busy share over one window (0.5 s) and reads `thermal_zone0`, both through the
//! sampler's readers ([`Probe`]); the wait ends when
//! - the busy share is ≤ baseline + `cpu_margin_pct` (without a baseline: <
//!   `cpu_busy_below_pct`), and
//! - the temperature is < `temp_below_mc` (if set),
//!
//! or when `max_wait_s` has passed (`capped`). A `/proc/stat` that cannot be read or whose
//! counters do not move, and a thermal zone that cannot be read, give no information and
//! do not hold the run back; the result says which readings there were.

use std::time::Duration;

use crate::clock::Clock;
use crate::clock::MonoClock;
use crate::plan::Cooldown;
use crate::sampler::Probe;
use crate::sampler::Roots;

#[cfg(test)]
mod tests;

/// Length of one busy-share measurement.
pub const COOLDOWN_WINDOW: Duration = Duration::from_millis(500);

/// Cumulative all-CPU ticks from the `cpu` line of `/proc/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuStat {
    /// user … steal (the first 8 columns; guest time is already in user/nice).
    pub total_ticks: u64,
    /// idle + iowait.
    pub idle_ticks: u64,
}

impl CpuStat {
    /// The aggregate `cpu` line of `/proc/stat`; `None` if it cannot be read or parsed.
    #[must_use]
    pub fn read(probe: &mut Probe) -> Option<Self> {
        let t = probe.cpu_total().ok()?;
        Some(Self {
            total_ticks: t.total(),
            idle_ticks: t.idle + t.iowait,
        })
    }

    /// Busy share of all CPUs between `earlier` and `self`, percent (rounded down);
    /// `None` if no tick passed (a frozen or fake `/proc`) or the counters went back.
    #[must_use]
    pub fn busy_pct_since(&self, earlier: &Self) -> Option<u32> {
        let total = self
            .total_ticks
            .checked_sub(earlier.total_ticks)
            .filter(|t| *t > 0)?;
        let idle = self.idle_ticks.checked_sub(earlier.idle_ticks)?;
        let busy = total.checked_sub(idle)?;
        Some((busy * 100 / total) as u32)
    }
}

/// How a cooldown wait ended; logged as a `cooldown` event before the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CooldownWait {
    /// Time spent, µs (at least one window: the first check is a measurement).
    pub waited_us: u64,
    /// How long the CPU had been back at its baseline when the wait ended, µs: the
    /// trailing windows whose busy share met the condition (a window without a reading
    /// included), whatever held the wait beyond them (the temperature). The idle power
    /// baseline of the run is measured over this stretch, not over the busy start of the
    /// wait. 0 for a capped wait whose last window was busy.
    pub quiet_us: u64,
    /// `max_wait_s` ended the wait before the conditions were met.
    pub capped: bool,
    /// The plan's idle baseline the busy share was compared with, percent.
    pub baseline_busy_pct: Option<u32>,
    /// Busy share over the last window, percent (`None`: no information).
    pub busy_pct: Option<u32>,
    /// Last SoC temperature read, m°C (`None`: not read or no thermal zone).
    pub temp_mc: Option<i64>,
    /// `stop_requested` said to stop (the daemon is stopping): the wait was cut short,
    /// and the run should not start.
    pub stopped: bool,
}

/// Waits until the CPU is back near `baseline_busy_pct` and the SoC cool (see the module
/// doc), at most `c.max_wait_s`. `roots` are `/proc` and `/sys` outside tests.
#[must_use]
pub fn wait_for_cooldown(
    c: &Cooldown,
    baseline_busy_pct: Option<u32>,
    roots: &Roots,
) -> CooldownWait {
    let never = || false;
    wait_for_cooldown_with(
        c,
        baseline_busy_pct,
        roots,
        COOLDOWN_WINDOW,
        &MonoClock,
        &never,
    )
}

/// [`wait_for_cooldown`] with the measurement window and the clock given, cut short
/// (`stopped`) at the first check after `stop_requested` says so; the clock's sleep
/// should return early on a stop too, so that the cut comes promptly.
pub fn wait_for_cooldown_with(
    c: &Cooldown,
    baseline_busy_pct: Option<u32>,
    roots: &Roots,
    window: Duration,
    clock: &impl Clock,
    stop_requested: &dyn Fn() -> bool,
) -> CooldownWait {
    let cap = Duration::from_secs(c.max_wait_s);
    let start_us = clock.now_us();
    let cpu_ok = |busy: u32| match baseline_busy_pct {
        Some(base) => busy <= base.saturating_add(c.cpu_margin_pct),
        None => busy < c.cpu_busy_below_pct,
    };
    let mut probe = Probe::new(roots);
    // Where the trailing stretch of CPU-quiet windows began.
    let mut quiet_from_us: Option<u64> = None;
    loop {
        let window_from_us = clock.now_us();
        let before = CpuStat::read(&mut probe);
        clock.sleep_us(window.as_micros() as u64);
        if stop_requested() {
            return CooldownWait {
                waited_us: clock.now_us().saturating_sub(start_us),
                quiet_us: 0,
                capped: false,
                baseline_busy_pct,
                busy_pct: None,
                temp_mc: None,
                stopped: true,
            };
        }
        let after = CpuStat::read(&mut probe);
        let busy_pct = before.zip(after).and_then(|(b, a)| a.busy_pct_since(&b));
        let temp_mc = c.temp_below_mc.and_then(|_| probe.soc_temp_mc().ok());
        let temp_ok = c
            .temp_below_mc
            .zip(temp_mc)
            .is_none_or(|(limit, t)| t < limit);
        let quiet = busy_pct.is_none_or(cpu_ok);
        quiet_from_us = if quiet {
            quiet_from_us.or(Some(window_from_us))
        } else {
            None
        };
        let done = quiet && temp_ok;
        let now_us = clock.now_us();
        let elapsed = Duration::from_micros(now_us.saturating_sub(start_us));
        if done || elapsed >= cap {
            return CooldownWait {
                waited_us: elapsed.as_micros() as u64,
                quiet_us: quiet_from_us.map_or(0, |from| now_us.saturating_sub(from)),
                capped: !done,
                baseline_busy_pct,
                busy_pct,
                temp_mc,
                stopped: false,
            };
        }
    }
}
