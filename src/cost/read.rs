//! Cost rows from a log: the index keeps the runs and events, and the samples are read
//! once, in order, each row taking those of its windows ([`stream`]).

use std::path::PathBuf;
use std::sync::Arc;

use super::row::base_row;
use super::row::describe;
use super::stream;
use super::stream::Need;
use super::stream::RowSamples;
use super::trust::trust;
use super::CostOptions;
use super::RowKind;
use super::RunCost;
use super::Untrusted;
use super::PHASES;
use crate::derive::conditions::run_conditions;
use crate::derive::conditions::RunConditions;
use crate::derive::energy::run_energy;
use crate::derive::energy::BaselineFrom;
use crate::derive::energy::RunEnergy;
use crate::derive::energy::RunSpec;
use crate::derive::energy::Tokens;
use crate::derive::runs::idle_usage;
use crate::derive::runs::phase_windows;
use crate::derive::runs::run_usage;
use crate::derive::runs::RunUsage;
use crate::derive::runs::BASELINE_SEARCH_US;
use crate::derive::Window;
use crate::estimate::fit::meter_rank;
use crate::logread::DamageCounts;
use crate::logread::Entry;
use crate::logread::Filter;
use crate::logread::LogError;
use crate::logread::LogIndex;
use crate::logread::LogSource;
use crate::logread::RecordKind;
use crate::logread::Skip;
use crate::record::EventKind;
use crate::record::PhaseMark;
use crate::record::PowerReading;
use crate::record::Run;

/// Samples read after a run's end: the worker's last sample at or after it.
const LEAD_OUT_US: u64 = 1_000_000;

/// Samples read either side of a plan's idle lead-in: one sample interval at the slowest
/// rate (1 Hz). A lead-in starts when its plan does, not on a tick, so its first and last
/// intervals are partly inside it and need the samples that bound them (a CPU % holds over
/// its interval): without them its usage lost about a tick of coverage (96.7 % at 10 Hz,
/// 83 % at 2 Hz: untrusted, and the idle point left out of `calibrate`).
const LEAD_IN_EDGE_US: u64 = 1_000_000;

/// The samples a lead-in's usage (its idle row, and the baseline of its runs) reads.
fn lead_in_read(w: Window) -> Window {
    Window::spanning(
        w.start_us.saturating_sub(LEAD_IN_EDGE_US),
        w.end_us.saturating_add(LEAD_IN_EDGE_US),
    )
}

/// The cost rows of a log, and what the reader skipped.
#[derive(Debug, Clone, Default)]
pub struct CostLog {
    /// In log order: each plan's idle row before its runs.
    pub rows: Vec<RunCost>,
    pub skips: Vec<Skip>,
    pub damage: DamageCounts,
}

impl CostLog {
    /// Reads `source` (through `filter`; its kinds are replaced by what costs need) and
    /// derives a row per run and per plan lead-in.
    pub fn read(source: &LogSource, filter: Filter, opts: CostOptions) -> Result<Self, LogError> {
        Self::read_reach(source, filter, opts).map(|(log, _, _)| log)
    }

    /// [`read`](Self::read), with what each row read ([`Reach`]), the segment file its
    /// record is in, and the index: what the cache ([`super::cache`]) needs to tell whether
    /// a row from part of a log is the row of the whole log.
    pub(super) fn read_reach(
        source: &LogSource,
        filter: Filter,
        opts: CostOptions,
    ) -> Result<(Self, Vec<ReachIn>, LogIndex), LogError> {
        let filter = Filter {
            kinds: vec![
                RecordKind::Sample,
                RecordKind::Power,
                RecordKind::Event,
                RecordKind::Run,
            ],
            ..filter
        };
        // The blocks are decoded once, on a second thread, the samples streamed to the rows;
        // the idle rows' energy needs the power readings, so it comes last.
        let (index, rows) = LogIndex::build_streaming_samples(source, filter, |index, blocks| {
            rows_with(index, opts, |_, needs, f| {
                stream::for_each_need(blocks, needs, f);
                Ok(())
            })
        })?;
        let mut rows = rows?;
        let reach = std::mem::take(&mut rows.reach);
        let log = Self {
            rows: rows.finish(&index, opts)?,
            skips: index.skips().to_vec(),
            damage: *index.damage(),
        };
        Ok((log, reach, index))
    }

    /// The rows of runs (not idle lead-ins), in log order.
    pub fn runs(&self) -> impl Iterator<Item = &RunCost> {
        self.rows.iter().filter(|r| r.kind == RowKind::Run)
    }
}

/// What a row still needs from the samples.
enum Pending<'a> {
    Run {
        row: usize,
        run: &'a Run,
        window: Window,
        idle: Option<Window>,
    },
    Idle {
        row: usize,
        window: Window,
    },
}

/// What a row reads of the log besides its own record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reach {
    /// From when to when it reads its boot's samples (and, for an idle row, its power
    /// readings); `None` if it reads none (a run without phase marks).
    pub span: Option<Window>,
    /// It reads power readings (an idle row's energy).
    pub power: bool,
    /// A run that does not name its plan's lead-in, with no plan started before it in what
    /// was read: an earlier part of the log may hold its lead-in.
    pub lead_in_unknown: bool,
}

/// What a row read, and the segment file its record is in.
pub(super) type ReachIn = (Reach, PathBuf);

impl Reach {
    /// What the idle row of the lead-in `w` reads: its power readings too.
    fn idle(w: Window) -> Self {
        Self {
            span: Some(power_window(w)),
            power: true,
            lead_in_unknown: false,
        }
    }
}

/// Rows whose samples are in, but not the idle rows' energy ([`Rows::finish`]).
pub(super) struct Rows {
    rows: Vec<RunCost>,
    /// Each idle row, its boot and window.
    idle: Vec<(usize, u64, Window)>,
    /// Per row: what it read, and the segment file its record is in.
    reach: Vec<ReachIn>,
}

impl Rows {
    /// The idle rows' energy from the power readings `index` holds, and their trust.
    pub(super) fn finish(
        mut self,
        index: &LogIndex,
        opts: CostOptions,
    ) -> Result<Vec<RunCost>, LogError> {
        for (i, boot, window) in self.idle {
            let row = &mut self.rows[i];
            row.energy = idle_energy(index, boot, window)?;
            row.trust = trust(row, opts);
        }
        Ok(self.rows)
    }
}

/// The rows of the runs and events `index` holds, with the samples of each [`Need`]
/// gathered by `gather`, which calls back once per need with its index and samples.
pub(super) fn rows_with(
    index: &LogIndex,
    opts: CostOptions,
    gather: impl FnOnce(
        &LogIndex,
        &[Need],
        &mut dyn FnMut(usize, RowSamples<'_, '_>),
    ) -> Result<(), LogError>,
) -> Result<Rows, LogError> {
    let mut idle = Vec::new();
    let mut out = Vec::new();
    let mut needs = Vec::new();
    let mut pending = Vec::new();
    let mut reach = Vec::new();
    // The latest plan lead-in of each boot: the baseline of a v1 run, which does not say.
    let mut lead_in: Option<(u64, Window)> = None;
    for e in index.records() {
        let boot = e.segment().boot;
        if let Some(ev) = e.event() {
            if let EventKind::PlanStart {
                plan,
                idle_from_us,
                idle_to_us,
            } = &ev.kind
            {
                if let Ok(w) = Window::new(*idle_from_us, *idle_to_us) {
                    lead_in = Some((boot, w));
                    needs.push(Need::new(boot, lead_in_read(w), None));
                    pending.push(Pending::Idle {
                        row: out.len(),
                        window: w,
                    });
                    idle.push((out.len(), boot, w));
                    reach.push((Reach::idle(w), e.segment().path.clone()));
                    out.push(idle_row(e, plan, w));
                }
            }
        } else if let Some(run) = e.run() {
            let idle = run
                .idle_lead_in
                .map(Window::from)
                .or_else(|| lead_in.and_then(|(b, w)| (b == boot).then_some(w)));
            let mut row = base_row(e, RowKind::Run, run.label.clone());
            describe(&mut row, run);
            let mut r = Reach {
                span: None,
                power: false,
                lead_in_unknown: false,
            };
            if let Some(window) = run_window(&mut row, run) {
                let read = Window::spanning(
                    window.start_us.saturating_sub(BASELINE_SEARCH_US),
                    window.end_us.saturating_add(LEAD_OUT_US),
                );
                let need = Need::new(boot, read, idle.map(lead_in_read));
                let from_us = need.lead_in.map_or(need.main.start_us, |w| w.start_us);
                r.span = Some(Window::spanning(from_us, need.main.end_us));
                r.lead_in_unknown = run.idle_lead_in.is_none() && lead_in.is_none();
                needs.push(need);
                pending.push(Pending::Run {
                    row: out.len(),
                    run,
                    window,
                    idle,
                });
            } else {
                row.trust = trust(&row, opts);
            }
            reach.push((r, e.segment().path.clone()));
            out.push(row);
        }
    }
    gather(index, &needs, &mut |i, samples| match pending[i] {
        Pending::Run {
            row,
            run,
            window,
            idle,
        } => run_figures(&mut out[row], run, window, idle, samples, opts),
        Pending::Idle { row, window } => idle_figures(&mut out[row], window, samples),
    })?;
    Ok(Rows {
        rows: out,
        idle,
        reach,
    })
}

fn phase_seconds(marks: &[PhaseMark]) -> [Option<f64>; 5] {
    let mut out = [None; 5];
    for (phase, w) in phase_windows(marks) {
        if let Some(i) = PHASES.iter().position(|p| *p == phase) {
            out[i] = Some(out[i].unwrap_or(0.0) + w.len_s());
        }
    }
    out
}

/// The run's window (first to last phase mark) and durations; `None` without phase marks.
fn run_window(row: &mut RunCost, run: &Run) -> Option<Window> {
    let (first, last) = (run.phases.first()?, run.phases.last()?);
    let window = Window::spanning(first.mono_us, last.mono_us);
    row.start_mono_us = Some(window.start_us);
    row.end_mono_us = Some(window.end_us);
    row.duration_s = Some(window.len_s());
    row.phase_s = phase_seconds(&run.phases);
    Some(window)
}

/// The figures of a run's row from the samples around it (its lead-in's, then those from
/// the baseline search before it to its lead-out).
fn run_figures(
    row: &mut RunCost,
    run: &Run,
    window: Window,
    idle: Option<Window>,
    samples: RowSamples<'_, '_>,
    opts: CostOptions,
) {
    row.usage = run_usage(samples, std::slice::from_ref(run), idle)
        .pop()
        .flatten();
    row.conditions = conditions(samples, window, row.usage.as_ref());
    row.energy = RunEnergy::of_run(run);
    row.trust = trust(row, opts);
    match &row.usage {
        // A lead-in before the run not read: its usage is above a baseline the plan did not
        // measure. (A v1 run's lead-in is the latest plan's: one after it is not its own.)
        Some(u) if idle.is_some_and(|w| w.end_us <= window.start_us) && !u.baseline_is_lead_in => {
            row.trust.usage = false;
            row.trust.reasons.push(Untrusted::LeadInLost);
        }
        // Samples in the run, none to take an idle baseline from: not "no samples".
        None if samples.iter().any(|(_, s)| window.contains(s.mono_us)) => {
            for why in &mut row.trust.reasons {
                if *why == Untrusted::NoSamples {
                    *why = Untrusted::NoUsageBaseline;
                }
            }
        }
        _ => {}
    }
}

/// A plan's idle lead-in as a row; its usage comes from its samples ([`idle_figures`]), its
/// energy from the power readings of the log ([`Rows::finish`]).
fn idle_row(e: &Entry, plan: &str, window: Window) -> RunCost {
    let mut row = base_row(e, RowKind::Idle, format!("idle:{plan}"));
    row.plan = plan.to_owned();
    // The wall time of the lead-in's start, not of the plan start that ends it: under the
    // anchor the plan start is read with.
    row.start_unix_us = e.wall.us().zip(e.mono_us).map(|(wall_us, mono_us)| {
        wall_us.saturating_sub(mono_us.saturating_sub(window.start_us) as i64)
    });
    row.start_mono_us = Some(window.start_us);
    row.end_mono_us = Some(window.end_us);
    row.duration_s = Some(window.len_s());
    row
}

/// An idle row's usage against itself (≈ 0 above idle) and conditions, from its samples.
fn idle_figures(row: &mut RunCost, window: Window, samples: RowSamples<'_, '_>) {
    row.usage = idle_usage(samples, window);
    row.conditions = conditions(samples, window, row.usage.as_ref());
}

/// A row's conditions from the samples in its window: none when samples cover none of it
/// (the samples of its edges are its neighbours'), and no CPU × GHz AUC without an idle
/// baseline to take it above (above 0 % it is no run's excess).
fn conditions(
    samples: RowSamples<'_, '_>,
    window: Window,
    usage: Option<&RunUsage>,
) -> RunConditions {
    match usage {
        Some(u) if u.covered() => run_conditions(samples, window, u.baseline_cpu_pct),
        Some(_) => RunConditions::default(),
        None => RunConditions {
            cpu_ghz_signed_pct_ghz_s: None,
            ..run_conditions(samples, window, 0.0)
        },
    }
}

/// The power readings an idle row's energy reads: its window and 2 s either side.
fn power_window(window: Window) -> Window {
    let margin_us = 2_000_000;
    Window::spanning(
        window.start_us.saturating_sub(margin_us),
        window.end_us.saturating_add(margin_us),
    )
}

/// Energy over an idle window from the readings of one source: of those with at least half
/// as many readings as the most read one, the meter a fit prefers ([`meter_rank`]: the
/// INA219, then the PMIC), then the one with the most; the nominal period is taken as their
/// median interval. The baseline is the window itself.
fn idle_energy(index: &LogIndex, boot: u64, window: Window) -> Result<Option<RunEnergy>, LogError> {
    let all = index.power_in(boot, power_window(window))?.readings;
    let mut labels: Vec<(&Arc<str>, usize)> = Vec::new();
    for (l, _) in &all {
        match labels.iter_mut().find(|(m, _)| m == &l) {
            Some((_, n)) => *n += 1,
            None => labels.push((l, 1)),
        }
    }
    let most = labels.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let Some((label, _)) = labels
        .into_iter()
        .filter(|(_, n)| 2 * n >= most)
        .max_by_key(|(l, n)| (std::cmp::Reverse(meter_rank(super::meter_kind(l))), *n, *l))
    else {
        return Ok(None);
    };
    let mut readings: Vec<PowerReading> = all
        .iter()
        .filter(|(l, _)| l == label)
        .map(|(_, r)| *r)
        .collect();
    readings.sort_by_key(|r| r.mono_us);
    let mut dts: Vec<u64> = readings
        .windows(2)
        .map(|w| w[1].mono_us - w[0].mono_us)
        .collect();
    dts.sort_unstable();
    let Some(&period_us) = dts.get(dts.len() / 2).filter(|&&p| p > 0) else {
        return Ok(None);
    };
    let spec = RunSpec {
        source_label: label,
        period_us,
        run: window,
        phases: &[],
        baseline: BaselineFrom::Window(window),
        tokens: Tokens::default(),
    };
    Ok(Some(run_energy(&readings, &spec)))
}
