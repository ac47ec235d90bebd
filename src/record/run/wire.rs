//! The shapes a Run has on disk. Each is frozen: a field is never added, removed or
//! reordered; a new shape is a new `Record` variant, and the old one keeps its decoder and
//! migrates to the in-memory [`Run`] on read.
//!
//! - **Run v1** (`Record` index 4): edgewatt 0.1.0's first Run; its energy phases have
//!   their own order ([`EnergyPhaseV1`]). Read only.
//! - **Run v2** (`Record` index 5): v1's fields (energy phases as [`RunPhase`]), then plan,
//!   workload, base workload, warm-up, repetition, schedule position, CPU backend,
//!   whether the cooldown was capped, and the plan's idle lead-in. Written now.

use serde::Deserialize;
use serde::Serialize;

use super::EnergyBaseline;
use super::EnergyIntegration;
use super::EnergyWindow;
use super::ImageRun;
use super::MeasuredEnergy;
use super::ModelInfo;
use super::MonoWindow;
use super::Outcome;
use super::PhaseMark;
use super::Run;
use super::RunPhase;
use super::RunSettings;
use super::TokenCounts;

/// The phases energy was split into in Run v1, in their wire order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum EnergyPhaseV1 {
    Load,
    Prefill,
    Decode,
    Preprocess,
    Encode,
}

impl From<EnergyPhaseV1> for RunPhase {
    fn from(p: EnergyPhaseV1) -> Self {
        match p {
            EnergyPhaseV1::Load => Self::Load,
            EnergyPhaseV1::Prefill => Self::Prefill,
            EnergyPhaseV1::Decode => Self::Decode,
            EnergyPhaseV1::Preprocess => Self::Preprocess,
            EnergyPhaseV1::Encode => Self::Encode,
        }
    }
}

/// [`MeasuredEnergy`] in Run v1.
#[derive(Debug, Deserialize)]
struct EnergyV1 {
    source: String,
    period_us: u64,
    measured_rate_mhz: u64,
    integration: EnergyIntegration,
    baseline: Option<EnergyBaseline>,
    run: EnergyWindow,
    phases: Vec<(EnergyPhaseV1, EnergyWindow)>,
    tokens: TokenCounts,
}

/// Run v1, `Record` index 4.
#[derive(Debug, Deserialize)]
pub(in crate::record) struct RunV1 {
    run_id: u64,
    label: String,
    worker_pid: u32,
    model: Option<ModelInfo>,
    mmproj: Option<ModelInfo>,
    settings: RunSettings,
    image: Option<ImageRun>,
    prompt_tokens: u32,
    generated_tokens: u32,
    load_us: u64,
    prefill_us: u64,
    decode_us: u64,
    ttft_us: u64,
    peak_rss_kb: u64,
    output: String,
    phases: Vec<PhaseMark>,
    outcome: Outcome,
    cooldown_us: u64,
    energy: Option<EnergyV1>,
}

/// A Run v1 becomes a Run with the v2 fields unknown, except `warmup`: v1 marked warm-ups
/// by appending `#warmup` to the label (the only writer of v1 records did so).
impl From<RunV1> for Run {
    fn from(v: RunV1) -> Self {
        let energy = v.energy.map(|e| MeasuredEnergy {
            source: e.source,
            period_us: e.period_us,
            measured_rate_mhz: e.measured_rate_mhz,
            integration: e.integration,
            baseline: e.baseline,
            run: e.run,
            phases: e.phases.into_iter().map(|(p, w)| (p.into(), w)).collect(),
            tokens: e.tokens,
        });
        let warmup = v.label.ends_with("#warmup");
        Self {
            run_id: v.run_id,
            worker_pid: v.worker_pid,
            model: v.model,
            mmproj: v.mmproj,
            image: v.image,
            prompt_tokens: v.prompt_tokens,
            generated_tokens: v.generated_tokens,
            load_us: v.load_us,
            prefill_us: v.prefill_us,
            decode_us: v.decode_us,
            ttft_us: v.ttft_us,
            peak_rss_kb: v.peak_rss_kb,
            output: v.output,
            phases: v.phases,
            outcome: v.outcome,
            cooldown_us: v.cooldown_us,
            energy,
            warmup,
            ..Self::blank(v.label, v.worker_pid, v.settings)
        }
    }
}

/// Run v2, `Record` index 5.
#[derive(Debug, Serialize, Deserialize)]
pub(in crate::record) struct RunV2 {
    run_id: u64,
    label: String,
    worker_pid: u32,
    model: Option<ModelInfo>,
    mmproj: Option<ModelInfo>,
    settings: RunSettings,
    image: Option<ImageRun>,
    prompt_tokens: u32,
    generated_tokens: u32,
    load_us: u64,
    prefill_us: u64,
    decode_us: u64,
    ttft_us: u64,
    peak_rss_kb: u64,
    output: String,
    phases: Vec<PhaseMark>,
    outcome: Outcome,
    cooldown_us: u64,
    energy: Option<MeasuredEnergy>,
    plan: String,
    workload: String,
    base_workload: Option<String>,
    warmup: bool,
    repetition: u32,
    schedule_index: u32,
    schedule_len: u32,
    cpu_backend: Option<String>,
    cooldown_capped: bool,
    idle_lead_in: Option<MonoWindow>,
}

impl From<&Run> for RunV2 {
    fn from(r: &Run) -> Self {
        let r = r.clone();
        Self {
            run_id: r.run_id,
            label: r.label,
            worker_pid: r.worker_pid,
            model: r.model,
            mmproj: r.mmproj,
            settings: r.settings,
            image: r.image,
            prompt_tokens: r.prompt_tokens,
            generated_tokens: r.generated_tokens,
            load_us: r.load_us,
            prefill_us: r.prefill_us,
            decode_us: r.decode_us,
            ttft_us: r.ttft_us,
            peak_rss_kb: r.peak_rss_kb,
            output: r.output,
            phases: r.phases,
            outcome: r.outcome,
            cooldown_us: r.cooldown_us,
            energy: r.energy,
            plan: r.plan,
            workload: r.workload,
            base_workload: r.base_workload,
            warmup: r.warmup,
            repetition: r.repetition,
            schedule_index: r.schedule_index,
            schedule_len: r.schedule_len,
            cpu_backend: r.cpu_backend,
            cooldown_capped: r.cooldown_capped,
            idle_lead_in: r.idle_lead_in,
        }
    }
}

impl From<RunV2> for Run {
    fn from(v: RunV2) -> Self {
        Self {
            run_id: v.run_id,
            label: v.label,
            worker_pid: v.worker_pid,
            model: v.model,
            mmproj: v.mmproj,
            settings: v.settings,
            image: v.image,
            prompt_tokens: v.prompt_tokens,
            generated_tokens: v.generated_tokens,
            load_us: v.load_us,
            prefill_us: v.prefill_us,
            decode_us: v.decode_us,
            ttft_us: v.ttft_us,
            peak_rss_kb: v.peak_rss_kb,
            output: v.output,
            phases: v.phases,
            outcome: v.outcome,
            cooldown_us: v.cooldown_us,
            energy: v.energy,
            plan: v.plan,
            workload: v.workload,
            base_workload: v.base_workload,
            warmup: v.warmup,
            repetition: v.repetition,
            schedule_index: v.schedule_index,
            schedule_len: v.schedule_len,
            cpu_backend: v.cpu_backend,
            cooldown_capped: v.cooldown_capped,
            idle_lead_in: v.idle_lead_in,
        }
    }
}
