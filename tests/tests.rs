//! Integration tests: one binary, one module per area.

mod analysis;
mod calibrate;
mod cli;
mod cli_options;
mod common;
mod config_check;
mod derive;
mod disk;
mod export;
mod faults;
mod kill;
mod layout;
#[cfg(feature = "llama")]
mod llama;
mod log_v1;
mod metrics;
#[cfg(all(target_os = "linux", feature = "llama"))]
mod packaging;
mod power_faults;
mod power_log;
mod power_registry;
mod power_sources;
mod reload;
mod report;
mod sampler;
mod store;
mod systemd;
mod threads;
mod upload;
