"""`edgewatt report` against pandas and DuckDB computing the same aggregates, in one run.

Usage: report_bench.py EDGEWATT DIR   (DIR: a state directory, e.g. from examples/report_synth)

- edgewatt: `edgewatt report DIR --format json --output FILE`, from the raw log (samples, power, runs):
  per-run CPU/RAM AUC above the idle baseline, the token law per model (OLS with CIs), the knee,
  base vs compressed, the estimate, the HTML-free JSON. Peak RSS and CPU time (user +
  system, over its threads) from /usr/bin/time.
- pandas (samples.csv + runs.csv of `edgewatt export`) and DuckDB (the same as Parquet): per-run
  CPU and RAM AUC above the run's baseline (over the samples inside the run window: a CPU %
  as a step over the interval up to its sample, RAM by trapezoids, as edgewatt does, but for
  the partial intervals at the window's edges, which they leave out; the
  baseline is read from the export, not searched), then per model and workload the OLS of CPU AUC
  on prompt tokens (slope, intercept, R², slope's standard error) and the mean CPU AUC per workload
  (base vs compressed). A subset of the report's work: the references get the easier job.

Each is timed once, in one run; edgewatt's time includes starting its process (the references
run inside this Python, already started). edgewatt is timed three ways: with `--no-cache` (every row derived from the log: the like-for-like
figure), from its cache of cost rows with the log unchanged, and from the cache after the log grew
by its last segment (an hour of log: what a report on a running device reads). The references are
timed as they are: from the export, which is not counted.

Prints each time, the ratios (reference / edgewatt: > 1 means edgewatt is faster) and checks that
the three agree on the f16 CPU AUC slope, and that the cached reports are the uncached one.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd


def timed(f):
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def edgewatt_report(bin_, state, out, cache, extra=(), fmt="json"):
    """The report written to `out` (a file, as a user would keep it: parsing its JSON here
    is not edgewatt's time), with its cache under `cache`."""
    cmd = [bin_, "report", "--dir", str(state), "--format", fmt, "--output", str(out), *extra]
    subprocess.run(cmd, check=True, env={**os.environ, "XDG_CACHE_HOME": str(cache)})


def peak_and_cpu(bin_, state, out, cache, extra=()):
    """The same report again under /usr/bin/time (not timed itself): peak RSS (KiB) and CPU
    time (user + system, over its threads)."""
    cmd = ["/usr/bin/time", "-f", "%M %U %S", "-o", str(out) + ".time",
           bin_, "report", "--dir", str(state), "--format", "json", "--output", str(out), *extra]
    subprocess.run(cmd, check=True, env={**os.environ, "XDG_CACHE_HOME": str(cache)})
    peak_kb, user_s, sys_s = Path(str(out) + ".time").read_text().strip().splitlines()[-1].split()
    return int(peak_kb), float(user_s) + float(sys_s)


def pandas_aggregates(samples_csv, runs_csv):
    s = pd.read_csv(samples_csv, usecols=["mono_us", "cpu_pct", "ram_used_mb"]).sort_values("mono_us")
    r = pd.read_csv(runs_csv)
    r = r[(r["kind"] == "run") & r["ok"]].sort_values("start_mono_us").reset_index(drop=True)
    t = s["mono_us"].to_numpy()
    idx = np.searchsorted(r["start_mono_us"].to_numpy(), t, side="right") - 1
    inside = (idx >= 0) & (t <= r["end_mono_us"].to_numpy()[np.clip(idx, 0, None)])
    j = s[inside].copy()
    j["run"] = idx[inside]
    j["cpu"] = (j["cpu_pct"] - r["baseline_cpu_pct"].to_numpy()[j["run"]]).clip(lower=0)
    j["ram"] = (j["ram_used_mb"] - r["baseline_ram_mb"].to_numpy()[j["run"]]).clip(lower=0)
    g = j.groupby("run")
    dt = g["mono_us"].diff() / 1e6
    j["cpu_a"] = dt * j["cpu"]  # a CPU % holds over the interval up to its sample
    j["ram_a"] = dt * (j["ram"] + g["ram"].shift()) / 2
    auc = j.groupby("run")[["cpu_a", "ram_a"]].sum()
    r = r.join(auc)
    laws = {}
    for (model, workload), d in r[r["image_width"].isna()].groupby(["model_name", "workload"]):
        x, y = d["prompt_tokens"].to_numpy(float), d["cpu_a"].to_numpy()
        b, a = np.polyfit(x, y, 1)
        res = y - (a + b * x)
        n = len(x)
        se = np.sqrt(res @ res / (n - 2) / ((x - x.mean()) @ (x - x.mean())))
        r2 = 1 - (res @ res) / ((y - y.mean()) @ (y - y.mean()))
        laws[workload] = (a, b, se, r2)
    means = r.groupby("workload")["cpu_a"].mean()
    return laws, means


DUCK_SQL = """
WITH r AS (SELECT * FROM read_parquet('{runs}') WHERE kind = 'run' AND ok),
s AS (SELECT mono_us, cpu_pct, ram_used_mb FROM read_parquet('{samples}')),
j AS (
  SELECT r.run_id, r.model_name, r.workload, r.prompt_tokens, r.image_width, s.mono_us,
         greatest(s.cpu_pct - r.baseline_cpu_pct, 0) AS cpu,
         greatest(s.ram_used_mb - r.baseline_ram_mb, 0) AS ram
  FROM r JOIN s ON s.mono_us BETWEEN r.start_mono_us AND r.end_mono_us),
t AS (
  SELECT *, (mono_us - lag(mono_us) OVER w) / 1e6 AS dt, lag(ram) OVER w AS ram0
  FROM j WINDOW w AS (PARTITION BY run_id ORDER BY mono_us)),
a AS (
  SELECT run_id, any_value(model_name) AS model, any_value(workload) AS workload,
         any_value(prompt_tokens) AS tokens, any_value(image_width) AS w,
         sum(dt * cpu) AS cpu_auc, sum(dt * (ram + ram0) / 2) AS ram_auc
  FROM t GROUP BY run_id)
SELECT workload, regr_intercept(cpu_auc, tokens) AS a, regr_slope(cpu_auc, tokens) AS b,
       regr_r2(cpu_auc, tokens) AS r2, avg(cpu_auc) AS mean_cpu,
       sqrt(greatest(regr_syy(cpu_auc, tokens) * (1 - regr_r2(cpu_auc, tokens)), 0)
            / (count(*) - 2) / regr_sxx(cpu_auc, tokens)) AS se
FROM a WHERE w IS NULL GROUP BY workload ORDER BY workload
"""


def main():
    bin_, state = sys.argv[1], Path(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        files = {}
        for what in ["runs", "samples"]:
            for ext in ["csv", "parquet"]:
                files[what, ext] = tmp / f"{what}.{ext}"
                subprocess.run([bin_, "export", what, "--dir", str(state), "--output", str(files[what, ext])],
                               check=True, stdout=subprocess.DEVNULL)
        n_samples = len(pd.read_parquet(files["samples", "parquet"], columns=["mono_us"]))
        cache = tmp / "cache"
        t_ew, _ = timed(
            lambda: edgewatt_report(bin_, state, tmp / "report.json", cache, ["--no-cache"]))
        peak_kb, cpu_s = peak_and_cpu(bin_, state, tmp / "again.json", cache, ["--no-cache"])
        rep = json.loads((tmp / "report.json").read_text())
        t_fill, _ = timed(lambda: edgewatt_report(bin_, state, tmp / "fill.json", cache))
        t_warm, _ = timed(lambda: edgewatt_report(bin_, state, tmp / "warm.json", cache))
        warm_kb, _ = peak_and_cpu(bin_, state, tmp / "warm-again.json", cache)
        t_text, _ = timed(lambda: edgewatt_report(bin_, state, tmp / "warm.txt", cache, fmt="text"))
        # The log an hour ago: every segment but the last, reported (the cache filled), then the
        # last one appended.
        grow = tmp / "grow"
        grow.mkdir()
        segments = sorted(state.glob("*.ewlog"))
        for seg in segments[:-1]:
            os.link(seg, grow / seg.name)
        edgewatt_report(bin_, grow, tmp / "before.json", cache)
        os.link(segments[-1], grow / segments[-1].name)
        t_grown, _ = timed(lambda: edgewatt_report(bin_, grow, tmp / "grown.json", cache))
        uncached = (tmp / "report.json").read_text()
        same = all((tmp / f).read_text() == uncached for f in ["fill.json", "warm.json"])
        # The grown directory's report names another directory, nothing else differs.
        grown = (tmp / "grown.json").read_text().replace(str(grow), str(state))
        same = same and grown == uncached
        t_pd, (laws, _) = timed(lambda: pandas_aggregates(files["samples", "csv"], files["runs", "csv"]))
        con = duckdb.connect()
        sql = DUCK_SQL.format(runs=files["runs", "parquet"], samples=files["samples", "parquet"])
        t_dk, rows = timed(lambda: con.execute(sql).fetchall())
    ew = next(l for l in rep["llm"] if l["workload"] == "f16")
    ew_slope = next(f for f in ew["fits"] if f["metric"] == "cpu_auc")["slope"]["value"]
    dk_slope = next(r[2] for r in rows if r[0] == "f16")
    print(f"log: {len(rep['runs'])} runs, {n_samples} samples")
    print(f"f16 CPU AUC slope: edgewatt {ew_slope:.5f}, pandas {laws['f16'][1]:.5f}, duckdb {dk_slope:.5f} %·s/token")
    print(f"log: {len(segments)} segments")
    print(f"edgewatt report --no-cache (raw log -> JSON): {t_ew:.2f} s ({cpu_s:.2f} s CPU), peak RSS {peak_kb / 1024:.0f} MiB")
    print(f"  pandas (samples.csv + runs.csv):   {t_pd:.2f} s  -> edgewatt is {t_pd / t_ew:.2f}x pandas")
    print(f"  duckdb (samples + runs .parquet):  {t_dk:.2f} s  -> edgewatt is {t_dk / t_ew:.2f}x duckdb")
    print(f"edgewatt report, cache written:    {t_fill:.2f} s")
    print(f"edgewatt report, log unchanged:    {t_warm:.3f} s, peak RSS {warm_kb / 1024:.0f} MiB"
          f"  -> {t_pd / t_warm:.1f}x pandas, {t_dk / t_warm:.0f}x duckdb")
    print(f"  the same as a terminal table:    {t_text:.3f} s  -> {t_pd / t_text:.1f}x pandas")
    print(f"edgewatt report, last hour new:    {t_grown:.3f} s"
          f"  -> {t_pd / t_grown:.1f}x pandas, {t_dk / t_grown:.0f}x duckdb")
    print("cached reports are the uncached one" if same else "CACHED REPORTS DIFFER")
    agree = all(abs(s / ew_slope - 1) < 0.02 for s in [laws["f16"][1], dk_slope])
    print("slopes agree within 2 %" if agree else "SLOPES DISAGREE")
    return 0 if agree and same else 1


if __name__ == "__main__":
    sys.exit(main())
