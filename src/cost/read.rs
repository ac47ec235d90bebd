//! Cost rows from a log: the index keeps the runs and events, and the samples are read
//! once, in order, each row taking those of its windows ([`stream`]).

use std::sync::Arc;

use super::stream;
use super::stream::Need;
use super::stream::RowSamples;
use super::CostOptions;
use super::ModelId;
use super::RowKind;
use super::RunCost;
use super::Trust;
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
use crate::derive::runs::BASELINE_SEARCH_US;
use crate::derive::Window;
use crate::logread::DamageCounts;
use crate::logread::Entry;
use crate::logread::Filter;
use crate::logread::LogError;
use crate::logread::LogIndex;
use crate::logread::LogSource;
use crate::logread::RecordKind;
use crate::logread::Skip;
use crate::record::EventKind;
use crate::record::Outcome;
use crate::record::PhaseMark;
use crate::record::PowerReading;
use crate::record::Run;

/// Samples read after a run's end: the worker's last sample at or after it.
const LEAD_OUT_US: u64 = 1_000_000;

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
        Ok(Self {
            rows: rows?.finish(&index, opts)?,
            skips: index.skips().to_vec(),
            damage: *index.damage(),
        })
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

/// Rows whose samples are in, but not the idle rows' energy ([`Rows::finish`]).
pub(super) struct Rows {
    rows: Vec<RunCost>,
    /// Each idle row, its boot and window.
    idle: Vec<(usize, u64, Window)>,
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
                    needs.push(Need::new(boot, w, None));
                    pending.push(Pending::Idle {
                        row: out.len(),
                        window: w,
                    });
                    idle.push((out.len(), boot, w));
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
            if let Some(window) = run_window(&mut row, run) {
                let read = Window::spanning(
                    window.start_us.saturating_sub(BASELINE_SEARCH_US),
                    window.end_us.saturating_add(LEAD_OUT_US),
                );
                needs.push(Need::new(boot, read, idle));
                pending.push(Pending::Run {
                    row: out.len(),
                    run,
                    window,
                    idle,
                });
            } else {
                row.trust = trust(&row, opts);
            }
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
    Ok(Rows { rows: out, idle })
}

fn base_row(e: &Entry, kind: RowKind, label: String) -> RunCost {
    let seg = e.segment();
    RunCost {
        kind,
        seq: e.origin.seq,
        device_id: seg.device_id().map(str::to_owned),
        boot_id: seg.boot_id().map(str::to_owned),
        run_id: None,
        label,
        plan: String::new(),
        workload: String::new(),
        base_workload: None,
        warmup: false,
        repetition: 0,
        ok: true,
        error: None,
        start_unix_us: e.wall.us(),
        start_mono_us: None,
        end_mono_us: None,
        model: None,
        mmproj_sha256: None,
        threads: 0,
        cpu_backend: None,
        duration_s: None,
        phase_s: [None; 5],
        ttft_s: None,
        prompt_tokens: 0,
        generated_tokens: 0,
        image_tokens: None,
        image_width: None,
        image_height: None,
        peak_rss_kb: 0,
        output: String::new(),
        usage: None,
        conditions: RunConditions::default(),
        cooldown_capped: false,
        energy: None,
        trust: Trust::default(),
        estimate: None,
        corrected: None,
    }
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
    let base = row.usage.as_ref().map_or(0.0, |u| u.baseline_cpu_pct);
    row.conditions = run_conditions(samples, window, base);
    row.energy = run.energy.as_ref().map(RunEnergy::from);
    row.trust = trust(row, opts);
}

/// The run's identity, settings, durations and tokens.
fn describe(row: &mut RunCost, run: &Run) {
    row.run_id = Some(run.run_id);
    row.plan.clone_from(&run.plan);
    row.workload.clone_from(&run.workload);
    row.base_workload.clone_from(&run.base_workload);
    row.warmup = run.warmup;
    row.repetition = run.repetition;
    if let Outcome::Failed(err) = &run.outcome {
        row.ok = false;
        row.error = Some(err.to_string());
    }
    row.model = run.model.as_ref().map(|m| ModelId {
        name: m.name.clone(),
        path: m.path.clone(),
        sha256: m.sha256.clone(),
        quantization: m.quantization.clone(),
        file_size_bytes: m.file_size_bytes,
        param_count: m.param_count,
    });
    row.mmproj_sha256 = run.mmproj.as_ref().map(|m| m.sha256.clone());
    row.threads = run.settings.threads;
    row.cpu_backend.clone_from(&run.cpu_backend);
    row.ttft_s = (run.ttft_us > 0).then(|| run.ttft_us as f64 / 1e6);
    row.prompt_tokens = run.prompt_tokens;
    row.output.clone_from(&run.output);
    row.generated_tokens = run.generated_tokens;
    row.image_tokens = run.image.as_ref().map(|i| i.image_tokens);
    row.image_width = run.image.as_ref().map(|i| i.width);
    row.image_height = run.image.as_ref().map(|i| i.height);
    row.peak_rss_kb = run.peak_rss_kb;
    row.cooldown_capped = run.cooldown_capped;
}

/// Which figures of a row can be trusted (see [`Untrusted`]).
pub(super) fn trust(row: &RunCost, opts: CostOptions) -> Trust {
    let mut t = Trust::default();
    match &row.energy {
        None => t.reasons.push(Untrusted::NoEnergy),
        Some(e) if e.run.coverage() < opts.min_coverage || e.run.covered_us == 0 => {
            t.reasons.push(Untrusted::EnergyCoverage {
                coverage: e.run.coverage(),
                min: opts.min_coverage,
            });
        }
        Some(e) => {
            t.energy = true;
            if e.run.net_uj.is_none() {
                t.reasons.push(Untrusted::NoPowerBaseline);
            } else if row.cooldown_capped {
                t.reasons.push(Untrusted::CooldownCapped);
            } else {
                t.energy_net = true;
            }
        }
    }
    match &row.usage {
        None => t.reasons.push(Untrusted::NoSamples),
        Some(u) if u.coverage < opts.min_coverage => t.reasons.push(Untrusted::UsageCoverage {
            coverage: u.coverage,
            min: opts.min_coverage,
        }),
        Some(_) => t.usage = true,
    }
    t
}

/// A plan's idle lead-in as a row; its usage comes from its samples ([`idle_figures`]), its
/// energy from the power readings of the log ([`Rows::finish`]).
fn idle_row(e: &Entry, plan: &str, window: Window) -> RunCost {
    let mut row = base_row(e, RowKind::Idle, format!("idle:{plan}"));
    row.plan = plan.to_owned();
    row.start_mono_us = Some(window.start_us);
    row.end_mono_us = Some(window.end_us);
    row.duration_s = Some(window.len_s());
    row
}

/// An idle row's usage against itself (≈ 0 above idle) and conditions, from its samples.
fn idle_figures(row: &mut RunCost, window: Window, samples: RowSamples<'_, '_>) {
    row.usage = idle_usage(samples, window);
    let base = row.usage.as_ref().map_or(0.0, |u| u.baseline_cpu_pct);
    row.conditions = run_conditions(samples, window, base);
}

/// Energy over an idle window from the readings of the source with the most of them; the
/// nominal period is taken as their median interval. The baseline is the window itself.
fn idle_energy(index: &LogIndex, boot: u64, window: Window) -> Result<Option<RunEnergy>, LogError> {
    let margin = 2_000_000;
    let read = Window::spanning(
        window.start_us.saturating_sub(margin),
        window.end_us.saturating_add(margin),
    );
    let all = index.power_in(boot, read)?.readings;
    let mut labels: Vec<&Arc<str>> = all.iter().map(|(l, _)| l).collect();
    labels.sort();
    labels.dedup();
    let Some(label) = labels
        .into_iter()
        .max_by_key(|l| all.iter().filter(|(m, _)| m == *l).count())
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
