//! Reports made from the log: the llama-bench-like tables of `edgewatt bench` (speed per
//! case; CPU, RAM and energy cost per case) over the runs and samples a daemon session
//! logged. Presentation lives here, not in the workload runner, so any log can be reported
//! again afterwards, with the same numbers.
//!
//! - [`speed_table`]: per case, model, size, ok/runs, prefill and decode tokens/s (mean ±
//!   sample sd), image tokens, encode ms, peak RSS.
//! - [`cost_table`]: per case, worker CPU s and RSS MB·s, machine CPU %·s and RAM MB·s
//!   above idle, measured energy (net J, J per generated token, coverage, source).
//! - [`estimate_table`]: per case, the energy a calibration estimates for the runs
//!   without trusted measured energy, labelled `estimate:<calibration id>`; never averaged
//!   with the measured figures.
//! - [`BenchLog`]: the runs of one session read back from the log, with the CPU/RAM cost
//!   of each from the samples around it ([`crate::derive::runs::run_usage`]).

mod bench;
mod estimate;
pub mod laws;
pub mod render;
mod tables;

pub use bench::BenchLog;
pub use estimate::estimate_table;
pub use tables::cost_table;
pub use tables::speed_table;

#[cfg(test)]
mod tests;
