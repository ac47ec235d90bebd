#!/usr/bin/env bash
# edgewatt's main job, short: on a fresh Debian machine, installs what it needs, builds
# edgewatt (release), samples and logs this machine for a few seconds, then shows what
# was logged (inspect, dump). Output goes to ./demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/setup.sh
ensure_system
ensure_rust
cargo build --release --locked
bin=target/release/edgewatt
out=demo
rm -rf "$out"; mkdir -p "$out"
cat > "$out/edgewatt.toml" <<TOML
state_dir = "$PWD/$out/state"
[sampler]
rate_hz = 10
cost_report_interval_s = 2
[store]
fsync_interval_ms = 1000
TOML
echo "== sampling this machine for 5 s at 10 Hz (edgewatt run)"
"$bin" run --config "$out/edgewatt.toml" --duration-s 5
echo "== edgewatt inspect"
"$bin" inspect --config "$out/edgewatt.toml" | tee "$out/inspect.txt"
echo "== edgewatt dump (first samples and all events)"
"$bin" dump --config "$out/edgewatt.toml" --format jsonl > "$out/records.jsonl"
grep '"type":"sample"' "$out/records.jsonl" | head -n 2
"$bin" dump --config "$out/edgewatt.toml" --type event
echo "== written: $out/records.jsonl ($(wc -l < "$out/records.jsonl") records), $out/inspect.txt"
