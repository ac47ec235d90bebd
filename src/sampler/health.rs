//! Per-source fault bookkeeping: which sources are failing, and the rate-limited
//! events that say so.

use std::path::Path;

use super::error::Fault;
use super::error::SourceError;
use crate::record::EventKind;

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
        events: &mut Vec<EventKind>,
    ) {
        self.failures += 1;
        if self.failures == 1 {
            self.source = path.display().to_string();
            self.last_report_us = mono_us;
            events.push(EventKind::ReadError {
                source: self.source.clone(),
                message: message.to_string(),
            });
        } else if mono_us.saturating_sub(self.last_report_us) >= repeat_us {
            self.last_report_us = mono_us;
            events.push(EventKind::ReadError {
                source: self.source.clone(),
                message: format!(
                    "still failing ({} failures so far): {message}",
                    self.failures
                ),
            });
        }
    }

    pub(crate) fn ok(&mut self, events: &mut Vec<EventKind>) {
        if self.failures > 0 {
            events.push(EventKind::ReadRecovered {
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
    pub(crate) kinds: Vec<EventKind>,
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
    pub fn add(&mut self, mono_us: u64, cpu_us: u64) -> Option<EventKind> {
        let start = *self.period_start_us.get_or_insert(mono_us);
        self.ticks += 1;
        self.cpu_us += cpu_us;
        let wall_us = mono_us.saturating_sub(start);
        (wall_us >= self.every_us).then(|| self.report(mono_us, wall_us))
    }

    /// The partial period so far (e.g. at shutdown); `None` if no read since the last report.
    pub fn flush(&mut self, mono_us: u64) -> Option<EventKind> {
        let start = self.period_start_us?;
        (self.ticks > 0).then(|| self.report(mono_us, mono_us.saturating_sub(start)))
    }

    fn report(&mut self, mono_us: u64, wall_us: u64) -> EventKind {
        let ev = EventKind::SamplerCost {
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
