//! A synthetic log with a known power model, written through the real store writer: the
//! known truth `calibrate` and the cost rows are tested against.
//!
//! The machine (4 cores, 10 Hz samples) idles at exactly [`IDLE_BUSY_TICKS`] of 40 ticks per
//! sample (2.5 %) and a fixed RAM use; each run adds a load (machine CPU %, dithered to whole
//! ticks), RAM and a clock frequency. Power is a function of the *derived* sample points —
//! `P_k = idle_w + a·(u_k − u_idle) + b·(ram_k − ram_idle) + c·(u_k − u_idle)·f_k` — joined
//! linearly between samples and read every `power_period_us`, with uniform noise. So a run's
//! gross energy is `idle_w·T + a·CPU_AUC + b·RAM_AUC + c·CPU·GHz_AUC` (signed AUCs above the
//! idle lead-in), up to the noise and the meter's own trapezoids: the CPU AUC holds each
//! interval's CPU % over it (a step), while power joined across a step of load ramps over
//! one sample interval, so a run's energy lacks about half a sample interval of its load
//! (−0.9 % on the CPU coefficient `calibrate` recovers from 10 Hz readings), as a real
//! meter's integral does at its reading rate. Each run's measured energy is stored on its Run
//! record by the real integrator ([`crate::derive::energy::run_energy`]), as the daemon does.

use std::path::Path;

mod points;
mod store;

use super::Rng;
use crate::clock::Anchor;
use crate::derive::energy::run_energy;
use crate::derive::energy::BaselineFrom;
use crate::derive::energy::RunSpec;
use crate::derive::energy::Tokens;
use crate::derive::runs::phase_windows;
use crate::derive::Window;
use crate::record::CpuTicks;
use crate::record::Event;
use crate::record::EventKind;
use crate::record::ImageRun;
use crate::record::ModelInfo;
use crate::record::Outcome;
use crate::record::PhaseMark;
use crate::record::PowerBlockBuilder;
use crate::record::PowerReading;
use crate::record::Record;
use crate::record::Run;
use crate::record::RunError;
use crate::record::RunPhase;
use crate::record::RunSettings;
use crate::record::SampleBlockBuilder;
use crate::record::SealReason;
use crate::record::SourceId;
use crate::store::SegmentIdent;
use crate::store::StoreError;
use crate::store::Writer;
use points::layout;
use points::readings;
use points::tick;
use points::Point;
use store::store_energy;
use store::write_records;

/// Busy ticks of 40 per idle sample: 2.5 % machine CPU.
pub const IDLE_BUSY_TICKS: u64 = 1;
const TICK_US: u64 = 100_000;
const LEAD_IN_US: u64 = 3_000_000;
const GAP_US: u64 = 2_000_000;
const RAM_TOTAL_KB: u64 = 8_000_000;
const RAM_IDLE_KB: u64 = 1_000_000;
const IDLE_FREQ_KHZ: u64 = 1_500_000;
/// The labels of the synthetic sources (their first word is the source kind).
pub const INA_LABEL: &str = "ina219 synthetic (5 V feed, whole board)";
pub const PMIC_LABEL: &str = "pmic synthetic (rail sum)";

/// The power model the log is generated from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerTruth {
    /// Board power at the idle baseline, W.
    pub idle_w: f64,
    /// W per machine CPU % above idle.
    pub cpu_w_per_pct: f64,
    /// W per MB of RAM above idle.
    pub ram_w_per_mb: f64,
    /// W per (machine CPU % above idle × GHz).
    pub cpu_ghz_w_per_pct_ghz: f64,
}

/// One run of the synthetic log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynthRun {
    /// Machine CPU % above idle while it runs.
    pub load_pct: f64,
    pub duration_s: f64,
    /// RAM above idle while it runs, MB.
    pub ram_mb: f64,
    pub freq_mhz: u64,
    pub prompt_tokens: u32,
    pub ok: bool,
    pub case: SynthCase,
}

/// What a run is beyond its load (the default: an LLM run of workload `llm` on a Q4_1
/// model): the report's known truth needs workloads, models and images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SynthCase {
    /// The workload (`llm` when `None`).
    pub workload: Option<&'static str>,
    pub base_workload: Option<&'static str>,
    /// The model's quantization (`Q4_1` when `None`); the model is `synthetic-<quant>`.
    pub quantization: Option<&'static str>,
    /// An image: width, height and the image tokens it became (then an encode phase).
    pub image: Option<(u32, u32, u32)>,
    pub repetition: u32,
    pub warmup: bool,
    /// The cooldown before the run was ended by its cap (`Run.cooldown_capped`).
    pub cooldown_capped: bool,
    /// The generated text.
    pub output: &'static str,
    /// The plan it is in (`None`: `calibrate`); a plan's runs are written one after another,
    /// its `PlanStart` named after its first run's.
    pub plan: Option<&'static str>,
}

/// What to write.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthLog {
    pub device_id: String,
    /// Empty: `boot-seed-<seed>`, so that two logs of different seeds are two boots.
    pub boot_id: String,
    pub truth: PowerTruth,
    pub runs: Vec<SynthRun>,
    /// A plan (its `PlanStart` and idle lead-in) every this many runs.
    pub runs_per_plan: usize,
    pub power_period_us: u64,
    /// Each reading is off by a uniform ±this share (0.02 = ±2 %).
    pub noise: f64,
    pub seed: u64,
    /// Also log the PMIC, reading `(total − c_w) / k` (the mapping `total ≈ k·PMIC + c`).
    pub pmic: Option<(f64, f64)>,
    /// Log the INA219 (the whole board); without it only the PMIC, if any.
    pub ina219: bool,
    /// Readings missing for this share of each run, at its middle (a sensor outage).
    pub outage: f64,
    /// Write as the daemon does, in flushes and segments; `None`: all samples, then all
    /// readings, then the events and runs, in one segment.
    pub flushing: Option<Flushing>,
    /// The plans' idle lead-ins start this long after a sample (less than a tick), as the
    /// daemon's do: a lead-in starts when its plan does, not on a tick, so its first and
    /// last sample intervals are partly inside it. 0: on a tick.
    pub lead_in_offset_us: u64,
}

/// How the daemon writes: every `flush_us`, the samples, power readings, events and ended
/// runs since the last flush; a new segment every `flushes_per_segment` flushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flushing {
    pub flush_us: u64,
    pub flushes_per_segment: usize,
}

impl Flushing {
    /// A flush every 5 s, a segment every 30 s: a log of a few runs in several segments.
    pub const SHORT_SEGMENTS: Self = Self {
        flush_us: 5_000_000,
        flushes_per_segment: 6,
    };
}

impl SynthLog {
    /// `runs` on a Pi-like board with `truth`, 100 Hz INA219, ±1 % noise.
    #[must_use]
    pub fn new(truth: PowerTruth, runs: Vec<SynthRun>) -> Self {
        Self {
            device_id: "synthetic-pi".into(),
            boot_id: String::new(),
            truth,
            runs,
            runs_per_plan: 4,
            power_period_us: 10_000,
            noise: 0.01,
            seed: 1,
            pmic: None,
            ina219: true,
            outage: 0.0,
            flushing: None,
            lead_in_offset_us: 0,
        }
    }
}

/// `n` runs spreading load (10–90 %), length (4–13 s), RAM (100–400 MB, not in step with
/// the load) and, with `freqs`, the clock (1.5 or 2.4 GHz).
pub fn spread(n: usize, freqs: bool) -> Vec<SynthRun> {
    (0..n)
        .map(|i| SynthRun {
            load_pct: 10.0 + 80.0 * ((i * 7) % n) as f64 / (n - 1) as f64,
            duration_s: 4.0 + (i % 4) as f64 * 3.0,
            ram_mb: 100.0 + 100.0 * ((i * 3) % 4) as f64,
            freq_mhz: if freqs && i % 2 == 1 { 1500 } else { 2400 },
            prompt_tokens: 16 << (i % 4),
            ok: true,
            case: SynthCase::default(),
        })
        .collect()
}

fn run_record(i: usize, r: &SynthRun, marks: Vec<PhaseMark>, lead_in: Window) -> Run {
    let settings = RunSettings {
        threads: 4,
        n_ctx: 2048,
        n_batch: 512,
        seed: 1,
        prompt_tokens: r.prompt_tokens,
        gen_tokens: 32,
        keep_loaded: true,
        image_min_tokens: -1,
        image_max_tokens: -1,
    };
    let c = &r.case;
    let workload = c.workload.unwrap_or("llm");
    let quant = c.quantization.unwrap_or("Q4_1");
    let mut label = format!("{workload}/pp{}/tg32/t4", r.prompt_tokens);
    if let Some((w, h, _)) = c.image {
        label += &format!("/img{w}x{h}");
    }
    Run {
        run_id: i as u64,
        model: Some(ModelInfo {
            path: format!("models/synthetic-{quant}.gguf"),
            name: Some(format!("synthetic-{quant}")),
            architecture: "llama".into(),
            file_type: Some(3),
            quantization: quant.into(),
            param_count: 134_515_008,
            file_size_bytes: 98_000_000,
            sha256: "00".repeat(32),
        }),
        image: c.image.map(|(width, height, image_tokens)| ImageRun {
            source: format!("synthetic {width}x{height}"),
            width,
            height,
            image_tokens,
            preprocess_us: 0,
            encode_us: marks[2].mono_us - marks[1].mono_us,
        }),
        prompt_tokens: r.prompt_tokens,
        generated_tokens: if r.ok { 32 } else { 0 },
        output: c.output.into(),
        phases: marks,
        outcome: if r.ok {
            Outcome::Ok
        } else {
            Outcome::Failed(RunError::TimedOut { limit_ms: 1000 })
        },
        plan: c.plan.unwrap_or("calibrate").into(),
        workload: workload.into(),
        base_workload: c.base_workload.map(Into::into),
        repetition: c.repetition,
        warmup: c.warmup,
        cooldown_capped: c.cooldown_capped,
        idle_lead_in: Some(lead_in.into()),
        ..Run::blank(label, 4242, settings)
    }
}

/// The phase marks of a run of `len` µs from `start`: load, prefill (encode for an image
/// run), decode from 40 %, done.
fn phase_marks(start: u64, len: u64, image: bool) -> [PhaseMark; 4] {
    let second = if image {
        RunPhase::Encode
    } else {
        RunPhase::Prefill
    };
    [
        (RunPhase::Load, 0),
        (second, 1),
        (RunPhase::Decode, 4),
        (RunPhase::Done, 10),
    ]
    .map(|(phase, tenth)| PhaseMark {
        phase,
        mono_us: start + len * tenth / 10,
    })
}

/// Writes the log into state directory `dir` and returns its runs as written.
pub fn write(dir: &Path, log: &SynthLog) -> Result<Vec<Run>, StoreError> {
    let mut rng = Rng::new(log.seed);
    let mut cpu = vec![CpuTicks::default(); 5];
    let t0 = 10 * TICK_US * 10;
    let mut points = vec![];
    tick(&mut points, &mut cpu, t0, None, &mut rng);
    let mut records = Vec::new();
    let mut runs = Vec::new();
    let mut holes = Vec::new();
    let mut pending: Vec<(usize, SynthRun, Vec<PhaseMark>)> = Vec::new();
    let mut lead_in = Window::spanning(0, 0);
    for (i, r) in log.runs.iter().enumerate() {
        if i % log.runs_per_plan.max(1) == 0 {
            let from = points.last().map_or(0, |p| p.t) + GAP_US;
            tick(&mut points, &mut cpu, from, None, &mut rng);
            tick(&mut points, &mut cpu, from + LEAD_IN_US, None, &mut rng);
            let off = log.lead_in_offset_us % TICK_US;
            lead_in = Window::spanning(from + off, from + LEAD_IN_US + off);
            records.push(Record::Event(Event {
                mono_us: lead_in.end_us,
                kind: EventKind::PlanStart {
                    plan: r.case.plan.unwrap_or("calibrate").into(),
                    idle_from_us: lead_in.start_us,
                    idle_to_us: lead_in.end_us,
                },
            }));
        }
        let start = points.last().map_or(0, |p| p.t) + GAP_US;
        tick(&mut points, &mut cpu, start, None, &mut rng);
        let end = start + (r.duration_s * 1e6) as u64 / TICK_US * TICK_US;
        tick(&mut points, &mut cpu, end, Some(r), &mut rng);
        let len = end - start;
        let mid = start + len / 2;
        let half_hole = (len as f64 * log.outage / 2.0) as u64;
        if half_hole > 0 {
            holes.push(Window::spanning(mid - half_hole, mid + half_hole));
        }
        let marks = phase_marks(start, len, r.case.image.is_some());
        pending.push((i, *r, marks.to_vec()));
        if pending.len() == log.runs_per_plan.max(1) || i + 1 == log.runs.len() {
            for (i, r, marks) in pending.drain(..) {
                runs.push(run_record(i, &r, marks, lead_in));
            }
        }
    }
    let end = points.last().map_or(0, |p| p.t) + GAP_US;
    tick(&mut points, &mut cpu, end, None, &mut rng);
    let ina = readings(log, &points, &holes, &mut rng);
    let pmic: Vec<PowerReading> = log.pmic.map_or_else(Vec::new, |(k, c)| {
        ina.iter()
            .map(|r| PowerReading {
                source: SourceId::Pmic,
                bus_uv: None,
                power_uw: ((r.power_uw as f64 - c * 1e6) / k).round() as i64,
                ..*r
            })
            .collect()
    });
    let (measured, label) = if log.ina219 {
        (&ina, INA_LABEL)
    } else {
        (&pmic, PMIC_LABEL)
    };
    store_energy(&mut runs, measured, label, log.power_period_us);
    let ina = if log.ina219 { ina } else { Vec::new() };
    write_records(dir, log, &points, [ina, pmic], records, &runs)?;
    Ok(runs)
}
