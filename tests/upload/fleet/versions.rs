//! A bucket that holds the runs files of two edgewatt versions, read through docs/FLEET.md's
//! views (`union_by_name`, `mergeSchema`): a fleet upgraded one board at a time.

use serde_json::Value;

use super::close;
use super::fleet_sql;
use super::python;
use super::uploaded_fleet;
use super::S3;
use super::SKIP_SPARK_ENV;

/// The column appended last (the export's columns only grow), which an older edgewatt's
/// runs files lack.
/// The columns an older edgewatt did not write, newest last.
const NEWEST: [&str; 3] = [
    "estimate_held_out",
    "energy_prefill_coverage",
    "energy_decode_coverage",
];

/// Rewrites `device`'s runs files in the bucket as an older edgewatt wrote them: without
/// the columns `dropped`.
fn older(s3: &S3, bucket: &str, device: &str, dropped: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/upload/fleet_sql.py");
    let out = std::process::Command::new(python())
        .args([script, "older"])
        .arg(format!("s3://{bucket}/fleet/device={device}"))
        .args([&s3.endpoint(), &s3.key_id, &s3.secret])
        .args(dropped)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", super::text(&out));
}

/// The rows of a query whose `device_id` is `device`.
fn of<'a>(rows: &'a Value, device: &str) -> Vec<&'a Value> {
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["device_id"] == device)
        .collect()
}

/// The rows are the same numbers.
fn same(what: &str, got: &[&Value], want: &[&Value]) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        for (k, v) in w.as_object().unwrap() {
            close(&format!("{what} {k}"), &g[k], v);
        }
    }
}

/// pi-b's files lack the newest columns. Both devices keep every law; pi-a's rows are as
/// before; pi-b's estimate error keeps all its runs, as one group whose `held_out` is null
/// (not known to that version), not dropped. Spark gives what DuckDB gives.
#[test]
fn the_views_read_a_bucket_of_two_edgewatt_versions() {
    let Some(s3) = super::super::server::s3() else {
        return;
    };
    let fleet = uploaded_fleet(s3);
    let new = fleet_sql("duckdb", s3, &fleet.bucket);
    older(s3, &fleet.bucket, "pi-b", &NEWEST);
    let mixed = fleet_sql("duckdb", s3, &fleet.bucket);
    let n_cols = edgewatt::export::RUN_COLUMNS.len() as u64;
    for (key, f) in mixed["files"].as_object().unwrap() {
        let want = if key.contains("device=pi-b/") {
            n_cols - NEWEST.len() as u64
        } else {
            n_cols
        };
        assert_eq!(f[1].as_u64(), Some(want), "{key}");
    }
    for newest in NEWEST {
        assert!(
            mixed["columns"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == newest),
            "{newest}: {}",
            mixed["columns"]
        );
    }
    for q in ["token_law", "j_per_token", "estimate_error"] {
        same(q, &of(&mixed[q], "pi-a"), &of(&new[q], "pi-a"));
    }
    for q in ["token_law", "j_per_token"] {
        assert!(!of(&new[q], "pi-b").is_empty(), "{q}");
        same(q, &of(&mixed[q], "pi-b"), &of(&new[q], "pi-b"));
    }
    let (before, after) = (
        of(&new["estimate_error"], "pi-b"),
        of(&mixed["estimate_error"], "pi-b"),
    );
    let runs = |rows: &[&Value]| rows.iter().map(|r| r["n"].as_u64().unwrap()).sum::<u64>();
    assert!(runs(&before) > 0, "{before:?}");
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0]["held_out"], Value::Null, "{after:?}");
    assert_eq!(runs(&after), runs(&before), "{after:?} vs {before:?}");
    if std::env::var_os(SKIP_SPARK_ENV).is_some() {
        eprintln!("{SKIP_SPARK_ENV} is set: the Spark half is skipped");
        return;
    }
    let spark = fleet_sql("spark", s3, &fleet.bucket);
    for q in ["token_law", "j_per_token", "estimate_error"] {
        for device in ["pi-a", "pi-b"] {
            same(q, &of(&spark[q], device), &of(&mixed[q], device));
        }
    }
}
