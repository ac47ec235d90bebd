//! The comparisons of the fleet test: the SQL's rows against the report's JSON, and the
//! layout the engines see.

use serde_json::Value;

/// Asserts `got` (from SQL) equals `want` (the report, or the other engine) to 1e-9 relative.
#[track_caller]
pub fn close(what: &str, got: &Value, want: &Value) {
    match (got.as_f64(), want.as_f64()) {
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= 1e-9 * w.abs().max(1e-6),
            "{what}: {g} vs {w}"
        ),
        _ => assert_eq!(got, want, "{what}"),
    }
}

/// The report's law of `row`'s device, model, plan, workload and threads (the report names
/// a workload of several plans `plan/workload`).
fn law<'a>(report: &'a Value, row: &Value) -> &'a Value {
    let key = ["device", "model", "plan", "threads"];
    let sql = ["device_id", "model", "plan", "threads"];
    let workload = row["workload"].as_str().unwrap();
    let in_plan = format!("{}/{workload}", row["plan"].as_str().unwrap());
    report["llm"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| key.iter().zip(sql).all(|(k, s)| l[k] == row[s]))
        .find(|l| l["workload"] == workload || l["workload"] == in_plan.as_str())
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

pub fn check_token_law(sql: &Value, report: &Value) {
    let rows = sql.as_array().unwrap();
    assert_eq!(rows.len(), report["llm"].as_array().unwrap().len(), "{sql}");
    // pi-a's workload is in two plans: two laws (the SQL without `plan` gave one of their mix).
    assert_eq!(rows.len(), 3, "a law per device and plan: {sql}");
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
            assert!(f["n"].as_u64().unwrap() >= 4, "{metric}: {f}");
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

pub fn check_j_per_token(sql: &Value, report: &Value) {
    let rows = sql.as_array().unwrap();
    assert_eq!(rows.len(), report["llm"].as_array().unwrap().len());
    for row in rows {
        let l = law(report, row);
        assert!(row["n"].as_u64().unwrap() >= 4, "{row}");
        for k in ["decode_j_per_token", "prefill_j_per_token"] {
            close(k, &row[k], &l[k]["value"]);
        }
    }
}

pub fn check_estimate_error(sql: &Value, report: &Value) {
    let rows = sql.as_array().unwrap();
    let want = report["estimate_errors"].as_array().unwrap();
    assert_eq!(rows.len(), want.len(), "{sql}");
    assert_eq!(rows.len(), 2, "one per device");
    for (row, e) in rows.iter().zip(want) {
        assert_eq!(row["device_id"], e["device"]);
        assert_eq!(row["calibration"], e["source"]);
        assert_eq!(row["held_out"], e["held_out"]);
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

/// Hive's `device` and `date` beside the files' own columns, once each; every runs file
/// read, the one of the segment without runs with no rows.
pub fn check_layout(sql: &Value) {
    let columns: Vec<&str> = sql["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for c in ["device", "date", "device_id", "model", "flagged"] {
        assert_eq!(columns.iter().filter(|n| **n == c).count(), 1, "{c}");
    }
    let files = sql["files"].as_object().unwrap();
    let rows: Vec<u64> = files.values().map(|f| f[0].as_u64().unwrap()).collect();
    assert_eq!(files.len(), 3, "{files:?}");
    assert_eq!(rows.iter().filter(|&&n| n == 0).count(), 1, "{files:?}");
    let n_cols = edgewatt::export::RUN_COLUMNS.len() as u64;
    for (key, f) in files {
        assert_eq!(
            f[1].as_u64(),
            Some(n_cols),
            "{key}: the schema, rows or not"
        );
    }
}
