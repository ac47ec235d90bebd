#!/bin/sh
# Prefill and decode tokens/s of this tree (ggml CPU kernels chosen at load time) against
# an earlier revision of edgewatt (default: the last with llama.cpp linked statically, its
# x86 kernels fixed at AVX2), on SmolLM2-135M-Instruct Q4_1: same threads, n_ctx, n_batch,
# prompt, generated tokens, greedy, interleaved runs in one run (compare/ab_speed.py).
#
# Usage: compare/backend_speed.sh [--threads 2] [--reps 8] [--gen-tokens 64] [--prompt-chars 600]
# Env: BEFORE_REV (git revision of the "before" side), EDGEWATT_PROFILE=release|dev (both
#      sides; llama.cpp is built -O3 Release in both). The "before" revision is exported
#      to target/before/src and built in target/before/build (a fresh llama.cpp: minutes).
set -eu
cd "$(dirname "$0")/.."
before_rev="${BEFORE_REV:-e515547}"
profile="${EDGEWATT_PROFILE:-release}"
model=models/SmolLM2-135M-Instruct.Q4_1.gguf
[ -f "$model" ] || scripts/fetch-model.sh >&2
if [ "$profile" = dev ]; then flag=""; dir=debug; else flag="--$profile"; dir="$profile"; fi

src=target/before/src
rev="$(git rev-parse --verify "$before_rev^{commit}")"
if [ "$(cat "$src/.rev" 2>/dev/null)" != "$rev" ]; then
    rm -rf "$src"
    mkdir -p "$src"
    git archive "$rev" | tar -x -C "$src"
    echo "$rev" > "$src/.rev"
fi
(cd "$src" && CARGO_TARGET_DIR=../build nice -n 10 cargo build -q --locked $flag --example llm_speed)
nice -n 10 cargo build -q --locked $flag --example llm_speed

exec python3 compare/ab_speed.py --model "$model" \
    --a "before=target/before/build/$dir/examples/llm_speed" \
    --b "after=target/$dir/examples/llm_speed" "$@"
