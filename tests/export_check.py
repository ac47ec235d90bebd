"""Reads edgewatt's exported Parquet with DuckDB and pyarrow and checks it against `dump`.

Usage: export_check.py RUNS.parquet SAMPLES.parquet DUMP.jsonl
Exits non-zero (an AssertionError) on any mismatch; prints what it checked.
"""
import json
import sys

import duckdb
import pyarrow.parquet as pq

runs_path, samples_path, dump_path = sys.argv[1:4]
dumped = [json.loads(line) for line in open(dump_path, encoding="utf-8")]
d_runs = [r for r in dumped if r["type"] == "run"]
d_samples = [r for r in dumped if r["type"] == "sample"]

# pyarrow: the schema's plain types and every run's values.
runs = pq.read_table(runs_path)
schema = {f.name: str(f.type) for f in runs.schema}
assert schema["run_id"] == "int64", schema["run_id"]
assert schema["energy_gross_j"] == "double", schema["energy_gross_j"]
assert schema["ok"] == "bool", schema["ok"]
assert schema["label"] == "string", schema["label"]
rows = runs.to_pylist()
kinds = [r["kind"] for r in rows]
print(f"runs: {len(rows)} rows ({kinds.count('run')} runs, {kinds.count('idle')} idle)")
run_rows = [r for r in rows if r["kind"] == "run"]
assert len(run_rows) == len(d_runs), (len(run_rows), len(d_runs))
for r, d in zip(run_rows, d_runs):
    assert r["run_id"] == d["run_id"], (r["run_id"], d["run_id"])
    assert r["label"] == d["label"]
    assert r["ok"] == d["ok"]
    assert r["prompt_tokens"] == d["prompt_tokens"]
    assert r["energy_gross_j"] == d["energy"]["run"]["gross_uj"] / 1e6
    assert r["estimate_source"] == "estimate:pi5-board-powerjoular"

# DuckDB: counts and sums in SQL, against the dump.
con = duckdb.connect()
n_runs, n_ok, gross = con.execute(
    "SELECT count(*), count(*) FILTER (WHERE ok), sum(energy_gross_j) "
    f"FROM read_parquet('{runs_path}') WHERE kind = 'run'"
).fetchone()
assert n_runs == len(d_runs), n_runs
assert n_ok == sum(1 for d in d_runs if d["ok"]), n_ok
want = sum(d["energy"]["run"]["gross_uj"] for d in d_runs) / 1e6
assert abs(gross - want) < 1e-9 * want, (gross, want)
n, first, last, ticks = con.execute(
    "SELECT count(*), min(mono_us), max(mono_us), count(DISTINCT tick) "
    f"FROM read_parquet('{samples_path}')"
).fetchone()
assert n == len(d_samples), (n, len(d_samples))
assert first == min(s["mono_us"] for s in d_samples)
assert last == max(s["mono_us"] for s in d_samples)
assert ticks == len({s["tick"] for s in d_samples})
sources = con.execute(
    f"SELECT DISTINCT power_source FROM read_parquet('{samples_path}') "
    "WHERE power_source IS NOT NULL"
).fetchall()
assert sources == [("ina219",)], sources
print(f"samples: {n} rows; duckdb and pyarrow agree with dump: ok")
