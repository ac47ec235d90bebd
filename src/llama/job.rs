//! Jobs and the framed messages between the supervisor and the worker.
//!
//! A frame is a u32 little-endian length, then that many bytes of JSON. The worker
//! writes frames to its original stdout; llama.cpp's own stdout output is redirected
//! to stderr so it cannot corrupt the stream.

use std::io::Read;
use std::io::Write;
use std::path::PathBuf;

use serde::Deserialize;
use serde::Serialize;

use crate::record::PhaseMark;
use crate::record::Run;
use crate::record::RunSettings;

/// Largest frame accepted (a Run with a long output text is a few kB).
pub const MAX_FRAME_BYTES: u32 = 16 << 20;

/// Where the prompt comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Prompt {
    /// The first `tokens` tokens of a corpus (the built-in one if `path` is `None`),
    /// BOS included when the model adds one.
    Corpus { path: Option<PathBuf>, tokens: u32 },
    /// This text, tokenized as is.
    Text(String),
}

/// The image of a VLM run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageSource {
    /// A seeded noise image of `width`×`height` RGB pixels.
    Synthetic { width: u32, height: u32, seed: u64 },
    /// An image file (PNG, JPEG, BMP, PNM, … as stb_image reads them).
    File(PathBuf),
}

impl ImageSource {
    /// How the image is named in records and errors.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Synthetic {
                width,
                height,
                seed,
            } => format!("synthetic:{width}x{height}:{seed}"),
            Self::File(p) => p.display().to_string(),
        }
    }
}

/// One run for the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub label: String,
    /// Where the run comes from, copied into its Run: the plan, its workload and the
    /// workload's base, warm-up or measured, the repetition of the case (empty, `None`,
    /// `false` and 0 outside a plan).
    pub plan: String,
    pub workload: String,
    pub base_workload: Option<String>,
    pub warmup: bool,
    pub repetition: u32,
    pub model: PathBuf,
    /// Vision projector; a VLM run when set together with `image`.
    pub mmproj: Option<PathBuf>,
    pub image: Option<ImageSource>,
    pub prompt: Prompt,
    pub threads: u32,
    pub n_ctx: u32,
    pub n_batch: u32,
    pub seed: u32,
    pub gen_tokens: u32,
    /// Generate all `gen_tokens` even past an end-of-text token (as llama-bench does),
    /// so every run decodes the same count.
    pub ignore_eog: bool,
    /// Keep the model (and projector) loaded for later jobs, or load them for this one.
    pub keep_loaded: bool,
    pub image_min_tokens: i32,
    pub image_max_tokens: i32,
}

impl Job {
    /// A text job with the defaults: 2 threads, n_ctx 4096, n_batch 512, seed 42,
    /// 64 corpus tokens, 16 generated (end of text ignored), model kept loaded, projector clamps at default.
    #[must_use]
    pub fn text(model: impl Into<PathBuf>) -> Self {
        Self {
            label: String::new(),
            plan: String::new(),
            workload: String::new(),
            base_workload: None,
            warmup: false,
            repetition: 0,
            model: model.into(),
            mmproj: None,
            image: None,
            prompt: Prompt::Corpus {
                path: None,
                tokens: 64,
            },
            threads: 2,
            n_ctx: 4096,
            n_batch: 512,
            seed: 42,
            gen_tokens: 16,
            ignore_eog: true,
            keep_loaded: true,
            image_min_tokens: -1,
            image_max_tokens: -1,
        }
    }

    /// The Run record of this job before it ran, by worker `worker_pid`: what it is
    /// (label, settings, plan, workload, warm-up, repetition), nothing measured yet.
    #[must_use]
    pub fn blank_run(&self, worker_pid: u32) -> Run {
        Run {
            plan: self.plan.clone(),
            workload: self.workload.clone(),
            base_workload: self.base_workload.clone(),
            warmup: self.warmup,
            repetition: self.repetition,
            ..Run::blank(self.label.clone(), worker_pid, self.settings())
        }
    }

    /// The settings part of a Run record.
    #[must_use]
    pub fn settings(&self) -> RunSettings {
        RunSettings {
            threads: self.threads,
            n_ctx: self.n_ctx,
            n_batch: self.n_batch,
            seed: self.seed,
            prompt_tokens: match &self.prompt {
                Prompt::Corpus { tokens, .. } => *tokens,
                Prompt::Text(_) => 0,
            },
            gen_tokens: self.gen_tokens,
            keep_loaded: self.keep_loaded,
            image_min_tokens: self.image_min_tokens,
            image_max_tokens: self.image_max_tokens,
        }
    }
}

/// Supervisor → worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    Run(Box<Job>),
    /// Exit cleanly.
    Shutdown,
}

/// Worker → supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The worker is up and waits for jobs.
    Ready { pid: u32 },
    /// A phase of the current run began (sent as it happens).
    Phase(PhaseMark),
    /// The run ended, well or not.
    Done(Box<Run>),
}

/// Framing errors.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the other side closed the pipe")]
    Closed,
    #[error("pipe I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME_BYTES}")]
    TooBig(u32),
    #[error("frame is not a valid message: {0}")]
    Json(#[from] serde_json::Error),
}

/// Writes one frame and flushes.
pub fn write_frame<T: Serialize>(w: &mut impl Write, msg: &T) -> Result<(), FrameError> {
    let body = serde_json::to_vec(msg)?;
    let len = u32::try_from(body.len()).map_err(|_| FrameError::TooBig(u32::MAX))?;
    if len > MAX_FRAME_BYTES {
        return Err(FrameError::TooBig(len));
    }
    w.write_all(&len.to_le_bytes())?;
    w.write_all(&body)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame; [`FrameError::Closed`] on a clean end of stream before a frame.
pub fn read_frame<T: for<'de> Deserialize<'de>>(r: &mut impl Read) -> Result<T, FrameError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_le_bytes(len);
    if len > MAX_FRAME_BYTES {
        return Err(FrameError::TooBig(len));
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body)?;
    Ok(serde_json::from_slice(&body)?)
}
