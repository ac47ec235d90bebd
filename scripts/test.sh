#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs what it needs (apt packages,
# Rust, the SmolLM2 test model), then runs every unit, integration and doc test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_system
ensure_rust
if [ -x scripts/fetch-model.sh ]; then scripts/fetch-model.sh; fi
ensure_s3_server
cargo test --locked "$@"
