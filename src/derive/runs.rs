//! CPU and RAM cost of each run, from the samples logged around it: the machine's CPU %
//! and RAM used, integrated above an idle baseline over the run's window.
//!
//! Samples of different layouts (the worker's pid comes and goes) are reduced to their
//! system part (cpu lines, memory), which every layout of one machine shares.

use std::borrow::Borrow;

use super::auc;
use super::quietest_window;
use super::trapezoid;
use super::usage::ProcBaselinePolicy;
use super::util::machine_utilisation;
use super::utilisation;
use super::DeriveOptions;
use super::Series;
use super::UsageBaseline;
use super::Window;
use crate::record::group;
use crate::record::PhaseMark;
use crate::record::Run;
use crate::record::RunPhase;
use crate::record::Sample;
use crate::record::SampleLayout;

/// How long before a run its idle baseline is looked for, and how long it is, µs.
pub const BASELINE_SEARCH_US: u64 = 10_000_000;
pub const BASELINE_LEN_US: u64 = 2_000_000;

/// The window of each phase of a run but the last (`Done` ends the run): from its mark to
/// the next, in the run's order.
#[must_use]
pub fn phase_windows(marks: &[PhaseMark]) -> Vec<(RunPhase, Window)> {
    marks
        .windows(2)
        .filter(|w| w[0].phase != RunPhase::Done)
        .map(|w| (w[0].phase, Window::spanning(w[0].mono_us, w[1].mono_us)))
        .collect()
}

/// What one run cost in CPU and RAM.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunUsage {
    /// Machine CPU above idle, %·s (100 % = the whole machine), clamped at idle (the
    /// paper's AUC).
    pub cpu_pct_s: f64,
    /// The same in the per-core-sum convention (100 % = one core), clamped.
    pub cpu_core_pct_s: f64,
    /// Machine CPU minus idle, %·s, not clamped: dips below idle subtract. Energy is
    /// linear in this one (a power model linear in CPU %).
    pub cpu_signed_pct_s: f64,
    /// RAM used above idle, MB·s (MiB), clamped.
    pub ram_mb_s: f64,
    /// RAM used minus idle, MB·s, not clamped.
    pub ram_signed_mb_s: f64,
    /// Share of the run window covered by samples, 0–1.
    pub coverage: f64,
    /// Idle machine CPU % and RAM used MB, and where they were measured.
    pub baseline_cpu_pct: f64,
    pub baseline_ram_mb: f64,
    pub baseline_window: Window,
    /// The baseline is the plan's idle lead-in (else the quietest stretch before the run).
    pub baseline_is_lead_in: bool,
    /// CPU time the worker process used over the run (utime + stime), s: unlike the
    /// machine's CPU, not disturbed by other load. `None` if fewer than two samples saw it.
    pub worker_cpu_s: Option<f64>,
    /// Largest worker RSS sampled during the run, MB (MiB).
    pub worker_rss_mb: Option<f64>,
    /// The worker's RSS integrated over the run window, MB·s (MiB·s), from zero, not
    /// above idle: the model's resident weights included, which is what a smaller or
    /// lower-bit model saves. (The machine's RAM above idle misses them: an mmapped model
    /// is page cache already counted as available before the run.)
    pub worker_rss_mb_s: Option<f64>,
}

impl RunUsage {
    /// Some of the run's window is covered by samples: its AUCs are over that time (a
    /// run inside a gap has AUCs of 0 that are no measurement).
    #[must_use]
    pub fn covered(&self) -> bool {
        self.coverage > 0.0
    }

    /// Mean machine CPU % over a run of `duration_s` (absolute, not above idle): the idle
    /// baseline plus the signed excess over the time samples cover (the AUC skips gaps:
    /// over the whole duration, a run half covered read half as busy); `None` when no time
    /// is covered.
    #[must_use]
    pub fn cpu_mean_pct(&self, duration_s: f64) -> Option<f64> {
        let covered_s = duration_s * self.coverage;
        (covered_s > 0.0).then(|| self.baseline_cpu_pct + self.cpu_signed_pct_s / covered_s)
    }
}

/// The worker's CPU and RSS cost over one run.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct WorkerCost {
    cpu_s: Option<f64>,
    rss_mb: Option<f64>,
    rss_mb_s: Option<f64>,
}

/// The worker's CPU seconds, largest RSS and RSS AUC over the run, from the samples that
/// track it (the last one at or before the run's start, through the first one at or after
/// its end).
fn worker_cost<L: Borrow<SampleLayout>, S: Borrow<Sample>>(
    samples: &[(L, S)],
    run: &Run,
) -> WorkerCost {
    let (Some(start), Some(end)) = (run.phases.first(), run.phases.last()) else {
        return WorkerCost::default();
    };
    let seen: Vec<(u64, u64, u64)> = samples
        .iter()
        .filter_map(|(l, s)| {
            let (l, s) = (l.borrow(), s.borrow());
            let i = l.procs.iter().position(|p| {
                p.pid == run.worker_pid && p.role == crate::record::ProcRole::Worker
            })?;
            let c = s.procs[i];
            s.is_valid(l.proc_bit(i)).then_some((
                s.mono_us,
                c.utime_ticks + c.stime_ticks,
                c.rss_kb,
            ))
        })
        .collect();
    let from = seen.iter().rposition(|x| x.0 <= start.mono_us).unwrap_or(0);
    let to = seen
        .iter()
        .position(|x| x.0 >= end.mono_us)
        .unwrap_or(seen.len().saturating_sub(1));
    let span = seen.get(from..=to).unwrap_or(&[]);
    let cpu = match (span.first(), span.last()) {
        (Some(a), Some(b)) if span.len() >= 2 => {
            Some(b.1.saturating_sub(a.1) as f64 / f64::from(super::DEFAULT_USER_HZ))
        }
        _ => None,
    };
    let rss = span
        .iter()
        .map(|x| x.2)
        .max()
        .map(|kb| kb as f64 / super::KB_PER_MB);
    let rss_mb_s = Window::new(start.mono_us, end.mono_us)
        .ok()
        .and_then(|w| rss_auc(span, w));
    WorkerCost {
        cpu_s: cpu,
        rss_mb: rss,
        rss_mb_s,
    }
}

/// ∫ RSS dt over `window`, MB·s: the [`trapezoid`] integral of the worker's samples'
/// kB (exact), cut at the window's edges; `None` unless the samples span the window.
fn rss_auc(points: &[(u64, u64, u64)], window: Window) -> Option<f64> {
    let (first, last) = (points.first()?, points.last()?);
    if first.0 > window.start_us || last.0 < window.end_us {
        return None;
    }
    let kb = |p: &(u64, u64, u64)| (p.0, i64::try_from(p.2).unwrap_or(i64::MAX));
    let joined = points.windows(2).map(|w| (kb(&w[0]), kb(&w[1])));
    Some(trapezoid::integrate(joined, window).unit_s(super::KB_PER_MB))
}

/// The system part of a sample: cpu lines and memory only.
#[must_use]
pub fn system_view(layout: &SampleLayout, s: &Sample) -> (SampleLayout, Sample) {
    let l = SampleLayout {
        cpus: layout.cpus,
        ..SampleLayout::default()
    };
    let mut v = Sample::empty(&l);
    copy_system_part(&mut v, s);
    (l, v)
}

/// Copies the system part of `s` (time, cpu lines, memory and their validity) into `v`, a
/// sample of a [`system_view`] layout, reusing its storage.
pub fn copy_system_part(v: &mut Sample, s: &Sample) {
    v.tick = s.tick;
    v.mono_us = s.mono_us;
    v.cpu.clone_from(&s.cpu);
    v.mem = s.mem;
    v.set_valid(group::CPU, s.is_valid(group::CPU));
    v.set_valid(group::MEM, s.is_valid(group::MEM));
}

/// CPU/RAM cost of each run (`None` for a run without phase marks, or without samples
/// around it). `samples` are in time order, with their layouts. The baseline is `idle`
/// (a plan's idle lead-in) for the runs after it, else the quietest stretch of
/// [`BASELINE_LEN_US`] in the [`BASELINE_SEARCH_US`] before each run.
#[must_use]
pub fn run_usage<L: Borrow<SampleLayout>, S: Borrow<Sample>>(
    samples: &[(L, S)],
    runs: &[Run],
    idle: Option<Window>,
) -> Vec<Option<RunUsage>> {
    let Some(util) = shared_layout_utilisation(samples).or_else(|| system_utilisation(samples))
    else {
        return vec![None; runs.len()];
    };
    runs.iter()
        .map(|r| {
            let mut u = one_run(&util, r, idle)?;
            // A run inside a gap: the samples either side of it are its neighbours', and
            // the worker's CPU between them is theirs too.
            if u.covered() {
                let w = worker_cost(samples, r);
                (u.worker_cpu_s, u.worker_rss_mb, u.worker_rss_mb_s) =
                    (w.cpu_s, w.rss_mb, w.rss_mb_s);
            }
            Some(u)
        })
        .collect()
}

/// The utilisation of samples that all have one layout, from the samples themselves (no
/// copies): its machine and RAM series are those of their system views.
fn shared_layout_utilisation<L: Borrow<SampleLayout>, S: Borrow<Sample>>(
    samples: &[(L, S)],
) -> Option<super::Utilisation> {
    let layout = samples.first()?.0.borrow();
    let shared = samples.iter().all(|(l, _)| {
        let l = l.borrow();
        std::ptr::eq(l, layout) || l == layout
    });
    if !shared {
        return None;
    }
    let refs: Vec<&Sample> = samples.iter().map(|(_, s)| s.borrow()).collect();
    machine_utilisation(layout, &refs, &DeriveOptions::default()).ok()
}

/// The utilisation of the system views of `samples` (layouts may differ in their
/// processes); after a change of cpu lines, only the latest stretch.
fn system_utilisation<L: Borrow<SampleLayout>, S: Borrow<Sample>>(
    samples: &[(L, S)],
) -> Option<super::Utilisation> {
    let mut system: Vec<Sample> = Vec::with_capacity(samples.len());
    let mut layout = None;
    for (l, s) in samples.iter().map(|(l, s)| (l.borrow(), s.borrow())) {
        let (sl, v) = system_view(l, s);
        if layout
            .as_ref()
            .is_some_and(|prev: &SampleLayout| prev.cpus != sl.cpus)
        {
            system.clear(); // another machine's layout: only the latest stretch counts
        }
        layout = Some(sl);
        system.push(v);
    }
    utilisation(&layout?, &system, &DeriveOptions::default()).ok()
}

/// The usage of an idle span (a plan's lead-in) against its own mean: the baseline figures
/// of the span, and AUCs that are ≈ 0 by construction. `None` without samples covering it.
#[must_use]
pub fn idle_usage<L: Borrow<SampleLayout>, S: Borrow<Sample>>(
    samples: &[(L, S)],
    window: Window,
) -> Option<RunUsage> {
    let first = samples.first()?;
    let (layout, _) = system_view(first.0.borrow(), first.1.borrow());
    let system: Vec<Sample> = samples
        .iter()
        .map(|(l, s)| (l.borrow(), s.borrow()))
        .filter(|(l, _)| l.cpus == layout.cpus)
        .map(|(l, s)| system_view(l, s).1)
        .collect();
    let util = utilisation(&layout, &system, &DeriveOptions::default()).ok()?;
    let base = UsageBaseline::from_window(&util, window, ProcBaselinePolicy::Zero).ok()?;
    Some(usage(&util, window, &base, true))
}

fn one_run(util: &super::Utilisation, run: &Run, idle: Option<Window>) -> Option<RunUsage> {
    let start = run.phases.first()?.mono_us;
    let end = run.phases.last()?.mono_us;
    let window = Window::new(start, end).ok()?;
    if let Some(idle) = idle.filter(|w| w.end_us <= start) {
        if let Ok(base) = UsageBaseline::from_window(util, idle, ProcBaselinePolicy::Zero) {
            return Some(usage(util, window, &base, true));
        }
    }
    let search = Window::new(start.saturating_sub(BASELINE_SEARCH_US), start).ok()?;
    let before = Series::from_parts(
        util.cpu_machine_pct.values_in(search),
        &[],
        util.cpu_machine_pct.gap_rule(),
    )
    .ok()?;
    // The quietest stretch before the run; at worst the whole search window.
    let quiet = quietest_window(&before, BASELINE_LEN_US).map_or(search, |b| b.window);
    let base = UsageBaseline::from_window(util, quiet, ProcBaselinePolicy::Zero).ok()?;
    Some(usage(util, window, &base, false))
}

fn usage(
    util: &super::Utilisation,
    window: Window,
    base: &UsageBaseline,
    baseline_is_lead_in: bool,
) -> RunUsage {
    // The machine's series alone (`UsageAuc` would integrate the processes' too).
    let cpu = auc(&util.cpu_machine_pct, window, base.cpu_machine_pct.mean);
    let core = auc(
        &util.cpu_per_core_sum_pct,
        window,
        base.cpu_per_core_sum_pct.mean,
    );
    let ram = auc(&util.ram_used_mb, window, base.ram_used_mb.mean);
    RunUsage {
        cpu_pct_s: cpu.above,
        cpu_core_pct_s: core.above,
        cpu_signed_pct_s: cpu.signed,
        ram_mb_s: ram.above,
        ram_signed_mb_s: ram.signed,
        coverage: cpu.coverage.fraction,
        baseline_cpu_pct: base.cpu_machine_pct.mean,
        baseline_ram_mb: base.ram_used_mb.mean,
        baseline_window: base.window,
        baseline_is_lead_in,
        worker_cpu_s: None,
        worker_rss_mb: None,
        worker_rss_mb_s: None,
    }
}

#[cfg(test)]
mod tests;
