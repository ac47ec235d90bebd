#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs what it needs (apt packages,
# Rust, the SmolLM2 test model, duckdb and pyarrow in a venv), then runs every unit,
# integration and doc test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_system
ensure_rust
ensure_test_python
if [ -x scripts/fetch-model.sh ]; then scripts/fetch-model.sh; fi
# The dev profile, as clippy: `cargo test` alone uses the test profile, whose build-script
# units differ, and would build llama.cpp's CPU variants a second time.
cargo test --locked --profile dev "$@"
