#!/usr/bin/env bash
# edgewatt's main job, short: on a fresh Debian machine, installs what it needs (apt packages,
# Rust, the SmolLM2 model), builds edgewatt (release), makes the F16 and low-bit variants of
# the model with `edgewatt quantize`, runs the demo plan (plans/demo.toml: an LLM token sweep
# on F16, Q4_1 and Q2_K, and a VLM resolution sweep) with the daemon sampling and logging, then
# `edgewatt report` over the log: the token law with CIs, the knee, the base-vs-compressed table,
# as text, markdown, JSON and one HTML page with charts. Output goes to ./demo/.
# EDGEWATT_BIN=path/to/edgewatt uses an already-built binary instead of the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_system
ensure_rust
scripts/fetch-model.sh
if [ -n "${EDGEWATT_BIN:-}" ]; then
    bin=$EDGEWATT_BIN
else
    cargo build --release --locked
    bin=target/release/edgewatt
fi
q41=models/SmolLM2-135M-Instruct.Q4_1.gguf
f16=models/SmolLM2-135M-Instruct.F16.gguf
q2k=models/SmolLM2-135M-Instruct.Q2_K.gguf
echo "== edgewatt quantize: the F16 base and the low-bit variant (cached in models/)"
# The F16 holds the Q4_1 weights (the only ones the demo fetches); Q2_K on SmolLM2 is a
# Q3_K/Q4_0 mix (its rows do not fit the k-quants' blocks): see README's quantize section.
[ -f "$f16" ] || "$bin" quantize "$q41" "$f16" --type F16 --allow-requantize
# (one fallback warning per tensor: kept in models/quantize-q2_k.log)
[ -f "$q2k" ] || "$bin" quantize "$f16" "$q2k" --type Q2_K 2> models/quantize-q2_k.log \
    || { cat models/quantize-q2_k.log >&2; exit 1; }
out=demo
rm -rf "$out"; mkdir -p "$out"
cat > "$out/edgewatt.toml" <<TOML
state_dir = "$PWD/$out/state"
[sampler]
rate_hz = 10
[power]
# An INA219 or the Pi 5 PMIC when present; elsewhere runs get no measured energy.
source = "auto"
TOML
echo "== edgewatt bench plans/demo.toml (sampling at 10 Hz, logging to $out/state)"
"$bin" bench plans/demo.toml --config "$out/edgewatt.toml" | tee "$out/summary.md"
echo "== edgewatt inspect"
"$bin" inspect --config "$out/edgewatt.toml" | tee "$out/inspect.txt"
"$bin" dump --config "$out/edgewatt.toml" --type run --format jsonl > "$out/runs.jsonl"
echo "== edgewatt report"
"$bin" report --config "$out/edgewatt.toml" --format markdown --output "$out/report.md"
"$bin" report --config "$out/edgewatt.toml" --format json --output "$out/report.json"
"$bin" report --config "$out/edgewatt.toml" --format html --output "$out/report.html"
"$bin" report --config "$out/edgewatt.toml" --format text | tee "$out/report.txt"
echo "== written: $out/summary.md, $out/report.{txt,md,json,html} (open report.html in a browser),"
echo "   $out/runs.jsonl ($(wc -l < "$out/runs.jsonl") runs), the log in $out/state"
