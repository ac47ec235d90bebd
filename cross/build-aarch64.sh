#!/usr/bin/env bash
# Cross-builds the aarch64 (Raspberry Pi 5) binary with plain cargo and Debian's cross GCC,
# for machines without Docker. Output: target/aarch64-unknown-linux-gnu/release/edgewatt
#
#   cross/build-aarch64.sh [--generic] [cargo build args…]
#
# By default llama.cpp's ggml is built for the Pi 5's Cortex-A76,
# GGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16 (override it in the environment). That needs a
# patched llama-cpp-sys-2 (cross/patch-llama-sys.sh: its build.rs otherwise forces armv8-a
# for aarch64 Linux), used through `--config patch.crates-io…` so Cargo.toml stays as is;
# Cargo.lock, which the patch rewrites, is restored on exit. `--generic` builds the unpatched
# armv8-a baseline (runs on any 64-bit Pi, several times slower at quantized matmuls).
# Afterwards the `sdot` (dotprod) instructions in the binary are counted; none when dotprod
# was asked for is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
generic=0
args=()
for a in "$@"; do
  case "$a" in
    --generic) generic=1 ;;
    *) args+=("$a") ;;
  esac
done

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
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
# `cargo run/test --target aarch64-unknown-linux-gnu` under qemu, as the Pi 5's CPU.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -cpu cortex-a76 -L /usr/aarch64-linux-gnu"

patch_args=()
if [ "$generic" = 1 ]; then
  unset GGML_CPU_ARM_ARCH
  echo "build-aarch64: generic armv8-a build (unpatched llama-cpp-sys-2)" >&2
else
  export GGML_CPU_ARM_ARCH="${GGML_CPU_ARM_ARCH:-armv8.2-a+dotprod+fp16}"
  patched=$(cross/patch-llama-sys.sh)
  patch_args=(--config "patch.crates-io.llama-cpp-sys-2.path=\"$patched\"")
  # The [patch] rewrites the llama-cpp-sys-2 entry of Cargo.lock (path instead of registry
  # source); put the committed file back whatever happens.
  mkdir -p target/patched
  cp -p Cargo.lock target/patched/Cargo.lock.orig
  trap 'cp -p target/patched/Cargo.lock.orig Cargo.lock' EXIT
  echo "build-aarch64: GGML_CPU_ARM_ARCH=$GGML_CPU_ARM_ARCH with $patched" >&2
fi

cargo build --release --target aarch64-unknown-linux-gnu "${patch_args[@]}" ${args[@]+"${args[@]}"}

bin=target/aarch64-unknown-linux-gnu/release/edgewatt
file "$bin" 2>/dev/null || true
sdot=$(aarch64-linux-gnu-objdump -d "$bin" | grep -c $'\tsdot\t' || true)
echo "build-aarch64: $sdot sdot instructions in $bin"
if [ "$generic" = 0 ] && [[ "$GGML_CPU_ARM_ARCH" == *dotprod* ]] && [ "$sdot" = 0 ]; then
  echo "build-aarch64: dotprod was requested ($GGML_CPU_ARM_ARCH) but the binary has no sdot:" \
    "the llama-cpp-sys-2 patch did not take effect" >&2
  exit 1
fi
