#!/usr/bin/env bash
# edgewatt's main job, short: on a fresh Debian machine, installs what it needs (apt packages,
# Rust, the SmolLM2 model, matplotlib in a venv), builds edgewatt (release), and runs the demo
# plan (plans/demo.toml: an LLM token sweep and a VLM resolution sweep) with the daemon
# sampling and logging; then the summary, the report and its plots. Output goes to ./demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_system
ensure_rust
scripts/fetch-model.sh
cargo build --release --locked
bin=target/release/edgewatt
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
"$bin" dump --config "$out/edgewatt.toml" --format jsonl > "$out/records.jsonl"
venv=target/demo-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import matplotlib" 2>/dev/null || "$venv/bin/pip" install --quiet matplotlib
echo "== report"
"$venv/bin/python" scripts/plot_runs.py "$out/runs.jsonl" "$out"
echo "== written: $out/summary.md, $out/report.md, $out/token_law.png, $out/knee.png,"
echo "   $out/runs.jsonl ($(wc -l < "$out/runs.jsonl") runs), $out/records.jsonl ($(wc -l < "$out/records.jsonl") records)"
