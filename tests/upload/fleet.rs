//! A fleet read back: two synthetic devices uploaded to the moto server with their
//! per-segment Parquet; the SQL of docs/FLEET.md (extracted from the doc) on DuckDB over
//! `s3://` against `edgewatt report --source s3://…`; `report` and `export` over the bucket
//! against the same over the state directories.

use std::path::Path;
use std::path::PathBuf;
use std::process::Output;

use edgewatt::clock::Anchor;
use edgewatt::config::StoreConfig;
use edgewatt::record::SealReason;
use edgewatt::store::SegmentIdent;
use edgewatt::store::Writer;
use edgewatt::synth::calib::spread;
use edgewatt::synth::calib::write;
use edgewatt::synth::calib::PowerTruth;
use edgewatt::synth::calib::SynthLog;
use serde_json::Value;

use super::bucket;
use super::credentials;
use super::server::python;
use super::server::S3;
use super::text;
use crate::common::edgewatt;

/// Two boards with different power (so their laws differ).
const TRUTHS: [PowerTruth; 2] = [
    PowerTruth {
        idle_w: 3.2,
        cpu_w_per_pct: 0.038,
        ram_w_per_mb: 0.0015,
        cpu_ghz_w_per_pct_ghz: 0.0,
    },
    PowerTruth {
        idle_w: 3.6,
        cpu_w_per_pct: 0.046,
        ram_w_per_mb: 0.0011,
        cpu_ghz_w_per_pct_ghz: 0.0,
    },
];

/// A state directory of `device`: 12 runs; with `idle_segment`, then a segment without runs.
fn device_dir(root: &Path, device: &str, i: usize, idle_segment: bool) -> PathBuf {
    let dir = root.join(device);
    let mut log = SynthLog::new(TRUTHS[i], spread(12, false));
    log.device_id = device.to_owned();
    log.seed = 7 + i as u64;
    write(&dir, &log).unwrap();
    if idle_segment {
        let ident = SegmentIdent {
            device_id: device.to_owned(),
            boot_id: "boot-2".to_owned(),
            host: "synth".to_owned(),
        };
        let anchor = Anchor {
            mono_us: 0,
            wall_unix_us: 1_750_100_000_000_000,
        };
        let opts = StoreConfig::default().options(dir.clone());
        let (w, _) = Writer::open(opts, ident, anchor).unwrap();
        w.close(SealReason::Shutdown, 1_000).unwrap();
    }
    dir
}

/// A config uploading `state` (and naming the server for `--source s3://`).
fn fleet_config(root: &Path, state: &Path, s3: &S3, bucket: &str) -> PathBuf {
    let creds = credentials(root, &s3.key_id, &s3.secret);
    let name = state.file_name().unwrap().to_str().unwrap();
    let path = root.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "state_dir = {state:?}\ndevice_id = \"{name}\"\n\
             [upload]\nendpoint = \"{}\"\nbucket = \"{bucket}\"\nallow_http = true\n\
             prefix = \"fleet\"\ncredentials_file = {creds:?}\n",
            s3.endpoint()
        ),
    )
    .unwrap();
    path
}

fn run(args: &[&str], config: &Path) -> Output {
    let out = edgewatt()
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Asserts `got` (from SQL) equals `want` (from the report) to 1e-9 relative.
#[track_caller]
fn close(what: &str, got: &Value, want: &Value) {
    match (got.as_f64(), want.as_f64()) {
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= 1e-9 * w.abs().max(1e-6),
            "{what}: SQL {g} vs report {w}"
        ),
        _ => assert_eq!(got, want, "{what}"),
    }
}

/// The report's law of `row`'s device, model, workload and threads.
fn law<'a>(report: &'a Value, row: &Value) -> &'a Value {
    let key = ["device", "model", "workload", "threads"];
    let sql = ["device_id", "model", "workload", "threads"];
    report["llm"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| key.iter().zip(sql).all(|(k, s)| l[k] == row[s]))
        .unwrap_or_else(|| panic!("no law in the report for {row}"))
}

fn fit<'a>(law: &'a Value, metric: &str) -> &'a Value {
    law["fits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["metric"] == metric)
        .unwrap()
}

fn check_token_law(sql: &Value, report: &Value) {
    let rows = sql.as_array().unwrap();
    assert_eq!(rows.len(), report["llm"].as_array().unwrap().len(), "{sql}");
    assert_eq!(rows.len(), 2, "one law per device: {sql}");
    for row in rows {
        let l = law(report, row);
        for (metric, n, slope, intercept, r2) in [
            (
                "cpu_auc",
                "n",
                "cpu_pct_s_per_token",
                "cpu_pct_s_intercept",
                "cpu_r2",
            ),
            (
                "energy_measured",
                "energy_n",
                "j_per_token",
                "j_intercept",
                "energy_r2",
            ),
        ] {
            let f = fit(l, metric);
            assert!(f["n"].as_u64().unwrap() >= 10, "{metric}: {f}");
            close(&format!("{metric} n"), &row[n], &f["n"]);
            close(
                &format!("{metric} slope"),
                &row[slope],
                &f["slope"]["value"],
            );
            close(
                &format!("{metric} intercept"),
                &row[intercept],
                &f["intercept"]["value"],
            );
            close(&format!("{metric} r2"), &row[r2], &f["r2"]);
        }
    }
}

fn check_j_per_token(sql: &Value, report: &Value) {
    let rows = sql.as_array().unwrap();
    assert_eq!(rows.len(), report["llm"].as_array().unwrap().len());
    for row in rows {
        let l = law(report, row);
        assert!(row["n"].as_u64().unwrap() >= 10, "{row}");
        for k in ["decode_j_per_token", "prefill_j_per_token"] {
            close(k, &row[k], &l[k]["value"]);
        }
    }
}

fn check_estimate_error(sql: &Value, report: &Value) {
    let rows = sql.as_array().unwrap();
    let want = report["estimate_errors"].as_array().unwrap();
    assert_eq!(rows.len(), want.len(), "{sql}");
    assert_eq!(rows.len(), 2, "one per device");
    for (row, e) in rows.iter().zip(want) {
        assert_eq!(row["device_id"], e["device"]);
        assert_eq!(row["calibration"], e["source"]);
        for (s, r) in [
            ("n", "n"),
            ("mape_pct", "mape_pct"),
            ("bias_j", "bias_j"),
            ("bias_pct", "bias_pct"),
        ] {
            close(s, &row[s], &e[r]);
        }
    }
}

/// The SQL of docs/FLEET.md on DuckDB, reading the bucket from the server.
fn duckdb_sql(s3: &S3, bucket: &str) -> Value {
    let doc = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/FLEET.md");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/upload/fleet_sql.py");
    let out = std::process::Command::new(python())
        .args([script, "duckdb", doc])
        .arg(format!("s3://{bucket}/fleet"))
        .args([&s3.endpoint(), &s3.key_id, &s3.secret])
        .output()
        .unwrap();
    assert!(out.status.success(), "fleet_sql.py: {}", text(&out));
    json(&out)
}

#[test]
fn fleet_sql_on_duckdb_over_s3_gives_the_report_s_numbers() {
    let Some(s3) = super::server::s3() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let a = device_dir(tmp.path(), "pi-a", 0, false);
    let b = device_dir(tmp.path(), "pi-b", 1, true);
    let bkt = bucket("fleet");
    s3.create_bucket(&bkt);
    let cfg_a = fleet_config(tmp.path(), &a, s3, &bkt);
    let cfg_b = fleet_config(tmp.path(), &b, s3, &bkt);
    run(&["upload"], &cfg_a);
    run(&["upload"], &cfg_b);
    let (stored, _) = s3.list(&bkt);
    let kinds = |suffix: &str| stored.iter().filter(|o| o.key.ends_with(suffix)).count();
    assert_eq!(
        (
            kinds(".ewlog"),
            kinds(".runs.parquet"),
            kinds(".samples.parquet")
        ),
        (3, 3, 3),
        "each segment with its two Parquet files: {stored:?}"
    );

    // The same Parquet again after the manifest is lost: recognised, nothing sent.
    std::fs::remove_file(b.join("upload-manifest.json")).unwrap();
    let again = text(&run(&["upload"], &cfg_b));
    assert!(
        again.contains("(3 objects, ") && again.contains(", 0 sent,"),
        "{again}"
    );
    assert_eq!(s3.list(&bkt).0.len(), stored.len(), "nothing beside");

    let sql = duckdb_sql(s3, &bkt);
    let columns: Vec<&str> = sql["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for c in ["device", "date", "device_id", "model", "flagged"] {
        assert_eq!(columns.iter().filter(|n| **n == c).count(), 1, "{c}");
    }
    let mirror = tmp.path().join("mirror");
    let src = format!("s3://{bkt}/fleet");
    let m = mirror.to_str().unwrap();
    let report = json(&run(
        &[
            "report", "--format", "json", "--source", &src, "--mirror", m,
        ],
        &cfg_a,
    ));
    check_token_law(&sql["token_law"], &report);
    check_j_per_token(&sql["j_per_token"], &report);
    check_estimate_error(&sql["estimate_error"], &report);

    // The bucket as source reports and exports what the state directories do.
    let again = run(
        &[
            "report", "--format", "json", "--source", &src, "--mirror", m,
        ],
        &cfg_a,
    );
    let said = text(&again);
    assert!(
        said.contains("fetched 0 segments (0 bytes), 3 already in"),
        "{said}"
    );
    let (a_dir, b_dir) = (a.to_str().unwrap(), b.to_str().unwrap());
    let mut local = json(&run(
        &["report", "--format", "json", "--dir", a_dir, "--dir", b_dir],
        &cfg_a,
    ));
    let mut remote = json(&again);
    local["sources"] = Value::Null;
    remote["sources"] = Value::Null;
    assert_eq!(
        remote, local,
        "report over the bucket and over the directories"
    );
    for what in ["runs", "samples"] {
        let from_dirs = run(&["export", what, "--dir", a_dir, "--dir", b_dir], &cfg_a);
        let from_bucket = run(&["export", what, "--source", &src, "--mirror", m], &cfg_a);
        assert!(from_dirs.stdout.len() > 1000, "{what}");
        assert!(
            from_bucket.stdout == from_dirs.stdout,
            "export {what} over the bucket and over the directories"
        );
    }
}
