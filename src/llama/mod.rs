//! llama.cpp workloads (feature `llama`): LLM and VLM runs in a supervised worker process.
//!
//! - [`Supervisor`] (daemon side) spawns `edgewatt worker`, sends [`Job`]s as framed
//!   messages, enforces a time limit and turns a crash into a failed [`Run`].
//! - [`worker_main`] (child side) loads models through `llama-cpp-2` (+ `mtmd` for
//!   vision projectors), builds prompts of an exact token count from a corpus, generates
//!   greedily, and reports measurements and phase marks on CLOCK_MONOTONIC.
//!
//! - [`quantize`] makes a compressed (or an F16) variant of a model with llama.cpp's own
//!   quantizer, for `edgewatt quantize`.
//!
//! [`Run`]: crate::record::Run

mod bench;
mod cooldown;
mod engine;
mod infer;
mod job;
mod logs;
mod prompt;
mod quantize;
mod supervisor;
#[cfg(test)]
mod tests;
mod worker;

pub use bench::job_for;
pub use cooldown::wait_for_cooldown;
pub use cooldown::wait_for_cooldown_with;
pub use cooldown::CooldownWait;
pub use cooldown::CpuStat;
pub use cooldown::COOLDOWN_WINDOW;
pub use job::read_frame;
pub use job::write_frame;
pub use job::FrameError;
pub use job::ImageSource;
pub use job::Job;
pub use job::Prompt;
pub use job::Reply;
pub use job::Request;
pub use prompt::noise_rgb;
pub use prompt::BUILTIN_CORPUS;
pub use prompt::BUILTIN_CORPUS_NAME;
pub use quantize::file_type;
pub use quantize::quantize;
pub use quantize::valid_types;
pub use quantize::QuantizeError;
pub use quantize::QuantizeOptions;
pub use quantize::Quantized;
pub use supervisor::signal_name;
pub use supervisor::OnSpawn;
pub use supervisor::Supervisor;
pub use supervisor::STDERR_TAIL_LINES;
pub use worker::worker_main;
