//! Integration tests: one binary, one module per area.
mod power_faults;
mod power_sources;
