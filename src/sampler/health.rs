//! Per-source fault bookkeeping: which sources are failing, and the rate-limited
//! events that say so.

use std::path::Path;

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

/// Accumulates the sampler's own CPU time and reports it once per period.
#[derive(Debug, Clone)]
pub struct CostMeter {
    every_us: u64,
    period_start_us: Option<u64>,
    ticks: u64,
    cpu_us: u64,
}

impl CostMeter {
    /// Reports every `every_us` of monotonic time (at the first read at or after it).
    #[must_use]
    pub const fn new(every_us: u64) -> Self {
        Self {
            every_us,
            period_start_us: None,
            ticks: 0,
            cpu_us: 0,
        }
    }

    /// Counts one read at `mono_us` that cost `cpu_us`; returns a `SamplerCost` when the
    /// period is over. The period runs from the previous report (or the first read) to
    /// this read; `ticks` counts the reads that ended in it, the very first one included.
    pub fn add(&mut self, mono_us: u64, cpu_us: u64) -> Option<NoticeKind> {
        let start = *self.period_start_us.get_or_insert(mono_us);
        self.ticks += 1;
        self.cpu_us += cpu_us;
        let wall_us = mono_us.saturating_sub(start);
        (wall_us >= self.every_us).then(|| self.report(mono_us, wall_us))
    }

    /// The partial period so far (e.g. at shutdown); `None` if no read since the last report.
    pub fn flush(&mut self, mono_us: u64) -> Option<NoticeKind> {
        let start = self.period_start_us?;
        (self.ticks > 0).then(|| self.report(mono_us, mono_us.saturating_sub(start)))
    }

    fn report(&mut self, mono_us: u64, wall_us: u64) -> NoticeKind {
        let ev = NoticeKind::SamplerCost {
            ticks: self.ticks,
            cpu_us: self.cpu_us,
            wall_us,
        };
        self.period_start_us = Some(mono_us);
        self.ticks = 0;
        self.cpu_us = 0;
        ev
    }
}
