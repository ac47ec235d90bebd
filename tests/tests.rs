//! Integration tests: one binary, one module per area.

#[cfg(feature = "llama")]
mod llama;
