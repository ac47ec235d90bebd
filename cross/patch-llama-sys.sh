#!/usr/bin/env bash
# Prints the path of a patched copy of llama-cpp-sys-2 (the version in Cargo.lock) under
# target/patched/, creating it on first use. Nothing third-party is committed to the repo.
#
# Why: for aarch64 Linux without `target-cpu=native`, the crate's build.rs defines
# GGML_CPU_ARM_ARCH=armv8-a *after* forwarding GGML_* environment variables, and CMake keeps
# the last -D, so `GGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16` is ignored and ggml gets no
# dotprod (`sdot`) kernels: quantized matmuls on a Pi 5 (Cortex-A76) run several times slower.
# The patch applies the armv8-a default only when GGML_CPU_ARM_ARCH is not in the environment.
# (Upstream made the same change for Android: utilityai/llama-cpp-rs PR #1067.)
#
# Use: cargo build --config "patch.crates-io.llama-cpp-sys-2.path=\"$(cross/patch-llama-sys.sh)\""
# (cross/build-aarch64.sh does this, and restores Cargo.lock afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
die() { echo "patch-llama-sys: $*" >&2; exit 1; }

ver=$(awk '$0 == "name = \"llama-cpp-sys-2\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$ver" ] || die "llama-cpp-sys-2 not found in Cargo.lock"
dest="$root/target/patched/llama-cpp-sys-2-$ver"
marker="edgewatt patch (cross/patch-llama-sys.sh)"
if grep -qF "$marker" "$dest/build.rs" 2>/dev/null; then
  echo "$dest"
  exit 0
fi

registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
find_src() { find "$registry" -mindepth 2 -maxdepth 2 -type d -name "llama-cpp-sys-2-$ver" 2>/dev/null | head -n 1; }
src=$(find_src)
if [ -z "$src" ]; then
  cargo fetch --locked >&2
  src=$(find_src)
fi
[ -n "$src" ] || die "no registry source for llama-cpp-sys-2 $ver under $registry"

tmp="$dest.tmp"
rm -rf "$tmp"
mkdir -p "$(dirname "$dest")"
cp -a "$src" "$tmp"
# The one edit: make the armv8-a baseline a default the environment can override. The
# expected text is matched exactly, once; anything else (a version bump that moved or
# changed it) stops the build here instead of silently producing a baseline binary.
old='        if !cfg!(feature = "dynamic-backends") {
            config.define("GGML_CPU_ARM_ARCH", "armv8-a");
'
new="        // $marker: an explicit GGML_CPU_ARM_ARCH in the
        // environment (forwarded to CMake above) wins over the armv8-a default.
        println!(\"cargo:rerun-if-env-changed=GGML_CPU_ARM_ARCH\");
        if !cfg!(feature = \"dynamic-backends\")
            && std::env::var_os(\"GGML_CPU_ARM_ARCH\").is_none()
        {
            config.define(\"GGML_CPU_ARM_ARCH\", \"armv8-a\");
"
OLD="$old" NEW="$new" perl -0777 -i -pe '
  my $n = () = /\Q$ENV{OLD}\E/g;
  die "expected the armv8-a define exactly once in build.rs, found $n\n" if $n != 1;
  s/\Q$ENV{OLD}\E/$ENV{NEW}/;
' "$tmp/build.rs" || die "cannot patch $src/build.rs: its text changed (new version $ver?); \
re-read its aarch64 GGML_CPU_ARM_ARCH block and update this script"
grep -qF "$marker" "$tmp/build.rs" || die "patch not applied to $tmp/build.rs"
rm -rf "$dest"
mv "$tmp" "$dest"
echo "patched $src/build.rs -> $dest/build.rs" >&2
echo "$dest"
