//! The cooldown before each run (issue 3 point 4): wait until the CPU is back at the
//! plan's idle baseline and the SoC under a temperature, at most `max_wait_s`, and say how
//! the wait ended.
//!
//! The baseline is the all-CPU busy share over the plan's idle lead-in
//! ([`CpuStat::busy_pct_since`] of two reads of `/proc/stat`). Each check measures the
//! busy share over one window (0.5 s) and reads `thermal_zone0`; the wait ends when
//! - the busy share is ≤ baseline + `cpu_margin_pct` (without a baseline: <
//!   `cpu_busy_below_pct`), and
//! - the temperature is < `temp_below_mc` (if set),
//!
//! or when `max_wait_s` has passed (`capped`). A `/proc/stat` that cannot be read or whose
//! counters do not move, and a thermal zone that cannot be read, give no information and
//! do not hold the run back; the result says which readings there were.

use std::path::Path;
use std::time::Duration;
use std::time::Instant;

use crate::plan::Cooldown;

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
    /// Reads `{proc_root}/stat`; `None` if it cannot be read or has no `cpu` line.
    #[must_use]
    pub fn read(proc_root: &Path) -> Option<Self> {
        let stat = std::fs::read_to_string(proc_root.join("stat")).ok()?;
        let line = stat.lines().next()?.strip_prefix("cpu ")?;
        let v: Vec<u64> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let idle_ticks = v.get(3)? + v.get(4).copied().unwrap_or(0);
        Some(Self {
            total_ticks: v.iter().take(8).sum(),
            idle_ticks,
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

/// `thermal_zone0` (the SoC on a Pi 5), m°C.
#[must_use]
pub fn soc_temp_mc(sys_root: &Path) -> Option<i64> {
    std::fs::read_to_string(sys_root.join("class/thermal/thermal_zone0/temp"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// How a cooldown wait ended; logged as a `cooldown` event before the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CooldownWait {
    /// Time spent, µs (at least one window: the first check is a measurement).
    pub waited_us: u64,
    /// `max_wait_s` ended the wait before the conditions were met.
    pub capped: bool,
    /// The plan's idle baseline the busy share was compared with, percent.
    pub baseline_busy_pct: Option<u32>,
    /// Busy share over the last window, percent (`None`: no information).
    pub busy_pct: Option<u32>,
    /// Last SoC temperature read, m°C (`None`: not read or no thermal zone).
    pub temp_mc: Option<i64>,
    /// The clock said to stop (the daemon is stopping): the wait was cut short, and
    /// the run should not start.
    pub stopped: bool,
}

/// Time for the wait loop: the real one, or a test's virtual one that also moves its
/// fixture files forward.
pub trait WaitClock {
    /// Time since the wait started.
    fn elapsed(&self) -> Duration;
    /// Lets `d` pass (or less, once [`stop_requested`](Self::stop_requested)).
    fn sleep(&mut self, d: Duration);
    /// Whether the wait should end now, met or not (the daemon is stopping).
    fn stop_requested(&self) -> bool {
        false
    }
}

/// Wall-clock time (monotonic), from when it was made.
pub struct RealClock(Instant);

impl RealClock {
    #[must_use]
    pub fn start() -> Self {
        Self(Instant::now())
    }
}

impl WaitClock for RealClock {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
    fn sleep(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Waits until the CPU is back near `baseline_busy_pct` and the SoC cool (see the module
/// doc), at most `c.max_wait_s`. `proc_root`/`sys_root` are `/proc` and `/sys` outside
/// tests.
#[must_use]
pub fn wait_for_cooldown(
    c: &Cooldown,
    baseline_busy_pct: Option<u32>,
    proc_root: &Path,
    sys_root: &Path,
) -> CooldownWait {
    wait_for_cooldown_with(
        c,
        baseline_busy_pct,
        proc_root,
        sys_root,
        COOLDOWN_WINDOW,
        &mut RealClock::start(),
    )
}

/// [`wait_for_cooldown`] with the measurement window and the clock given.
pub fn wait_for_cooldown_with(
    c: &Cooldown,
    baseline_busy_pct: Option<u32>,
    proc_root: &Path,
    sys_root: &Path,
    window: Duration,
    clock: &mut impl WaitClock,
) -> CooldownWait {
    let cap = Duration::from_secs(c.max_wait_s);
    let cpu_ok = |busy: u32| match baseline_busy_pct {
        Some(base) => busy <= base.saturating_add(c.cpu_margin_pct),
        None => busy < c.cpu_busy_below_pct,
    };
    loop {
        let before = CpuStat::read(proc_root);
        clock.sleep(window);
        if clock.stop_requested() {
            return CooldownWait {
                waited_us: clock.elapsed().as_micros() as u64,
                capped: false,
                baseline_busy_pct,
                busy_pct: None,
                temp_mc: None,
                stopped: true,
            };
        }
        let after = CpuStat::read(proc_root);
        let busy_pct = before.zip(after).and_then(|(b, a)| a.busy_pct_since(&b));
        let temp_mc = c.temp_below_mc.and_then(|_| soc_temp_mc(sys_root));
        let temp_ok = c
            .temp_below_mc
            .zip(temp_mc)
            .is_none_or(|(limit, t)| t < limit);
        let done = busy_pct.is_none_or(cpu_ok) && temp_ok;
        let elapsed = clock.elapsed();
        if done || elapsed >= cap {
            return CooldownWait {
                waited_us: elapsed.as_micros() as u64,
                capped: !done,
                baseline_busy_pct,
                busy_pct,
                temp_mc,
                stopped: false,
            };
        }
    }
}
