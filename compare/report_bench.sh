#!/bin/sh
# `edgewatt report` over about 1 million samples and 10 000 runs against pandas on the CSV
# export and DuckDB on the Parquet export computing the same aggregates, with the report's
# peak RSS; ratios measured in one run (compare/report_bench.py says what each computes).
# Builds the release binary without llama.cpp (report and export do not need it), writes the
# synthetic log once (target/report-bench), installs pandas, duckdb and pyarrow (pinned) in
# target/pyenv-report.
#
# Usage: compare/report_bench.sh [RUNS]   (default 10000)
set -eu
cd "$(dirname "$0")/.."
runs=${1:-10000}
cargo build -q --release --no-default-features --bin edgewatt --example report_synth >&2
state=target/report-bench/$runs-h
[ -d "$state" ] || target/release/examples/report_synth "$state" "$runs" >&2
venv=target/pyenv-report
if ! "$venv/bin/python" -c 'import pandas, duckdb, pyarrow' >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q pandas==2.2.3 duckdb==1.1.3 pyarrow==18.1.0 >&2
fi
exec "$venv/bin/python" compare/report_bench.py target/release/edgewatt "$state"
