//! `edgewatt export`: the runs (the cost record) and the samples of a synthetic log with
//! known truth, as CSV, JSON lines and Parquet, checked against each other and against
//! `dump`; the Parquet read back by DuckDB and pyarrow (tests/export_check.py).

use std::path::Path;
use std::path::PathBuf;
use std::process::Command;

use edgewatt::export::read_table;
use edgewatt::export::Table;
use edgewatt::export::Value;
use edgewatt::export::RUN_COLUMNS;
use edgewatt::export::SAMPLE_COLUMNS;
use edgewatt::synth::calib::spread;
use edgewatt::synth::calib::SynthLog;
use edgewatt::synth::calib::SynthRun;
use serde_json::Value as Json;

use crate::calibrate::synth_dir;
use crate::calibrate::TRUTH;
use crate::common::dump;
use crate::common::jsonl;
use crate::common::ok;

/// 6 runs (the third failed) in 2 plans: 6 run rows and 2 idle rows.
fn log() -> SynthLog {
    let runs = spread(6, false)
        .into_iter()
        .enumerate()
        .map(|(i, r)| SynthRun { ok: i != 2, ..r })
        .collect();
    SynthLog::new(TRUTH, runs)
}

fn export(dir: &Path, what: &str, file: &str) -> PathBuf {
    let out = dir.join(file);
    let out_s = out.to_str().unwrap();
    ok(dir, &["export", what, "-o", out_s]);
    out
}

fn cell<'a>(t: &'a Table, row: usize, name: &str) -> &'a Value {
    &t.rows[row][t.column(name).unwrap_or_else(|| panic!("no column {name}"))]
}

#[test]
fn runs_export_agrees_across_formats_and_with_dump() {
    let dir = synth_dir(&log());
    let csv = read_table(&export(dir.path(), "runs", "runs.csv"), &RUN_COLUMNS).unwrap();
    let pq = read_table(&export(dir.path(), "runs", "runs.parquet"), &RUN_COLUMNS).unwrap();
    assert_eq!(csv.columns.len(), RUN_COLUMNS.len());
    assert_eq!(csv, pq, "CSV and Parquet hold the same cells, bit for bit");
    let lines = jsonl(&std::fs::read(export(dir.path(), "runs", "runs.jsonl")).unwrap());
    assert_eq!(lines.len(), csv.rows.len());
    let dumped: Vec<Json> = dump(dir.path())
        .into_iter()
        .filter(|r| r["type"] == "run")
        .collect();
    assert_eq!(dumped.len(), 6);
    let kinds: Vec<&str> = (0..csv.rows.len())
        .map(|i| cell(&csv, i, "kind").as_str().unwrap())
        .collect();
    // In log order: the synthetic writer logs both plan starts before the runs.
    assert_eq!(
        kinds,
        ["idle", "idle", "run", "run", "run", "run", "run", "run"]
    );
    let run_rows: Vec<usize> = (0..kinds.len()).filter(|&i| kinds[i] == "run").collect();
    for (&i, d) in run_rows.iter().zip(&dumped) {
        assert_eq!(cell(&csv, i, "run_id").as_i64(), d["run_id"].as_i64());
        assert_eq!(cell(&csv, i, "label").as_str(), d["label"].as_str());
        assert_eq!(cell(&csv, i, "ok").as_bool(), d["ok"].as_bool());
        assert_eq!(
            cell(&csv, i, "prompt_tokens").as_i64(),
            d["prompt_tokens"].as_i64()
        );
        let gross = d["energy"]["run"]["gross_uj"].as_i64().unwrap() as f64 / 1e6;
        assert_eq!(cell(&csv, i, "energy_gross_j").as_f64(), Some(gross));
        assert_eq!(lines[i]["energy_gross_j"].as_f64(), Some(gross));
        assert_eq!(lines[i]["run_id"], d["run_id"]);
        assert_eq!(cell(&csv, i, "device_id").as_str(), Some("synthetic-pi"));
        assert_eq!(cell(&csv, i, "energy_source").as_str(), Some("ina219"));
        // Every row is estimated too, and says by what.
        let src = cell(&csv, i, "estimate_source").as_str();
        assert_eq!(src, Some("estimate:pi5-board-powerjoular"));
        assert_eq!(
            cell(&csv, i, "estimate_board_average").as_bool(),
            Some(true)
        );
    }
    // The failed run: ok false, its error said.
    let failed = run_rows[2];
    assert_eq!(cell(&csv, failed, "ok").as_bool(), Some(false));
    assert!(cell(&csv, failed, "error")
        .as_str()
        .unwrap()
        .contains("time"));
    // Known truth: a run's CPU above idle is its load (±1 % dither), its mean CPU the
    // load plus the 2.5 % idle.
    let runs = spread(6, false);
    for (k, &i) in run_rows.iter().enumerate() {
        let t = cell(&csv, i, "duration_s").as_f64().unwrap();
        let auc = cell(&csv, i, "cpu_signed_auc_pct_s").as_f64().unwrap();
        let want = runs[k].load_pct;
        assert!(
            (auc / t - want).abs() < 0.02 * want + 0.5,
            "run {k}: {} vs {want}",
            auc / t
        );
        let mean = cell(&csv, i, "cpu_mean_pct").as_f64().unwrap();
        assert!((mean - 2.5 - auc / t).abs() < 1e-9);
    }
    // Idle rows: no run id, about the idle power.
    let idle_w = cell(&csv, 0, "energy_gross_j").as_f64().unwrap()
        / cell(&csv, 0, "duration_s").as_f64().unwrap();
    assert!(
        (idle_w - TRUTH.idle_w).abs() < 0.02 * TRUTH.idle_w,
        "{idle_w}"
    );
    assert_eq!(cell(&csv, 0, "run_id"), &Value::Null);
}

/// `export runs --since`: the rows whose record is in the window, each the row of the whole
/// log. Read alone, the window lost the plan's idle lead-in before it, and its runs took
/// another baseline (rev-c: 79 of 176 runs changed, unflagged).
#[test]
fn a_window_gives_the_whole_log_s_rows_of_its_runs() {
    let dir = synth_dir(&log());
    let whole = read_table(&export(dir.path(), "runs", "whole.csv"), &RUN_COLUMNS).unwrap();
    let kind = whole.column("kind").unwrap();
    let start = whole.column("start_unix_us").unwrap();
    // From the second run of the first plan: its lead-in (the first row) is before it.
    let runs: Vec<&Vec<Value>> = whole
        .rows
        .iter()
        .filter(|r| r[kind].as_str() == Some("run"))
        .collect();
    let since_us = runs[1][start].as_i64().unwrap();
    let since = format!("{}.{:06}", since_us / 1_000_000, since_us % 1_000_000);
    let out = dir.path().join("window.csv");
    let args = [
        "export",
        "runs",
        "--since",
        &since,
        "-o",
        out.to_str().unwrap(),
    ];
    ok(dir.path(), &args);
    let window = read_table(&out, &RUN_COLUMNS).unwrap();
    let expected: Vec<&Vec<Value>> = whole
        .rows
        .iter()
        .filter(|r| r[start].as_i64().is_some_and(|s| s >= since_us))
        .collect();
    assert!(
        expected.len() >= 4 && expected.len() < whole.rows.len(),
        "{expected:?}"
    );
    assert_eq!(window.rows.iter().collect::<Vec<_>>(), expected);
    let lead_in = window.column("baseline_is_lead_in").unwrap();
    assert_eq!(
        window.rows[0][lead_in],
        Value::Bool(true),
        "{:?}",
        window.rows[0]
    );
}

#[test]
fn samples_export_has_one_row_per_dumped_sample() {
    let dir = synth_dir(&log());
    let csv = read_table(&export(dir.path(), "samples", "s.csv"), SAMPLE_COLUMNS).unwrap();
    let pq = read_table(&export(dir.path(), "samples", "s.parquet"), SAMPLE_COLUMNS).unwrap();
    assert_eq!(csv, pq);
    let dumped: Vec<Json> = dump(dir.path())
        .into_iter()
        .filter(|r| r["type"] == "sample")
        .collect();
    assert_eq!(csv.rows.len(), dumped.len());
    for (i, d) in dumped.iter().enumerate() {
        assert_eq!(cell(&csv, i, "mono_us").as_i64(), d["mono_us"].as_i64());
        assert_eq!(cell(&csv, i, "tick").as_i64(), d["tick"].as_i64());
    }
    // The first sample has no interval before it; the idle stretch is 1 busy tick of 40.
    assert_eq!(cell(&csv, 0, "cpu_pct"), &Value::Null);
    assert_eq!(cell(&csv, 1, "cpu_pct").as_f64(), Some(2.5));
    assert_eq!(cell(&csv, 1, "cpu_core_sum_pct").as_f64(), Some(10.0));
    let ram = cell(&csv, 1, "ram_used_mb").as_f64().unwrap();
    assert!((ram - 1_000_000.0 / 1024.0).abs() < 1e-9, "{ram}");
    assert_eq!(cell(&csv, 1, "freq_mean_mhz").as_f64(), Some(1500.0));
    // 100 Hz INA219, 10 Hz samples: 10 readings per tick, about the idle power.
    assert_eq!(cell(&csv, 1, "power_source").as_str(), Some("ina219"));
    assert_eq!(cell(&csv, 1, "power_readings").as_i64(), Some(10));
    let w = cell(&csv, 1, "power_w").as_f64().unwrap();
    assert!((w - TRUTH.idle_w).abs() < 0.011 * TRUTH.idle_w, "{w}");
}

/// `export samples --since`: the whole log's rows of the samples in the window (rev-k: the
/// first sample lost its CPU % and the power readings of its interval, both before it).
#[test]
fn a_windows_samples_are_the_whole_logs_rows_of_them() {
    let dir = synth_dir(&log());
    let whole = read_table(&export(dir.path(), "samples", "whole.csv"), SAMPLE_COLUMNS).unwrap();
    let wall = whole.column("wall_unix_us").unwrap();
    let since_us = whole.rows[whole.rows.len() / 2][wall].as_i64().unwrap();
    let since = format!("{}.{:06}", since_us / 1_000_000, since_us % 1_000_000);
    let out = dir.path().join("window.csv");
    ok(
        dir.path(),
        &[
            "export",
            "samples",
            "--since",
            &since,
            "-o",
            out.to_str().unwrap(),
        ],
    );
    let window = read_table(&out, SAMPLE_COLUMNS).unwrap();
    let expected: Vec<&Vec<Value>> = whole
        .rows
        .iter()
        .filter(|r| r[wall].as_i64().is_some_and(|w| w >= since_us))
        .collect();
    assert!(expected.len() >= 10, "{}", expected.len());
    assert_eq!(window.rows.iter().collect::<Vec<_>>(), expected);
    let cpu = window.column("cpu_pct").unwrap();
    assert_ne!(window.rows[0][cpu], Value::Null, "{:?}", window.rows[0]);
}

/// The Python with duckdb and pyarrow: `EDGEWATT_PYTHON`, else the venv
/// scripts/lib/setup.sh makes under target/.
fn python() -> Option<PathBuf> {
    if std::env::var_os("EDGEWATT_SKIP_PYTHON").is_some() {
        return None;
    }
    let p = std::env::var_os("EDGEWATT_PYTHON").map_or_else(
        || crate::common::test_venv().join("bin/python"),
        PathBuf::from,
    );
    assert!(
        p.exists(),
        "{} is missing: run scripts/test.sh (it makes the venv with duckdb and pyarrow), or set \
         EDGEWATT_PYTHON to a python that has them, or EDGEWATT_SKIP_PYTHON=1 to skip",
        p.display()
    );
    Some(p)
}

#[test]
fn duckdb_and_pyarrow_read_the_parquet_back() {
    let Some(py) = python() else {
        eprintln!("EDGEWATT_SKIP_PYTHON set: the Parquet is not read back by Python");
        return;
    };
    let dir = synth_dir(&log());
    let runs = export(dir.path(), "runs", "runs.parquet");
    let samples = export(dir.path(), "samples", "samples.parquet");
    let dumped = dir.path().join("dump.jsonl");
    std::fs::write(
        &dumped,
        ok(dir.path(), &["dump", "--format", "jsonl"]).stdout,
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/export_check.py");
    let out = Command::new(py)
        .arg(script)
        .args([&runs, &samples, &dumped])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("runs: 8 rows (6 runs, 2 idle)"), "{text}");
    assert!(text.contains("ok"), "{text}");
}

/// The samples' first passes read before anything is written, so a log that cannot be read
/// leaves no file behind and nothing on stdout; a write that fails (a full disk on stdout) is named, and ends the export.
#[test]
fn an_export_that_cannot_read_or_write_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let out_file = tmp.path().join("s.csv");
    let out = crate::common::edgewatt()
        .args(["export", "samples", "-o"])
        .arg(&out_file)
        .arg("--dir")
        .arg(&missing)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("missing"), "{stderr}");
    assert!(!out_file.exists());
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "no temporary file left"
    );
    let out = crate::common::edgewatt()
        .args(["export", "samples", "--dir"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "not even a header on stdout");

    let dir = synth_dir(&log());
    for format in ["csv", "parquet"] {
        let out = crate::common::edgewatt()
            .args(["export", "samples", "--format", format, "--dir"])
            .arg(dir.path())
            .stdout(
                std::fs::File::options()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            )
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{format}: {stderr}");
        assert!(
            stderr.contains("stdout") && stderr.contains("No space left on device"),
            "{format}: {stderr}"
        );
    }
    // A file name that says no format, and a window that holds nothing: said, nothing
    // written (rev-c: .xlsx got CSV, and --since after --until an empty table, exit 0).
    let fails = |args: &[&str], said: &str| {
        let out = crate::common::edgewatt()
            .args(args)
            .arg("--dir")
            .arg(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    };
    let xlsx = tmp.path().join("runs.xlsx");
    fails(
        &["export", "runs", "-o", xlsx.to_str().unwrap()],
        "which format? name the file .csv, .jsonl or .parquet",
    );
    assert!(!xlsx.exists());
    fails(
        &["export", "samples", "--since", "20", "--until", "10"],
        "is not before --until",
    );
}

/// An output that is a directory, and dump's empty window: named, nothing read or written.
#[test]
fn a_directory_as_output_and_an_empty_window_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = synth_dir(&log());
    let out = crate::common::edgewatt()
        .args(["export", "runs", "-o"])
        .arg(tmp.path())
        .arg("--dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // Named before the log is read, with what to do (rev-k).
    assert!(
        stderr.contains("is a directory: name a file in it"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    // dump's window as export's (rev-k: dump printed nothing and exit 0).
    let out = crate::common::edgewatt()
        .args(["dump", "--since", "20", "--until", "10", "--state-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not before --until"), "{stderr}");
    assert!(out.stdout.is_empty());
}

/// The format of `-o FILE` in any case of its extension (rev-k: `runs.CSV` was refused).
#[test]
fn an_upper_case_extension_names_its_format() {
    let dir = synth_dir(&log());
    let lower = read_table(&export(dir.path(), "runs", "runs.parquet"), &RUN_COLUMNS).unwrap();
    let upper = read_table(&export(dir.path(), "runs", "RUNS.PARQUET"), &RUN_COLUMNS).unwrap();
    assert_eq!(lower, upper);
    assert!(!lower.rows.is_empty());
}
