//! The parts of a Run record: phases, settings, the image, the models, how it ended.
//! Each is a struct or enum on disk: never changed, only appended to (enums).

use serde::Deserialize;
use serde::Serialize;

/// Who a model is, for Run records: from the GGUF header plus a hash of the whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub path: String,
    /// `general.name`, if set.
    pub name: Option<String>,
    /// `general.architecture` (`llama`, `clip`, …).
    pub architecture: String,
    /// `general.file_type`, if set.
    pub file_type: Option<u32>,
    /// Name of the file type, or of the type holding most bytes when `file_type` is absent.
    pub quantization: String,
    /// Elements of all tensors.
    pub param_count: u64,
    pub file_size_bytes: u64,
    /// sha256 of the whole file, lowercase hex.
    pub sha256: String,
}

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

impl RunPhase {
    /// Lower-case name, as in text output.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Load => "load",
            Self::Preprocess => "preprocess",
            Self::Prefill => "prefill",
            Self::Encode => "encode",
            Self::Decode => "decode",
            Self::Done => "done",
        }
    }
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
