//! edgewatt measures what local LLM and VLM inference costs on a Raspberry Pi 5.
//!
//! The crate follows the data from the kernel to the report (ARCHITECTURE.md has the
//! dependency rules). Records hold raw counters in integer units; everything else is derived
//! later, so old logs can be re-analysed after a better calibration.
//!
//! Foundations:
//! - [`clock`]: CLOCK_MONOTONIC µs and the wall-clock anchors that date it.
//! - [`config`]: the TOML configuration, defaults in one place, errors at `file:line:column`.
//!
//! Readers, which make records:
//! - [`sampler`]: `/proc` and `/sys` (CPU ticks, memory, tracked processes, temperature,
//!   frequency, throttling) at a fixed rate, from injectable roots.
//! - [`power`]: measured power from the registered sources (INA219, Pi 5 PMIC, RAPL, replay)
//!   on a thread of its own.
//! - [`plan`]: plan files: the workloads to run and when.
//! - [`llama`] (feature `llama`): llama.cpp workloads in a supervised worker process.
//! - [`gguf`]: reading, writing and generating GGUF files (tiny test models, projectors).
//! - [`synth`]: seeded synthetic traces for tests and benchmarks.
//! - [`digest`]: SHA-256 streamed through a copy, and hex (a model's identity, uploads).
//!
//! Records, stored and read back:
//! - [`record`]: the record types and their codecs, as they are on disk (frozen).
//! - [`store`]: segment files of COBS+CRC frames: writing, rotation, retention, recovery.
//! - [`logread`]: the one way to read a log back (a segment, a state directory, a fleet's
//!   directories), under one rule for boots, anchors and damage.
//!
//! Derived and shown:
//! - [`derive`](mod@derive): rates, baselines, areas under the curve, energy.
//! - [`cost`]: the cost of each run (and idle lead-in), derived in one place from the log:
//!   the rows bench, export, calibrate and the report read.
//! - [`estimate`]: the energy estimate from CPU/RAM AUC, its calibration file, and the fit
//!   `calibrate` makes (least squares, k-fold cross-validation, PMIC→INA219 mapping).
//! - [`export`]: the cost rows and the samples as CSV, JSON lines and Parquet
//!   (docs/EXPORT.md).
//! - [`analysis`]: the statistics of the laws (line, knee, ratios, estimate errors) and
//!   their SVG charts; pure functions over `f64` slices.
//! - [`report`]: bench's tables, and the report: laws, knee, base vs compressed, estimate
//!   errors, as text, markdown, JSON and one HTML page with SVG charts.
//! - [`daemon`]: `edgewatt run`: the sampling loop, the power tap, the plans, the store,
//!   the upload thread.
//! - [`status`]: `edgewatt status`: a state directory's health, read without its lock.
//! - [`metrics`]: the daemon's Prometheus endpoint (what it sees now, over HTTP).
//!
//! Shipped:
//! - [`upload`]: sealed segments to S3-compatible storage, idempotent and resumable, with
//!   the manifest retention consults.
//! - [`cli`]: the command line, one module per subcommand.
#![deny(clippy::all)]

pub mod analysis;
pub mod cli;
pub mod clock;
pub mod config;
pub mod cost;
pub mod daemon;
pub mod derive;
pub mod digest;
pub mod estimate;
pub mod export;
pub mod gguf;
#[cfg(feature = "llama")]
pub mod llama;
pub mod logread;
pub mod metrics;
pub mod plan;
pub mod power;
pub mod record;
pub mod report;
pub mod sampler;
pub mod status;
pub mod store;
pub mod synth;
pub mod upload;
