#!/usr/bin/env bash
# Checks the aarch64 build (cross/build-aarch64.sh) without a Pi, under qemu-aarch64 user
# emulation, as CI does:
#
# 1. the unit tests, built for aarch64 (release profile, so llama.cpp is the build that
#    ships) and run as a Cortex-A76;
# 2. one real inference on SmolLM2 (`edgewatt bench cross/qemu-plan.toml`: daemon,
#    supervised worker child, llama.cpp) as a Cortex-A76 — the worker must load the dotprod
#    kernels, `armv8.2_2` — and as a Cortex-A53 — the armv8.0 baseline `armv8.0_1`, no SIGILL.
#
#   cross/test-aarch64.sh
#
# Processes start under emulation through binfmt_misc, registered by Debian's
# qemu-user-binfmt + binfmt-support: the kernel hands every aarch64 ELF to qemu-aarch64,
# so the worker child the daemon execs is emulated like the daemon, and QEMU_CPU and
# QEMU_LD_PREFIX, inherited, choose the CPU model and the aarch64 libraries for both.
# Needs root (or sudo) to install the packages and, if needed, mount binfmt_misc.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "test-aarch64: $*" >&2; exit 1; }
sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
for p in qemu-user qemu-user-binfmt binfmt-support; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
binfmt=/proc/sys/fs/binfmt_misc
[ -e "$binfmt/status" ] || sudo_if_needed mount -t binfmt_misc binfmt_misc "$binfmt" \
  || die "cannot mount binfmt_misc on $binfmt (a container without privileges?)"
[ -e "$binfmt/qemu-aarch64" ] || sudo_if_needed update-binfmts --import qemu-aarch64
grep -qx enabled "$binfmt/qemu-aarch64" 2>/dev/null \
  || sudo_if_needed update-binfmts --enable qemu-aarch64
grep -qx enabled "$binfmt/qemu-aarch64" || die "binfmt_misc has no enabled qemu-aarch64 entry"

export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
target=aarch64-unknown-linux-gnu
out=${CARGO_TARGET_DIR:-target}/$target/release
bin=$out/edgewatt
[ -x "$bin" ] || die "$bin missing: run cross/build-aarch64.sh first"
"$bin" --version >/dev/null || die "$bin does not start under binfmt_misc + qemu-aarch64"
[ -f models/SmolLM2-135M-Instruct.Q4_1.gguf ] || scripts/fetch-model.sh

echo "test-aarch64: unit tests as a Cortex-A76"
# Two unit tests read this process's own /proc/self/stat, which qemu-user does not pass
# through but writes itself (the state field is "0", not a letter): they are checked
# natively by the x86-64 run, and skipped here by name.
QEMU_CPU=cortex-a76 cargo test --release --locked --target "$target" --lib -- \
  --skip sampler::file::tests::a_kept_proc_file_gives_its_current_content \
  --skip sampler::parse::tests::this_machines_files_parse_as_procfs_parses_them

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# bench_as CPU VARIANT: one run as CPU must succeed on the CPU backend VARIANT.
bench_as() {
  local cpu=$1 want=$2 state=$tmp/$1 got
  echo "test-aarch64: SmolLM2 as a $cpu (expects the $want kernels)"
  QEMU_CPU=$cpu "$bin" sensors --seconds 0 --vcio /nonexistent --vcgencmd /nonexistent \
    >"$tmp/sensors-$cpu"
  sed -n '1s/^/  /p' "$tmp/sensors-$cpu"
  grep -q "^llama   present  CPU backend $want (" "$tmp/sensors-$cpu" \
    || die "$cpu: sensors shows another CPU backend than $want"
  if ! QEMU_CPU=$cpu "$bin" bench cross/qemu-plan.toml --config /dev/null --state-dir "$state" \
    >"$tmp/bench-$cpu.out" 2>"$tmp/bench-$cpu.err"; then
    cat "$tmp/bench-$cpu.out" "$tmp/bench-$cpu.err" >&2
    die "$cpu: edgewatt bench failed"
  fi
  grep -E 'CPU backend' "$tmp/bench-$cpu.err" | sed 's/^/  /' || true
  got=$(QEMU_CPU=$cpu "$bin" dump --state-dir "$state" --format jsonl --type event \
    | python3 -c '
import json, sys
events = [json.loads(l) for l in sys.stdin]
print(" ".join(e["variant"] for e in events if e.get("event") == "cpu_backend"))')
  [ "$got" = "$want" ] || die "$cpu: the log says CPU backend \"$got\", expected $want"
  grep -q "on CPU backend $want ended: Ok" "$tmp/bench-$cpu.err" \
    || die "$cpu: the run did not end Ok on $want"
}
bench_as cortex-a76 armv8.2_2
bench_as cortex-a53 armv8.0_1
echo "test-aarch64: ok"
