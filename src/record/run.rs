//! Run records: one inference workload, what it was, what it cost, how it ended.
//!
//! Times are integer µs; phase boundaries are CLOCK_MONOTONIC µs, the clock of the
//! samples, so CPU/RAM AUC and energy can be split per phase. Rates (tokens/s) are derived.

use serde::Deserialize;
use serde::Serialize;

use crate::gguf::ModelInfo;

/// A phase of a run. Append only: variant indices are on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunPhase {
    /// Loading the model(s) (if not kept loaded) and creating the context.
    Load,
    /// Decoding, resizing and tokenizing the image and the text (VLM runs).
    Preprocess,
    /// Evaluating the prompt (text tokens, and image embeddings for VLM runs).
    Prefill,
    /// Encoding an image through the vision projector.
    Encode,
    /// Generating tokens one by one.
    Decode,
    /// End of the run: the last phase ends here.
    Done,
}

/// A phase starts at `mono_us` and lasts until the next mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseMark {
    pub phase: RunPhase,
    /// CLOCK_MONOTONIC, µs.
    pub mono_us: u64,
}

/// The settings a run was made with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSettings {
    pub threads: u32,
    pub n_ctx: u32,
    pub n_batch: u32,
    pub seed: u32,
    /// Prompt length asked for, in tokens.
    pub prompt_tokens: u32,
    /// Tokens to generate (fewer if the model ends the text).
    pub gen_tokens: u32,
    /// The model was loaded once and kept (`true`) or loaded for this run (`false`).
    pub keep_loaded: bool,
    /// mtmd clamp on image tokens; -1 = the projector's default.
    pub image_min_tokens: i32,
    pub image_max_tokens: i32,
}

/// The image side of a VLM run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRun {
    /// `synthetic:WxH:seed` or the file path.
    pub source: String,
    pub width: u32,
    pub height: u32,
    /// Tokens the projector produced for the image.
    pub image_tokens: u32,
    /// Image decode, resize and prompt tokenization.
    pub preprocess_us: u64,
    pub encode_us: u64,
}

/// Why a run failed. Carried across the worker boundary and stored as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum RunError {
    #[error("{path}: {message}")]
    ModelFile { path: String, message: String },
    #[error("{path}: llama.cpp could not load it: {log}")]
    ModelLoad { path: String, log: String },
    #[error(
        "{mmproj}: clip.vision.projection_dim = {projection_dim} does not match the text model \
         {model} (embedding_length = {n_embd}); use a projector made for that model"
    )]
    ProjectorMismatch {
        mmproj: String,
        projection_dim: u64,
        model: String,
        n_embd: u64,
    },
    #[error("{path}: mtmd could not load the projector: {log}")]
    ProjectorLoad { path: String, log: String },
    #[error("{image}: cannot use the image: {message}")]
    Image { image: String, message: String },
    #[error(
        "context too small: n_ctx = {n_ctx} < {needed} tokens needed ({image_tokens} image + \
         {prompt_tokens} prompt + {gen_tokens} generated); raise n_ctx or lower image_max_tokens"
    )]
    ContextTooSmall {
        n_ctx: u32,
        needed: u64,
        image_tokens: u32,
        prompt_tokens: u32,
        gen_tokens: u32,
    },
    #[error("{corpus}: {requested} prompt tokens asked for, the corpus has only {available} with this model's tokenizer")]
    CorpusTooShort {
        corpus: String,
        requested: u32,
        available: u32,
    },
    #[error("{path}: cannot read the corpus: {message}")]
    Corpus { path: String, message: String },
    #[error("job key {key}: {message}")]
    BadJob { key: String, message: String },
    #[error("inference failed in {stage}: {message}")]
    Inference { stage: String, message: String },
    #[error("the worker died ({status}); last stderr lines: {stderr_tail:?}")]
    WorkerDied {
        /// `exit code N` or `signal N (NAME)`.
        status: String,
        exit_code: Option<i32>,
        signal: Option<i32>,
        stderr_tail: Vec<String>,
    },
    #[error("the run exceeded its time limit of {limit_ms} ms and the worker was killed")]
    TimedOut { limit_ms: u64 },
    #[error("cannot talk to the worker: {message}")]
    Protocol { message: String },
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Ok,
    Failed(RunError),
}

/// One inference run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// Increases by one per run of a supervisor.
    pub run_id: u64,
    /// What the run is part of (plan and workload name), free text.
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
    pub energy: Option<crate::derive::energy::RunEnergy>,
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
        }
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
mod tests {
    use super::*;
    use crate::record::Record;

    fn sample_run() -> Run {
        Run {
            run_id: 3,
            label: "demo/llm-64".into(),
            worker_pid: 4242,
            model: None,
            mmproj: None,
            settings: RunSettings {
                threads: 2,
                n_ctx: 4096,
                n_batch: 512,
                seed: 42,
                prompt_tokens: 64,
                gen_tokens: 16,
                keep_loaded: true,
                image_min_tokens: -1,
                image_max_tokens: 256,
            },
            image: Some(ImageRun {
                source: "synthetic:448x448:7".into(),
                width: 448,
                height: 448,
                image_tokens: 256,
                preprocess_us: 5_000,
                encode_us: 90_000,
            }),
            prompt_tokens: 64,
            generated_tokens: 16,
            load_us: 1_000,
            prefill_us: 160_000,
            decode_us: 400_000,
            ttft_us: 250_000,
            peak_rss_kb: 123_456,
            output: "hello".into(),
            phases: vec![
                PhaseMark {
                    phase: RunPhase::Load,
                    mono_us: 10,
                },
                PhaseMark {
                    phase: RunPhase::Done,
                    mono_us: 20,
                },
            ],
            outcome: Outcome::Failed(RunError::TimedOut { limit_ms: 5 }),
            cooldown_us: 0,
            energy: None,
        }
    }

    #[test]
    fn rates_are_tokens_over_phase_time() {
        let run = sample_run();
        // (64 + 256) tokens in 0.16 s; 16 tokens in 0.4 s.
        assert!((run.prefill_tokens_per_s() - 2000.0).abs() < 1e-9);
        assert!((run.decode_tokens_per_s() - 40.0).abs() < 1e-9);
        assert_eq!(run.phase_start_us(RunPhase::Done), Some(20));
        assert_eq!(run.phase_start_us(RunPhase::Decode), None);
        assert!(!run.is_ok());
    }

    #[test]
    fn a_run_record_round_trips_through_postcard() {
        let rec = Record::Run(Box::new(sample_run()));
        let bytes = postcard::to_stdvec(&rec).unwrap();
        assert_eq!(postcard::from_bytes::<Record>(&bytes).unwrap(), rec);
        assert_eq!(rec.type_name(), "run");
    }
}
