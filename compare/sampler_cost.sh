#!/bin/sh
# CPU per tick of `edgewatt run` (daemon + a decoding worker tracked) against the floor
# (one pread per file) and a psutil sampler, at 10 and 100 Hz, in one run; see
# compare/sampler_cost.py. Builds the release binaries (edgewatt, examples/sampler_floor),
# fetches the model and installs psutil if needed. Exit status 1: daemon/floor above 1.5.
# With --decode-pairs N, also decode tokens/s with a sampler thread on vs off (N ABBA pairs
# per rate; examples/decode_slowdown).
#
# With --metrics the daemon serves its Prometheus endpoint too, scraped every --scrape-s (15).
#
# Usage: compare/sampler_cost.sh [--rates 10,100] [--seconds 60] [--decode-pairs 30] [--metrics] [--json FILE]
set -eu
cd "$(dirname "$0")/.."
python3 -c 'import psutil' 2>/dev/null || python3 -m pip install --user psutil >&2
[ -f models/SmolLM2-135M-Instruct.Q4_1.gguf ] || scripts/fetch-model.sh >&2
cargo build -q --release --bin edgewatt --example sampler_floor --example decode_slowdown >&2
exec python3 compare/sampler_cost.py "$@"
