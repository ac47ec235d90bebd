//! llama.cpp workloads.
