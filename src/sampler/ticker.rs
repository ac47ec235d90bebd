//! The fixed-rate tick loop: ticks on absolute CLOCK_MONOTONIC deadlines
//! `start + k·interval`, so the schedule never drifts; a late wake-up is reported,
//! and whole ticks that were slept through are skipped and counted, never burst.

use crate::clock::Clock;
use crate::clock::MonoClock;

/// Slowest and fastest sampling rates.
pub const MIN_RATE_HZ: u32 = 1;
pub const MAX_RATE_HZ: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TickerError {
    #[error("sampling rate {rate_hz} Hz is out of range: use {MIN_RATE_HZ}..={MAX_RATE_HZ} Hz")]
    Rate { rate_hz: u32 },
    #[error(
        "tick interval {interval_us} µs is out of range: use 10000..=1000000 µs \
         ({MAX_RATE_HZ}..{MIN_RATE_HZ} Hz)"
    )]
    Interval { interval_us: u64 },
}

/// One scheduled tick, as it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Index on the grid: the tick's deadline is `start + tick·interval`.
    pub tick: u64,
    /// This tick's deadline, µs (CLOCK_MONOTONIC).
    pub deadline_us: u64,
    /// When the wait returned, µs.
    pub now_us: u64,
    /// `now_us − deadline_us`; always below one interval.
    pub late_us: u64,
    /// Grid ticks skipped just before this one because they were already past.
    pub missed: u64,
    /// Whether the tick counts as late: ticks were missed, or `late_us` exceeds the threshold.
    pub late: bool,
}

/// Fixed-rate schedule. The period is the exact fraction `period_num_us / period_den`
/// µs (e.g. 1 000 000 / 3 for 3 Hz), so deadlines never accumulate rounding error.
#[derive(Debug, Clone)]
pub struct Ticker<C: Clock = MonoClock> {
    start_us: u64,
    period_num_us: u64,
    period_den: u64,
    next: u64,
    late_threshold_us: u64,
    clock: C,
}

impl Ticker<MonoClock> {
    /// Ticks every `interval_us` (10 000..=1 000 000), the first at `start_mono_us`.
    pub fn new(interval_us: u64, start_mono_us: u64) -> Result<Self, TickerError> {
        Self::with_clock(interval_us, start_mono_us, MonoClock)
    }

    /// Ticks `rate_hz` times a second (1..=100), the first at `start_mono_us`.
    pub fn from_rate_hz(rate_hz: u32, start_mono_us: u64) -> Result<Self, TickerError> {
        Self::rate_with_clock(rate_hz, start_mono_us, MonoClock)
    }
}

impl<C: Clock> Ticker<C> {
    pub fn with_clock(interval_us: u64, start_mono_us: u64, clock: C) -> Result<Self, TickerError> {
        if !(10_000..=1_000_000).contains(&interval_us) {
            return Err(TickerError::Interval { interval_us });
        }
        Ok(Self::build(start_mono_us, interval_us, 1, clock))
    }

    pub fn rate_with_clock(
        rate_hz: u32,
        start_mono_us: u64,
        clock: C,
    ) -> Result<Self, TickerError> {
        if !(MIN_RATE_HZ..=MAX_RATE_HZ).contains(&rate_hz) {
            return Err(TickerError::Rate { rate_hz });
        }
        Ok(Self::build(
            start_mono_us,
            1_000_000,
            u64::from(rate_hz),
            clock,
        ))
    }

    fn build(start_us: u64, period_num_us: u64, period_den: u64, clock: C) -> Self {
        Self {
            start_us,
            period_num_us,
            period_den,
            next: 0,
            late_threshold_us: period_num_us / period_den / 2,
            clock,
        }
    }

    /// A tick later than this (and not by whole missed ticks) is still on time;
    /// default: half an interval.
    pub fn set_late_threshold_us(&mut self, threshold_us: u64) {
        self.late_threshold_us = threshold_us;
    }

    /// The nominal interval, µs (rounded down for rates that do not divide 1 s).
    #[must_use]
    pub const fn interval_us(&self) -> u64 {
        self.period_num_us / self.period_den
    }

    /// Deadline of grid tick `k`, µs.
    #[must_use]
    pub const fn deadline_us(&self, k: u64) -> u64 {
        self.start_us + (k as u128 * self.period_num_us as u128 / self.period_den as u128) as u64
    }

    /// Index of the next tick [`Ticker::wait`] will aim for.
    #[must_use]
    pub const fn next_tick(&self) -> u64 {
        self.next
    }

    pub fn clock_mut(&mut self) -> &mut C {
        &mut self.clock
    }

    /// Sleeps until the next deadline and returns the tick. If the wait returns after
    /// later deadlines have also passed, the tick is the latest passed one and the
    /// skipped ticks are counted in `missed`.
    pub fn wait(&mut self) -> Tick {
        let first = self.deadline_us(self.next);
        let mut now = self.clock.now_us();
        while now < first {
            self.clock.sleep_until_us(first);
            now = self.clock.now_us();
        }
        // Largest k ≥ next with deadline(k) ≤ now: estimate, then correct for rounding.
        let elapsed = u128::from(now - self.start_us);
        let mut k = (elapsed * u128::from(self.period_den) / u128::from(self.period_num_us)) as u64;
        k = k.max(self.next);
        while self.deadline_us(k + 1) <= now {
            k += 1;
        }
        while k > self.next && self.deadline_us(k) > now {
            k -= 1;
        }
        let deadline_us = self.deadline_us(k);
        let late_us = now - deadline_us;
        let missed = k - self.next;
        self.next = k + 1;
        Tick {
            tick: k,
            deadline_us,
            now_us: now,
            late_us,
            missed,
            late: missed > 0 || late_us > self.late_threshold_us,
        }
    }
}

#[cfg(test)]
mod tests;
