//! Run records: one inference workload, what it was, what it cost, how it ended.
//!
//! Times are integer µs; phase boundaries are CLOCK_MONOTONIC µs, the clock of the
//! samples, so CPU/RAM AUC and energy can be split per phase. Rates (tokens/s) are derived.
//!
//! [`Run`] is the one in-memory shape. On disk (the `wire` module) it has had two shapes:
//! Run v1 (`Record` index 4), read and migrated, never written any more; and Run v2
//! (index 5), what is written now. A later shape will be a new variant again.

use serde::Deserialize;
use serde::Serialize;

mod energy;
mod parts;
pub(super) mod wire;

pub use energy::EnergyBaseline;
pub use energy::EnergyIntegration;
pub use energy::EnergyWindow;
pub use energy::MeasuredEnergy;
pub use energy::MonoWindow;
pub use energy::TokenCounts;

pub use parts::ImageRun;
pub use parts::ModelInfo;
pub use parts::Outcome;
pub use parts::PhaseMark;
pub use parts::RunError;
pub use parts::RunPhase;
pub use parts::RunSettings;

/// One inference run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// Increases by one per run of a supervisor.
    pub run_id: u64,
    /// The case it ran: `workload/ppN/tgM/tT[/image][/clamps]`, `#warmup` appended for a
    /// warm-up (free text outside a plan).
    pub label: String,
    /// Process id of the worker that ran it (0 if none started).
    pub worker_pid: u32,
    /// Identity of the text model; `None` if the file could not be read.
    pub model: Option<ModelInfo>,
    pub mmproj: Option<ModelInfo>,
    pub settings: RunSettings,
    pub image: Option<ImageRun>,
    /// Text tokens evaluated in the prompt.
    pub prompt_tokens: u32,
    pub generated_tokens: u32,
    pub load_us: u64,
    /// Prompt evaluation; image preprocessing and encoding excluded.
    pub prefill_us: u64,
    pub decode_us: u64,
    /// From the start of preprocessing (VLM) or prefill to the first generated token.
    pub ttft_us: u64,
    /// Peak resident set of the worker during the run (VmHWM), kB.
    pub peak_rss_kb: u64,
    pub output: String,
    pub phases: Vec<PhaseMark>,
    pub outcome: Outcome,
    /// Time spent waiting for the cooldown before the run, µs (0 without one).
    pub cooldown_us: u64,
    /// Measured energy over the run and its phases, with its source, coverage and idle
    /// baseline; `None` without a power source.
    pub energy: Option<MeasuredEnergy>,
    // Since Run v2. A run read from a v1 record has them at their "unknown" values: empty
    // `plan` and `workload`, `repetition`, `schedule_index` and `schedule_len` 0, no base
    // workload, backend or lead-in, `cooldown_capped` false; `warmup` from the label.
    /// Name of the plan the run is part of; empty outside a plan (and from a v1 record).
    pub plan: String,
    /// The plan's workload that made the run; empty as `plan`.
    pub workload: String,
    /// The workload this one is the compressed variant of (a lower-bit or smaller model of
    /// the same family): the analysis pairs them by it.
    pub base_workload: Option<String>,
    /// A warm-up run, not a measured one (its label also ends in `#warmup`).
    pub warmup: bool,
    /// 0-based repetition of its case (warm-ups and measured runs counted apart).
    pub repetition: u32,
    /// 0-based position of the run in its plan's schedule (warm-ups first, then the
    /// measured runs, shuffled if the plan says so), and the schedule's length.
    pub schedule_index: u32,
    pub schedule_len: u32,
    /// The ggml CPU kernel variant that ran it (e.g. a dotprod build or the armv8.0
    /// baseline); `None`: unknown.
    pub cpu_backend: Option<String>,
    /// The cooldown before the run ended by its cap (`max_wait_s`), not by a quiet machine:
    /// its wait is no idle baseline.
    pub cooldown_capped: bool,
    /// The plan's idle lead-in before its first run (CLOCK_MONOTONIC): the idle baseline
    /// of the plan's runs; `None` outside a plan.
    pub idle_lead_in: Option<MonoWindow>,
}

impl Run {
    /// A finished text run for tests: `prompt` and `generated` tokens, worker `pid`, phases
    /// as `(phase, CLOCK_MONOTONIC µs)` marks.
    #[cfg(test)]
    pub(crate) fn for_test(
        pid: u32,
        prompt: u32,
        generated: u32,
        phases: &[(RunPhase, u64)],
    ) -> Self {
        let settings = RunSettings {
            threads: 2,
            n_ctx: 512,
            n_batch: 512,
            seed: 1,
            prompt_tokens: prompt,
            gen_tokens: generated,
            keep_loaded: true,
            image_min_tokens: -1,
            image_max_tokens: -1,
        };
        Self {
            prompt_tokens: prompt,
            generated_tokens: generated,
            phases: phases
                .iter()
                .map(|&(phase, mono_us)| PhaseMark { phase, mono_us })
                .collect(),
            ..Self::blank("t".into(), pid, settings)
        }
    }
}

impl Run {
    /// A run that has not measured anything yet: zero counts and times, no phases,
    /// outcome `Ok` until something fails.
    #[must_use]
    pub fn blank(label: String, worker_pid: u32, settings: RunSettings) -> Self {
        Self {
            run_id: 0,
            label,
            worker_pid,
            model: None,
            mmproj: None,
            settings,
            image: None,
            prompt_tokens: 0,
            generated_tokens: 0,
            load_us: 0,
            prefill_us: 0,
            decode_us: 0,
            ttft_us: 0,
            peak_rss_kb: 0,
            output: String::new(),
            phases: Vec::new(),
            outcome: Outcome::Ok,
            cooldown_us: 0,
            energy: None,
            plan: String::new(),
            workload: String::new(),
            base_workload: None,
            warmup: false,
            repetition: 0,
            schedule_index: 0,
            schedule_len: 0,
            cpu_backend: None,
            cooldown_capped: false,
            idle_lead_in: None,
        }
    }

    /// First to last phase mark, s; `None` without phase marks.
    #[must_use]
    pub fn duration_s(&self) -> Option<f64> {
        let (first, last) = (self.phases.first()?, self.phases.last()?);
        Some(last.mono_us.saturating_sub(first.mono_us) as f64 / 1e6)
    }

    /// Prompt tokens per second (image tokens included for VLM runs).
    #[must_use]
    pub fn prefill_tokens_per_s(&self) -> f64 {
        let image = self.image.as_ref().map_or(0, |i| i.image_tokens);
        rate(u64::from(self.prompt_tokens + image), self.prefill_us)
    }

    /// Generated tokens per second over the decode phase.
    #[must_use]
    pub fn decode_tokens_per_s(&self) -> f64 {
        rate(u64::from(self.generated_tokens), self.decode_us)
    }

    #[must_use]
    pub const fn is_ok(&self) -> bool {
        matches!(self.outcome, Outcome::Ok)
    }

    /// Start of the first mark of `phase`, if any.
    #[must_use]
    pub fn phase_start_us(&self, phase: RunPhase) -> Option<u64> {
        self.phases
            .iter()
            .find(|m| m.phase == phase)
            .map(|m| m.mono_us)
    }
}

fn rate(n: u64, us: u64) -> f64 {
    if us == 0 {
        0.0
    } else {
        n as f64 * 1e6 / us as f64
    }
}

#[cfg(test)]
mod tests;
