//! What the daemon adds to a finished run: its measured energy, from the power readings
//! kept in memory, over the run, each phase, and an idle baseline before its rise (the
//! quiet stretch of its cooldown, else its plan's baseline stored at the plan's start).
// Used by the workload path, which needs the `llama` feature.
#![cfg_attr(not(feature = "llama"), allow(dead_code))]

use std::collections::VecDeque;

use crate::config::Config;
use crate::derive::energy::run_baseline;
use crate::derive::energy::run_energy;
use crate::derive::energy::BaselineFrom;
use crate::derive::energy::CooldownEnd;
use crate::derive::energy::Integration;
use crate::derive::energy::MinCoverage;
use crate::derive::energy::RunEnergy;
use crate::derive::energy::RunSpec;
use crate::derive::energy::Tokens;
use crate::derive::Window;
#[cfg(feature = "llama")]
use crate::record::EventKind;
#[cfg(feature = "llama")]
use crate::record::Record;
use crate::record::Run;

use super::baseline::PlanIdle;
use super::baseline::RecentSamples;
use super::history::PowerHistory;
use super::power::PowerTap;
use super::state::Daemon;

/// Samples kept for a plan's CPU/RAM baseline: its lead-in and a margin, µs.
const RECENT_SAMPLES_US: u64 = 10_000_000;

/// A finished run waiting for the power readings past its end.
pub(super) struct PendingRun {
    run: Run,
    index: usize,
    total: usize,
    cooldown: Option<CooldownEnd>,
    plan: Option<PlanIdle>,
}

/// What the daemon keeps for the energy of runs besides the power history.
///
/// A window's figures are computed once a reading at or after its end has arrived (or a
/// maximum gap has passed without one): computed at once, a window would miss the stretch
/// since the last reading before its end, up to a reading period, and a 1 s run on a 10 Hz
/// source would read 90 % covered.
pub(super) struct EnergyState {
    /// The last seconds of samples, for a plan's CPU/RAM baseline.
    pub(super) recent: RecentSamples,
    /// The plan running now: its lead-in and stored power baseline.
    pub(super) plan_idle: Option<PlanIdle>,
    /// Energy figures covered less than this are shown as `-` (`bench`'s progress lines).
    pub(super) min_coverage: MinCoverage,
    /// A plan's lead-in, to measure once it is covered.
    pending_plan: Option<(String, Window)>,
    /// Finished runs, in order, to log once covered.
    pending_runs: VecDeque<PendingRun>,
}

impl EnergyState {
    pub(super) fn new(cfg: &Config) -> Self {
        Self {
            recent: RecentSamples::new(RECENT_SAMPLES_US),
            plan_idle: None,
            min_coverage: cfg.energy.min_coverage(),
            pending_plan: None,
            pending_runs: VecDeque::new(),
        }
    }

    /// Nothing waits for readings.
    pub(super) fn settled(&self) -> bool {
        self.pending_plan.is_none() && self.pending_runs.is_empty()
    }
}

/// Whether the readings that join across `end_us` are in: one at or after it has arrived,
/// or none can any more (a maximum gap has passed), or there is no power source.
fn covered_to(power: Option<&PowerTap>, end_us: u64, now_us: u64) -> bool {
    power.is_none_or(|p| {
        let gap_us = Integration::for_period(p.period_us()).max_gap_us;
        p.history().newest_us().is_some_and(|t| t >= end_us)
            || now_us >= end_us.saturating_add(gap_us)
    })
}

/// The run's measured energy, or `None` if it has no phase marks (it never started). Its
/// baseline is [`run_baseline`]'s: the quiet stretch its `cooldown` waited for, else the
/// plan's stored one (`plan`), else the seconds before its rise.
pub(super) fn energy_of(
    run: &Run,
    cooldown: Option<CooldownEnd>,
    plan: Option<&PlanIdle>,
    history: &PowerHistory,
    source_label: &str,
    period_us: u64,
) -> Option<RunEnergy> {
    let start = run.phases.first()?.mono_us;
    let end = run.phases.last()?.mono_us;
    let whole = Window::spanning(start, end);
    let phases = crate::derive::runs::phase_windows(&run.phases);
    let integration = Integration::for_period(period_us);
    let baseline = run_baseline(start, cooldown, plan.and_then(|p| p.power), integration);
    let from = match baseline {
        BaselineFrom::Window(w) => w.start_us,
        BaselineFrom::Stored(_) | BaselineFrom::None => start,
    };
    let readings = history.around(from, end);
    let image_tokens = run.image.as_ref().map_or(0, |i| i.image_tokens);
    let spec = RunSpec {
        source_label,
        period_us,
        run: whole,
        phases: &phases,
        baseline,
        tokens: Tokens {
            prompt: u64::from(run.prompt_tokens + image_tokens),
            generated: u64::from(run.generated_tokens),
        },
    };
    Some(run_energy(&readings, &spec))
}

/// One progress line for `bench`: `[ 3/12] label  pp … t/s  tg … t/s  energy`, energy
/// figures covered less than `min` shown as `-` with the reason.
pub(super) fn progress_line(run: &Run, index: usize, total: usize, min: MinCoverage) -> String {
    let result = match &run.outcome {
        crate::record::Outcome::Ok => format!(
            "pp {:>8.1} t/s  tg {:>7.1} t/s",
            run.prefill_tokens_per_s(),
            run.decode_tokens_per_s()
        ),
        crate::record::Outcome::Failed(e) => format!("FAILED: {e}"),
    };
    let energy =
        RunEnergy::of_run(run).map_or_else(String::new, |e| format!("  {}", e.summary(min)));
    format!(
        "[{:>3}/{total}] {:<40} {result}{energy}",
        index + 1,
        run.label
    )
}

impl Daemon {
    /// Stops the power reader, then settles what waits for its readings with those it
    /// has (no more will come).
    pub(super) fn stop_power(&mut self) {
        if let Some(p) = &mut self.power {
            p.stop(&mut self.records);
        }
        #[cfg(feature = "llama")]
        self.settle_energy(u64::MAX, true);
        self.power = None;
    }
}

#[cfg(feature = "llama")]
impl Daemon {
    /// A run ended: adds its place in the schedule, its plan's idle lead-in and how its
    /// cooldown ended; its energy ([`energy_of`]) and its record follow once the readings
    /// past its end are in ([`Self::settle_energy`]).
    pub(super) fn finish_run(
        &mut self,
        mut run: Run,
        index: usize,
        total: usize,
        cooldown: Option<CooldownEnd>,
    ) {
        run.schedule_index = u32::try_from(index).unwrap_or(u32::MAX);
        run.schedule_len = u32::try_from(total).unwrap_or(u32::MAX);
        run.cooldown_capped = cooldown.is_some_and(|c| c.capped);
        let plan = self.energy.plan_idle;
        run.idle_lead_in = plan.map(|p| p.window.into());
        self.energy.pending_runs.push_back(PendingRun {
            run,
            index,
            total,
            cooldown,
            plan,
        });
        self.settle_energy(crate::clock::mono_us(), false);
    }

    /// A plan's lead-in `idle` is over: logs its start; its baseline follows once the
    /// readings past the lead-in are in. Keeps power readings for `keep_power_us`, long
    /// enough for one of its runs and the quiet stretch before it.
    pub(super) fn plan_started(&mut self, plan: String, idle: Window, keep_power_us: u64) {
        log::info!("plan {plan}: idle lead-in over, its runs start");
        self.event(EventKind::PlanStart {
            plan: plan.clone(),
            idle_from_us: idle.start_us,
            idle_to_us: idle.end_us,
        });
        if let Some(p) = &mut self.power {
            p.keep_at_least(keep_power_us);
        }
        self.energy.plan_idle = Some(PlanIdle {
            window: idle,
            power: None,
        });
        self.energy.pending_plan = Some((plan, idle));
        self.settle_energy(crate::clock::mono_us(), false);
    }

    /// Measures the plan's baseline and logs the finished runs whose windows the readings
    /// now cover (all of them if `force`: no more readings will come), in order.
    pub(super) fn settle_energy(&mut self, now_us: u64, force: bool) {
        if self.energy.settled() {
            return;
        }
        if let Some(p) = &mut self.power {
            p.receive(&mut self.records);
        }
        let covered = |d: &Self, end_us| force || covered_to(d.power.as_ref(), end_us, now_us);
        if let Some((_, idle)) = &self.energy.pending_plan {
            if !covered(self, idle.end_us) {
                return;
            }
            let (plan, idle) = self.energy.pending_plan.take().expect("checked above");
            self.log_plan_baseline(&plan, idle);
        }
        while let Some(next) = self.energy.pending_runs.front() {
            let end_us = next.run.phases.last().map_or(0, |m| m.mono_us);
            if !covered(self, end_us) {
                return;
            }
            let p = self.energy.pending_runs.pop_front().expect("checked above");
            self.log_run(p);
        }
    }

    fn log_plan_baseline(&mut self, plan: &str, idle: Window) {
        let power = self.power.as_ref().map(|p| (p.history(), p.period_us()));
        let (plan_idle, event) = super::baseline::measure(plan, idle, &self.energy.recent, power);
        if plan_idle.power.is_none() && self.power.is_some() {
            log::warn!(
                "plan {plan}: no power readings in its idle lead-in; its runs' baseline is \
                 the seconds before each run"
            );
        }
        // A run that ended before the baseline was measured has it too.
        for r in &mut self.energy.pending_runs {
            if r.plan.is_some_and(|p| p.window == idle) {
                r.plan = Some(plan_idle);
            }
        }
        self.energy.plan_idle = Some(plan_idle);
        self.event(event);
    }

    fn log_run(&mut self, p: PendingRun) {
        let PendingRun {
            mut run,
            index,
            total,
            cooldown,
            plan,
        } = p;
        if let Some(tap) = &self.power {
            run.energy = energy_of(
                &run,
                cooldown,
                plan.as_ref(),
                tap.history(),
                tap.label(),
                tap.period_us(),
            )
            .map(|e| (&e).into());
        }
        if let Some(m) = &self.metrics {
            m.run(
                &run,
                self.power.as_ref().map(super::power::PowerTap::source_name),
                self.energy.min_coverage,
            );
        }
        if self.progress {
            let min = self.energy.min_coverage;
            eprintln!("{}", progress_line(&run, index, total, min));
        }
        log::info!(
            "run {} ({}) on CPU backend {} ended: {:?}",
            run.run_id,
            run.label,
            run.cpu_backend.as_deref().unwrap_or("-"),
            run.outcome
        );
        self.records.push(Record::Run(Box::new(run)));
    }
}

#[cfg(test)]
mod tests;
