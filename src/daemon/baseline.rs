//! A plan's idle baseline, measured as the plan starts over its idle lead-in and logged
//! (`EventKind::PlanBaseline`): the mean power from the power history, and the machine's
//! CPU busy share and RAM used from the last seconds of samples, kept here for it.
//!
//! Its runs subtract this power figure (unless their cooldown measured a quiet stretch of
//! its own), however long after the plan's start they run; the history of readings only
//! has to hold one run and the few seconds before it.
// Used by the workload path, which needs the `llama` feature.
#![cfg_attr(not(feature = "llama"), allow(dead_code))]

use std::collections::VecDeque;

use crate::derive::energy::Baseline;
use crate::derive::energy::Integration;
use crate::derive::runs::copy_system_part;
use crate::derive::runs::system_view;
use crate::derive::utilisation;
use crate::derive::DeriveOptions;
use crate::derive::ProcBaselinePolicy;
use crate::derive::UsageBaseline;
use crate::derive::Window;
use crate::record::EventKind;
use crate::record::Sample;
use crate::record::SampleLayout;

use super::history::PowerHistory;

/// The system part (cpu lines, memory) of the samples of the last `keep_us`.
pub(super) struct RecentSamples {
    layout: SampleLayout,
    samples: VecDeque<Sample>,
    keep_us: u64,
}

impl RecentSamples {
    pub(super) fn new(keep_us: u64) -> Self {
        Self {
            layout: SampleLayout::default(),
            samples: VecDeque::new(),
            keep_us,
        }
    }

    /// Adds the system part of `s` (of `layout`), reusing the storage of samples older
    /// than `keep_us`, so a long run allocates nothing here.
    pub(super) fn push(&mut self, layout: &SampleLayout, s: &Sample) {
        if layout.cpus != self.layout.cpus {
            (self.layout, _) = system_view(layout, s);
            self.samples.clear();
        }
        let horizon = s.mono_us.saturating_sub(self.keep_us);
        let reused = match self.samples.front() {
            Some(old) if old.mono_us < horizon => self.samples.pop_front(),
            _ => None,
        };
        let mut v = reused.unwrap_or_else(|| Sample::empty(&self.layout));
        copy_system_part(&mut v, s);
        self.samples.push_back(v);
        while self.samples.front().is_some_and(|o| o.mono_us < horizon) {
            self.samples.pop_front();
        }
    }

    /// Mean machine CPU % and RAM used (MB) over `window`, and the share of the window
    /// the samples cover, ppm; `None` if too few samples fall in it.
    fn usage(&self, window: Window) -> Option<(UsageBaseline, u32)> {
        let samples: Vec<Sample> = self.samples.iter().cloned().collect();
        let util = utilisation(&self.layout, &samples, &DeriveOptions::default()).ok()?;
        let base = UsageBaseline::from_window(&util, window, ProcBaselinePolicy::Zero).ok()?;
        let coverage = util.cpu_machine_pct.coverage(window).fraction;
        Some((base, (coverage * 1e6).round() as u32))
    }
}

/// The plan running now: its idle lead-in and the power baseline its runs subtract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PlanIdle {
    pub(super) window: Window,
    pub(super) power: Option<Baseline>,
}

/// Measures plan `plan`'s baseline over its lead-in `window`: power from `history` (with
/// the source's nominal `period_us`), CPU and RAM from `recent`; and the event that stores
/// all of it.
pub(super) fn measure(
    plan: &str,
    window: Window,
    recent: &RecentSamples,
    power: Option<(&PowerHistory, u64)>,
) -> (PlanIdle, EventKind) {
    let power = power.and_then(|(history, period_us)| {
        let readings = history.around(window.start_us, window.end_us);
        crate::derive::energy::baseline(&readings, window, Integration::for_period(period_us))
    });
    let usage = recent.usage(window);
    let event = EventKind::PlanBaseline {
        plan: plan.to_owned(),
        from_us: window.start_us,
        to_us: window.end_us,
        power_uw: power.map(|b| b.power_uw),
        power_coverage_ppm: power.map_or(0, |b| b.coverage_ppm),
        cpu_busy_ppm: usage
            .as_ref()
            .map(|(u, _)| (u.cpu_machine_pct.mean * 10_000.0).round() as u32),
        ram_used_kb: usage
            .as_ref()
            .map(|(u, _)| (u.ram_used_mb.mean * crate::derive::KB_PER_MB).round() as u64),
        samples_coverage_ppm: usage.map_or(0, |(_, c)| c),
    };
    (PlanIdle { window, power }, event)
}

#[cfg(test)]
mod tests;
