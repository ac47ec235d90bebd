//! edgewatt measures what local LLM and VLM inference costs on a Raspberry Pi 5.
//!
//! The crate follows the data from the kernel to the report:
//! readers ([`sampler`]) → raw records ([`record`]) → on-disk store ([`store`]) →
//! the one way to read it back ([`logread`]) → derived values ([`derive`](mod@derive)) →
//! reports ([`report`]) → command line ([`cli`]).
//! Records hold raw counters in integer units; everything else is derived later, so
//! old logs can be re-analysed after a better calibration.
#![deny(clippy::all)]

pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod derive;
pub mod gguf;
#[cfg(feature = "llama")]
pub mod llama;
pub mod logread;
pub mod plan;
pub mod power;
pub mod record;
pub mod report;
pub mod sampler;
pub mod store;
pub mod synth;
