//! Plans run by the daemon (`edgewatt run` with `plans`) and by `edgewatt bench`: the
//! worker is sampled apart from the daemon, every run is logged with its phases and its
//! measured energy, and a bad plan is logged while the daemon goes on.

use std::path::Path;

use serde_json::Value;

use super::models;
use crate::common::dump;
use crate::common::edgewatt;
use crate::common::run_config;
use crate::common::write_flat_4w_trace;

/// A plan of 2 prompt lengths × 2 repetitions on the tiny generated model; `extra` is
/// TOML put before the workload (e.g. a `[cooldown]`).
fn write_plan(dir: &Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("plan.toml");
    std::fs::write(
        &path,
        format!(
            "name = \"tiny\"\nrepetitions = 2\n{extra}\n[[workload]]\nname = \"llm\"\n\
             model = \"{}\"\nprompt_tokens = [16, 64]\ngen_tokens = 200\nthreads = [1]\n",
            models().llama.display()
        ),
    )
    .unwrap();
    path
}

fn config(dir: &Path, plans: &[&Path]) -> std::path::PathBuf {
    config_with(dir, plans, "")
}

/// `sampler` is more TOML for the `[sampler]` table. Power is replayed from a flat 4 W
/// trace, so every run gets a measured energy.
fn config_with(dir: &Path, plans: &[&Path], sampler: &str) -> std::path::PathBuf {
    let path = dir.join("edgewatt.toml");
    let list: Vec<String> = plans
        .iter()
        .map(|p| format!("\"{}\"", p.display()))
        .collect();
    std::fs::write(
        &path,
        format!(
            "state_dir = \"{}\"\nplans = [{}]\n[sampler]\nrate_hz = 100\n{sampler}\n[store]\n\
             fsync_interval_ms = 200\n[power]\nsource = \"replay\"\n[power.replay]\npath = \"{}\"\n",
            dir.join("state").display(),
            list.join(", "),
            write_flat_4w_trace(dir).display()
        ),
    )
    .unwrap();
    path
}

fn of<'a>(records: &'a [Value], t: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == t).collect()
}

#[test]
fn the_daemon_runs_a_scheduled_plan_and_logs_each_run_with_its_energy() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write_plan(dir.path(), "");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "name = \"bad\"\nrepetitons = 2\n").unwrap();
    let cfg = config(dir.path(), &[&bad, &plan]);
    let out = run_config(&cfg, "8");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml"), "the bad plan is named: {err}");
    let records = dump(&dir.path().join("state"));

    let plan_errors: Vec<&Value> = records
        .iter()
        .filter(|e| e["event"] == "plan_error")
        .collect();
    assert_eq!(plan_errors.len(), 1);
    assert!(plan_errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("repetitons"));

    // The CPU kernels a worker loads here, probed and logged once at start.
    let backends: Vec<&Value> = records
        .iter()
        .filter(|e| e["event"] == "cpu_backend")
        .collect();
    assert_eq!(backends.len(), 1);
    let variant = backends[0]["variant"].as_str().unwrap();
    assert!(
        edgewatt::llama::backend::built_variants().contains(&variant),
        "{}",
        backends[0]
    );
    assert!(backends[0]["library"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/libggml-cpu-{variant}.so")));

    let runs = of(&records, "run");
    assert_eq!(runs.len(), 4, "2 prompt lengths × 2 repetitions, at start");
    let start = records
        .iter()
        .find(|r| r["event"] == "plan_start")
        .expect("a plan_start event with the idle lead-in");
    let idle_to = start["idle_to_us"].as_u64().unwrap();
    assert!(idle_to - start["idle_from_us"].as_u64().unwrap() >= 3_000_000);
    let mut worker_pids = Vec::new();
    let idle_from = start["idle_from_us"].as_u64().unwrap();
    for (i, r) in runs.iter().enumerate() {
        check_scheduled_run(r, i, (idle_from, idle_to));
        worker_pids.push(r["worker_pid"].as_u64().unwrap());
    }
    worker_pids.dedup();
    assert_eq!(worker_pids.len(), 1, "the kept model stays in one worker");
    // The worker was sampled apart from the daemon while it ran.
    let worker_samples = of(&records, "sample")
        .into_iter()
        .filter(|s| {
            s["procs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["role"] == "worker" && p["pid"].as_u64() == Some(worker_pids[0]))
        })
        .count();
    assert!(
        worker_samples >= 1,
        "samples with the worker's own counters"
    );
}

/// Run `i` of the plan `tiny` (2 cases × 2 repetitions) after the idle lead-in
/// `(from_us, to_us)`: ok, placed in its schedule, with a flat 4 W measured energy.
fn check_scheduled_run(r: &Value, i: usize, (idle_from, idle_to): (u64, u64)) {
    assert_eq!(r["ok"], true, "{r}");
    // Where the run comes from (Run v2): plan, workload, schedule slot, lead-in.
    assert_eq!(
        (r["plan"].as_str(), r["workload"].as_str()),
        (Some("tiny"), Some("llm"))
    );
    assert_eq!(
        (r["warmup"].as_bool(), r["base_workload"].as_str()),
        (Some(false), None)
    );
    assert_eq!(
        r["repetition"].as_u64(),
        Some(i as u64 / 2),
        "cases in order, twice"
    );
    assert_eq!(
        (r["schedule_index"].as_u64(), r["schedule_len"].as_u64()),
        (Some(i as u64), Some(4))
    );
    assert_eq!(r["idle_lead_in"]["start_us"].as_u64(), Some(idle_from));
    assert_eq!(r["idle_lead_in"]["end_us"].as_u64(), Some(idle_to));
    assert_eq!(r["cooldown_capped"], false, "no cooldown: not capped");
    assert!(r["phases"][0]["mono_us"].as_u64().unwrap() >= idle_to);
    let e = &r["energy"];
    assert!(
        e["source"].as_str().unwrap().starts_with("replay of"),
        "{e}"
    );
    // A flat 4 W: gross = 4 W × the covered time, net ≈ 0 against the 4 W lead-in.
    let covered_us = e["run"]["covered_us"].as_i64().unwrap();
    let gross = e["run"]["gross_uj"].as_i64().unwrap();
    assert!(
        (gross - 4 * covered_us).abs() <= 4,
        "{gross} µJ over {covered_us} µs"
    );
    assert_eq!(e["baseline"]["power_uw"], 4_000_000);
    assert!(e["run"]["net_uj"].as_i64().unwrap().abs() <= 4);
    // The replay thread can fall behind on a loaded machine; coverage says so.
    assert!(e["run"]["coverage_ppm"].as_u64().unwrap() >= 500_000, "{e}");
}

#[test]
fn bench_runs_a_plan_now_and_prints_speed_energy_and_cpu_cost() {
    let dir = tempfile::tempdir().unwrap();
    let sys = hot_soc(dir.path());
    let plan = write_plan(
        dir.path(),
        "[cooldown]\ncpu_margin_pct = 100\ntemp_below_mc = 60000\nmax_wait_s = 1\n",
    );
    let cfg = config_with(
        dir.path(),
        &[],
        &format!("sys_root = \"{}\"", sys.display()),
    );
    let out = edgewatt()
        .args(["bench"])
        .arg(&plan)
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("plan tiny: 4 runs"), "{stdout}");
    // The tables are a report made from the log: made again from it afterwards, they are
    // the same, to the last digit.
    let log = edgewatt::report::BenchLog::read(
        &edgewatt::logread::LogSource::dir(dir.path().join("state")),
        0,
    )
    .unwrap();
    let cases = edgewatt::plan::Plan::load(&plan).unwrap().schedule().cases;
    let printed: String = stdout.lines().skip(1).map(|l| format!("{l}\n")).collect();
    assert_eq!(
        log.tables(&cases, edgewatt::derive::energy::MinCoverage::DEFAULT),
        printed
    );
    assert_eq!(log.runs.len(), 4);
    for test in ["llm/pp16/tg200/t1", "llm/pp64/tg200/t1"] {
        check_speed_and_cost_rows(&stdout, test);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("/4] llm/").count(),
        4,
        "one progress line per run"
    );
    assert_eq!(
        stderr.matches("started after the cooldown cap").count(),
        4,
        "{stderr}"
    );
    check_cooldowns_logged_before_runs(&dump(&dir.path().join("state")));
    check_worker_rss_law(&dir.path().join("state"));
}

/// The token law's worker RSS AUC over real runs is each run's worker RSS AUC of `export
/// runs` (llama.cpp maps the weights from the GGUF: page cache, not the machine's used RAM
/// above idle, so they show here, not in the RAM AUC). Every run's cooldown ended at its
/// cap, so they are fitted with --include-flagged.
fn check_worker_rss_law(state: &Path) {
    let run = |args: &[&str]| {
        let out = edgewatt().args(args).arg(state).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let report: Value = serde_json::from_slice(&run(&[
        "report",
        "--format",
        "json",
        "--include-flagged",
        "--dir",
    ]))
    .unwrap();
    let fits = report["llm"][0]["fits"].as_array().unwrap();
    let law = fits
        .iter()
        .find(|f| f["metric"] == "worker_rss_auc")
        .unwrap();
    let mut fitted: Vec<f64> = law["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let rows = String::from_utf8(run(&["export", "runs", "--format", "jsonl", "--dir"])).unwrap();
    let mut exported: Vec<f64> = rows
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "run")
        .filter_map(|r| r["worker_rss_mb_s"].as_f64())
        .collect();
    fitted.sort_by(f64::total_cmp);
    exported.sort_by(f64::total_cmp);
    assert!(
        !fitted.is_empty() && fitted.iter().all(|&v| v > 0.0),
        "{law}"
    );
    assert_eq!(fitted, exported, "{law}");
}

/// A SoC that stays at 90 °C (a fake thermal zone under the returned sys root): every
/// cooldown ends at its cap.
fn hot_soc(dir: &Path) -> std::path::PathBuf {
    let sys = dir.join("sys");
    let zone = sys.join("class/thermal/thermal_zone0");
    std::fs::create_dir_all(&zone).unwrap();
    std::fs::write(zone.join("temp"), "90000\n").unwrap();
    sys
}

/// The bench table's two rows for `test` (2 runs of a flat 4 W trace): speed, then cost.
fn check_speed_and_cost_rows(stdout: &str, test: &str) {
    let rows: Vec<&str> = stdout.lines().filter(|l| l.contains(test)).collect();
    assert_eq!(
        rows.len(),
        2,
        "a speed row and a cost row for {test}: {stdout}"
    );
    assert!(rows[0].contains("2/2"), "{}", rows[0]);
    assert!(rows[1].contains("replay of"), "{}", rows[1]);
    // test | worker CPU s | worker RSS MB·s | machine CPU %·s | machine RAM MB·s |
    // energy J | J/gen token | coverage % | source
    let cells: Vec<&str> = rows[1].split('|').map(str::trim).collect();
    let num = |i: usize| -> f64 {
        cells[i]
            .parse()
            .unwrap_or_else(|e| panic!("cell {i} of {}: {e}", rows[1]))
    };
    assert!(num(2) > 0.0, "the worker used CPU: {}", rows[1]);
    assert!(num(3) > 0.0, "the worker was resident: {}", rows[1]);
    // Every cooldown ended at its cap (the 90 °C SoC): the idle baseline the net figures
    // would subtract is not what the run started from, so bench shows none, as export and
    // the report do, and says why.
    for i in [6, 7] {
        assert_eq!(
            cells[i], "- (cooldown capped: not idle before the run)",
            "{}",
            rows[1]
        );
    }
    assert!(num(8) > 0.0 && num(8) <= 100.0, "coverage %: {}", rows[1]);
}

/// Each of the 4 runs' cooldowns is logged before it: capped at 1 s on the 90 °C SoC,
/// with the reading that held it.
fn check_cooldowns_logged_before_runs(records: &[Value]) {
    let runs = of(records, "run");
    let waits: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"] == "cooldown")
        .collect();
    assert_eq!((runs.len(), waits.len()), (4, 4));
    for (run, wait) in runs.iter().zip(&waits) {
        assert_eq!(wait["run_id"], run["run_id"], "{wait}");
        assert_eq!(wait["label"], run["label"]);
        assert_eq!(wait["waited_us"], run["cooldown_us"]);
        assert_eq!(wait["capped"], run["cooldown_capped"]);
        // The cap is checked after each 0.5 s window: it ends at 1 s, two windows.
        assert!(wait["waited_us"].as_u64().unwrap() >= 1_000_000, "{wait}");
        assert_eq!(wait["capped"], true);
        assert_eq!(wait["temp_mc"], 90_000);
        // The real /proc: the lead-in gave a baseline, the windows a busy share.
        assert!(wait["baseline_busy_pct"].as_u64().unwrap() <= 100, "{wait}");
        assert!(wait["busy_pct"].as_u64().unwrap() <= 100, "{wait}");
        assert!(
            wait["mono_us"].as_u64() <= run["phases"][0]["mono_us"].as_u64(),
            "the wait ends before the run starts: {wait} {run}"
        );
    }
    assert_plan_baseline_stored(records, &runs);
}

/// The plan's idle baseline is logged as it starts, over its lead-in; every capped
/// cooldown leaves the runs to subtract exactly that stored figure.
fn assert_plan_baseline_stored(records: &[Value], runs: &[&Value]) {
    let event =
        |name: &str| -> Vec<&Value> { records.iter().filter(|r| r["event"] == name).collect() };
    let (starts, baselines) = (event("plan_start"), event("plan_baseline"));
    assert_eq!((starts.len(), baselines.len()), (1, 1), "{baselines:?}");
    let (start, base) = (starts[0], baselines[0]);
    assert_eq!(base["plan"], "tiny");
    assert_eq!(base["from_us"], start["idle_from_us"], "{base} {start}");
    assert_eq!(base["to_us"], start["idle_to_us"]);
    assert!(base["mono_us"].as_u64() >= start["mono_us"].as_u64());
    assert_eq!(base["power_uw"], 4_000_000, "a flat 4 W trace: {base}");
    assert!(base["power_coverage_ppm"].as_u64().unwrap() > 0, "{base}");
    assert!(
        base["cpu_busy_ppm"].as_u64().unwrap() <= 1_000_000,
        "{base}"
    );
    assert!(base["ram_used_kb"].as_u64().unwrap() > 0, "{base}");
    for run in runs {
        let b = &run["energy"]["baseline"];
        assert_eq!(b["window"]["start_us"], base["from_us"], "{run}");
        assert_eq!(b["window"]["end_us"], base["to_us"], "{run}");
        assert_eq!(b["power_uw"], base["power_uw"]);
        assert_eq!(b["coverage_ppm"], base["power_coverage_ppm"]);
    }
}

#[test]
fn bench_exits_1_when_a_run_failed_with_dashes_for_what_it_did_not_measure_and_2_on_a_bad_plan() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "name = \"half\"\n[[workload]]\nname = \"ok\"\nmodel = \"{}\"\nprompt_tokens = [8]\n\
             gen_tokens = 2\nthreads = [1]\n[[workload]]\nname = \"gone\"\n\
             model = \"missing.gguf\"\nprompt_tokens = [8]\ngen_tokens = 2\nthreads = [1]\n",
            models().llama.display()
        ),
    )
    .unwrap();
    let cfg = config(dir.path(), &[]);
    let bench = |plan: &Path| {
        edgewatt()
            .args(["bench"])
            .arg(plan)
            .arg("--config")
            .arg(&cfg)
            .output()
            .unwrap()
    };
    let out = bench(&plan);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let row = |test: &str| -> Vec<String> {
        let line = stdout
            .lines()
            .find(|l| l.contains(test))
            .unwrap_or_else(|| panic!("no row for {test}: {stdout}"));
        line.split('|').map(|c| c.trim().to_owned()).collect()
    };
    // | model | size MiB | test | ok/runs | pp t/s | tg t/s | img tok | encode ms | peak RSS MiB |
    let failed = row("gone/pp8/tg2/t1");
    assert_eq!(failed[4], "0/1");
    assert_eq!(&failed[5..10], ["-", "-", "-", "-", "-"], "{failed:?}");
    assert_eq!(failed[2], "-", "no size without a model: {failed:?}");
    let ok = row("ok/pp8/tg2/t1");
    assert_eq!(ok[4], "1/1");
    assert!(
        ok[5].ends_with("± 0.0") && !ok[5].starts_with("0.0"),
        "{ok:?}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"bad\"\nrepetitions = 0\n[[workload]]\nname = \"a\"\nmodel = \"m\"\n",
    )
    .unwrap();
    let out = bench(&bad);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.toml") && stderr.contains("key repetitions"),
        "{stderr}"
    );
}

/// The last run of a bench has its worker CPU seconds and RSS AUC: the worker is shut
/// down after the plan only once a sample past that run's end is in (at 2 Hz without a
/// power source to wait for, the shutdown used to come first, and the last run had no
/// worker RSS AUC). SmolLM2's runs of 2–3 s span several samples.
#[test]
fn the_last_run_of_a_bench_has_its_worker_figures() {
    let Some(smollm2) = super::smollm2::smollm2_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "name = \"last\"\nrepetitions = 1\n[[workload]]\nname = \"llm\"\nmodel = \"{}\"\n\
             prompt_tokens = [8, 16]\ngen_tokens = 96\nthreads = [1]\n",
            smollm2.display()
        ),
    )
    .unwrap();
    let cfg = dir.path().join("edgewatt.toml");
    let state = dir.path().join("state");
    std::fs::write(
        &cfg,
        format!(
            "state_dir = \"{}\"\n[sampler]\nrate_hz = 2\n[power]\nsource = \"none\"\n",
            state.display()
        ),
    )
    .unwrap();
    let out = edgewatt()
        .args(["bench", "--config"])
        .arg(&cfg)
        .arg(&plan)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let rows = edgewatt()
        .args(["export", "runs", "--format", "jsonl", "--no-cache", "--dir"])
        .arg(&state)
        .output()
        .unwrap();
    let runs: Vec<Value> = String::from_utf8(rows.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "run")
        .collect();
    assert_eq!(runs.len(), 2);
    let last = runs.last().unwrap();
    {
        let r = last;
        let (cpu_s, rss) = (&r["worker_cpu_s"], &r["worker_rss_mb_s"]);
        assert!(
            cpu_s.as_f64().is_some_and(|v| v > 0.0) && rss.as_f64().is_some_and(|v| v > 0.0),
            "{} {cpu_s} {rss}",
            r["label"]
        );
    }
}
