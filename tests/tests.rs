//! Integration tests: one binary, one module per area.

mod cli;
mod common;
mod derive;
mod kill;
mod sampler;
mod power_faults;
mod power_sources;
