#!/bin/sh
# Decode tokens/s with edgewatt's 10 Hz sampler on vs off (ABBA-alternated runs of the
# same supervised llama.cpp worker, in one process), printing the means, spread and the
# slowdown. See examples/sampler_overhead.rs.
# The effect at 10 Hz is below run-to-run noise on a shared VM; each tick costs the same
# sampler CPU, so the slowdown scales with the rate: measure at --rate-hz 100 and divide by
# ten to resolve it (use --threads = all cores: the sampler then has to preempt llama.cpp).
#
# Usage: scripts/sampler_overhead.sh [--threads 1] [--pairs 12] [--gen-tokens 256] [--rate-hz 10]
# Env: EDGEWATT_PROFILE=release|dev (cargo profile of the example; llama.cpp is -O3 in both).
set -eu
cd "$(dirname "$0")/.."
profile="${EDGEWATT_PROFILE:-release}"
model=models/SmolLM2-135M-Instruct.Q4_1.gguf
[ -f "$model" ] || scripts/fetch-model.sh >&2
if [ "$profile" = dev ]; then flag=""; dir=debug; else flag="--$profile"; dir="$profile"; fi
cargo build -q $flag --example sampler_overhead
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg); example built with profile $profile"
exec "target/$dir/examples/sampler_overhead" "$model" "$@"
