//! Per-source fault bookkeeping: which sources are failing, and the rate-limited
//! events that say so.

use std::path::Path;

use super::error::Fault;
use super::error::SourceError;
use super::notice::NoticeKind;

/// Failure streak of one source.
///
/// The first failure gives a `ReadError`; while it keeps failing, another `ReadError`
/// (with the running count) at most once per `repeat_us`; the first success after
/// failures gives `ReadRecovered { failures }`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Health {
    /// Failures in the current streak (0 = healthy).
    failures: u64,
    /// When the last `ReadError` of this streak was emitted.
    last_report_us: u64,
    /// The source named by the streak's first `ReadError`, so the recovery names the same.
    source: String,
}

impl Health {
    pub(crate) fn fail(
        &mut self,
        mono_us: u64,
        repeat_us: u64,
        path: &Path,
        message: &dyn std::fmt::Display,
        events: &mut Vec<NoticeKind>,
    ) {
        self.failures += 1;
        if self.failures == 1 {
            self.source = path.display().to_string();
            self.last_report_us = mono_us;
            events.push(NoticeKind::ReadError {
                source: self.source.clone(),
                message: message.to_string(),
            });
        } else if mono_us.saturating_sub(self.last_report_us) >= repeat_us {
            self.last_report_us = mono_us;
            events.push(NoticeKind::ReadError {
                source: self.source.clone(),
                message: format!(
                    "still failing ({} failures so far): {message}",
                    self.failures
                ),
            });
        }
    }

    pub(crate) fn ok(&mut self, events: &mut Vec<NoticeKind>) {
        if self.failures > 0 {
            events.push(NoticeKind::ReadRecovered {
                source: std::mem::take(&mut self.source),
                failures: self.failures,
            });
            self.failures = 0;
        }
    }

    #[must_use]
    pub(crate) const fn failures(&self) -> u64 {
        self.failures
    }
}

/// What one tick found: validity bits, faults, and events to emit.
pub(crate) struct TickLog {
    pub(crate) mono_us: u64,
    pub(crate) repeat_us: u64,
    pub(crate) valid: u64,
    pub(crate) faults: Vec<Fault>,
    pub(crate) kinds: Vec<NoticeKind>,
}

impl TickLog {
    /// Applies one group's outcome: validity bit, fault list and health events.
    pub(crate) fn settle(&mut self, health: &mut Health, bit: u32, r: Result<(), SourceError>) {
        match r {
            Ok(()) => {
                health.ok(&mut self.kinds);
                self.valid |= 1 << bit;
            }
            Err(error) => {
                let (mono_us, repeat_us) = (self.mono_us, self.repeat_us);
                health.fail(mono_us, repeat_us, error.path(), &error, &mut self.kinds);
                self.faults.push(Fault { bit, error });
            }
        }
    }
}

/// The sampling thread's CPU time, reported once per period.
///
/// The thread's CPU clock is read at the start of the first read and at the end of the
/// read that closes each period, not around every read: one clock read per period (the
/// thread CPU clock is a system call), and the figure is everything the thread did over
/// the period (reads, waking up, whatever the caller does between reads), which is what
/// sampling costs. The reads must come from one thread.
#[derive(Debug, Clone)]
pub struct CostMeter {
    every_us: u64,
    /// Monotonic time and thread CPU time, µs, when the period began.
    period_start: Option<(u64, u64)>,
    ticks: u64,
}

impl CostMeter {
    /// Reports every `every_us` of monotonic time (at the first read at or after it).
    #[must_use]
    pub const fn new(every_us: u64) -> Self {
        Self {
            every_us,
            period_start: None,
            ticks: 0,
        }
    }

    /// Called as a read at `mono_us` begins: the first one starts the first period,
    /// reading the thread's CPU time with `cpu_now_us`.
    pub fn begin(&mut self, mono_us: u64, cpu_now_us: impl FnOnce() -> u64) {
        if self.period_start.is_none() {
            self.period_start = Some((mono_us, cpu_now_us()));
        }
    }

    /// Counts the read at `mono_us` that just ended; returns a `SamplerCost` when the
    /// period is over (then, and only then, reading the CPU time with `cpu_now_us`). The
    /// period runs from the previous report (or the first read) to this read; `ticks`
    /// counts the reads that ended in it, the very first one included.
    pub fn end(&mut self, mono_us: u64, cpu_now_us: impl FnOnce() -> u64) -> Option<NoticeKind> {
        let (start_us, _) = self.period_start?;
        self.ticks += 1;
        let wall_us = mono_us.saturating_sub(start_us);
        (wall_us >= self.every_us).then(|| self.report(mono_us, cpu_now_us()))
    }

    /// The partial period so far (e.g. at shutdown); `None` if no read since the last report.
    pub fn flush(&mut self, mono_us: u64, cpu_now_us: impl FnOnce() -> u64) -> Option<NoticeKind> {
        self.period_start?;
        (self.ticks > 0).then(|| self.report(mono_us, cpu_now_us()))
    }

    fn report(&mut self, mono_us: u64, cpu_us: u64) -> NoticeKind {
        let (start_us, start_cpu_us) = self.period_start.unwrap_or((mono_us, cpu_us));
        let ev = NoticeKind::SamplerCost {
            ticks: self.ticks,
            cpu_us: cpu_us.saturating_sub(start_cpu_us),
            wall_us: mono_us.saturating_sub(start_us),
        };
        self.period_start = Some((mono_us, cpu_us));
        self.ticks = 0;
        ev
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread CPU clock that moves 7 µs per look, and counts the looks.
    struct Cpu {
        now_us: u64,
        looks: u32,
    }

    impl Cpu {
        fn now(&mut self) -> u64 {
            self.now_us += 7;
            self.looks += 1;
            self.now_us
        }
    }

    #[test]
    fn the_cpu_clock_is_read_once_per_period_and_periods_tile_time() {
        let mut m = CostMeter::new(1_000_000);
        let mut cpu = Cpu {
            now_us: 500,
            looks: 0,
        };
        let mut reports = Vec::new();
        for tick in 0..25u64 {
            let mono_us = 3_000_000 + tick * 100_000;
            m.begin(mono_us, || cpu.now());
            cpu.now_us += 40; // the read
            reports.extend(m.end(mono_us, || cpu.now()));
        }
        reports.extend(m.flush(5_450_000, || cpu.now()));
        assert_eq!(cpu.looks, 4, "start, two period ends, the flush");
        let cost = |ticks, cpu_us, wall_us| NoticeKind::SamplerCost {
            ticks,
            cpu_us,
            wall_us,
        };
        // Period 1: reads 0..=10 (11 ticks), CPU from 507 to 507 + 11·40 + 7.
        // Period 2: reads 11..=20, 10 × 40 + 7. Flush: reads 21..=24, 4 × 40 + 7.
        assert_eq!(
            reports,
            vec![
                cost(11, 447, 1_000_000),
                cost(10, 407, 1_000_000),
                cost(4, 167, 450_000)
            ]
        );
        assert_eq!(m.flush(5_500_000, || cpu.now()), None, "nothing since");
    }
}
