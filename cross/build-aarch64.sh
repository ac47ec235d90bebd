#!/usr/bin/env bash
# Cross-builds the aarch64 (Raspberry Pi) binary with plain cargo and Debian's cross
# toolchain, for machines without Docker. Output, in target/aarch64-unknown-linux-gnu/release/
# (under $CARGO_TARGET_DIR if set): edgewatt, llama.cpp's shared libraries, and one
# libggml-cpu-<variant>.so per Arm generation; the worker loads the best for the CPU it
# runs on (dotprod + fp16 kernels on a Pi 5, the armv8.0 baseline on a Pi 3/4).
#
#   cross/build-aarch64.sh [cargo build args…]
#
# This is the same build as `cross build --release --target aarch64-unknown-linux-gnu`
# (Cross.toml) and as `cargo build --release` on a Pi: .cargo/config.toml sets the
# compilers. Afterwards the backends are checked (scripts/lib/backends.sh): all present,
# `sdot` (int8 dot product) in the dotprod variants, none in the baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. scripts/lib/backends.sh

sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
need=()
for p in gcc-aarch64-linux-gnu g++-aarch64-linux-gnu binutils-aarch64-linux-gnu cmake clang libclang-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu \
  || rustup target add aarch64-unknown-linux-gnu
if [ -n "${GGML_CPU_ARM_ARCH:-}" ]; then
  echo "build-aarch64: unset GGML_CPU_ARM_ARCH: every Arm variant is built and the best is" \
    "chosen at load time (ggml refuses both)" >&2
  exit 1
fi

cargo build --release --locked --target aarch64-unknown-linux-gnu "$@"

out=${CARGO_TARGET_DIR:-target}/aarch64-unknown-linux-gnu/release
file "$out/edgewatt" 2>/dev/null || true
echo "build-aarch64: CPU backends in $out:"
check_backends "$out" arm64 aarch64-linux-gnu-objdump
