//! The daemon logs the configured power source's readings as Power records, exact
//! values in, exact values out; an absent sensor is one warning and sampling goes on.

use std::path::Path;

use serde_json::Value;

use crate::common::dump;
use crate::common::run_config;

fn config(dir: &Path, power: &str) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pi5");
    let path = dir.join("edgewatt.toml");
    std::fs::write(
        &path,
        format!(
            "state_dir = \"{}\"\n[sampler]\nrate_hz = 20\nproc_root = \"{}\"\n\
             sys_root = \"{}\"\n[store]\nfsync_interval_ms = 100\n{power}",
            dir.join("state").display(),
            root.join("proc").display(),
            root.join("sys").display()
        ),
    )
    .unwrap();
    path
}

/// Writes the 20-reading trace of [`replayed_power_readings_are_logged_exactly`] to `csv`.
fn write_trace(csv: &Path) {
    // 20 readings 10 ms apart: 5.1 V, 0.6 A + 1 mA per reading, P = V·I.
    let mut text = String::from("mono_us,bus_uv,current_ua,power_uw\n");
    for i in 0..20i64 {
        let current_ua = 600_000 + i * 1000;
        let power_uw = 5_100_000 * current_ua / 1_000_000;
        text.push_str(&format!(
            "{},5100000,{current_ua},{power_uw}\n",
            1_000_000 + i * 10_000
        ));
    }
    std::fs::write(csv, text).unwrap();
}

#[test]
fn replayed_power_readings_are_logged_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("trace.csv");
    write_trace(&csv);
    let cfg = config(
        dir.path(),
        &format!(
            "[power]\nsource = \"replay\"\n[power.replay]\npath = \"{}\"\n",
            csv.display()
        ),
    );
    run_config(&cfg, "0.6");
    let records = dump(&dir.path().join("state"));
    let power: Vec<&Value> = records.iter().filter(|r| r["type"] == "power").collect();
    assert_eq!(power.len(), 20, "every reading of the trace is logged once");
    for (i, r) in power.iter().enumerate() {
        let current_ua = 600_000 + i as i64 * 1000;
        assert_eq!(r["current_ua"], current_ua);
        assert_eq!(r["bus_uv"], 5_100_000);
        assert_eq!(r["power_uw"], 5_100_000 * current_ua / 1_000_000);
        assert!(r["source"].as_str().unwrap().starts_with("replay of"));
    }
    let spacing: Vec<u64> = power
        .windows(2)
        .map(|w| w[1]["mono_us"].as_u64().unwrap() - w[0]["mono_us"].as_u64().unwrap())
        .collect();
    assert!(
        spacing.iter().all(|&d| d == 10_000),
        "played back on the clock: {spacing:?}"
    );
    assert!(
        records.iter().any(|r| r["type"] == "sample"),
        "/proc sampling went on"
    );
}

#[test]
fn an_absent_sensor_is_one_warning_and_sampling_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        "[power]\nsource = \"ina219\"\n[power.ina219]\nbus = 77\n",
    );
    let out = run_config(&cfg, "0.6");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("absent").count(), 1, "one warning: {err}");
    let records = dump(&dir.path().join("state"));
    let absent: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"] == "sensor_absent")
        .collect();
    assert_eq!(absent.len(), 1);
    assert!(
        absent[0]["message"].as_str().unwrap().contains("i2c-77"),
        "{}",
        absent[0]
    );
    // 0.6 s at 20 Hz: 13 ticks, sampled or reported missed (a starved machine skips them).
    let n = records.iter().filter(|r| r["type"] == "sample").count() as u64;
    assert!(
        n + crate::common::missed_ticks(&records) >= 10,
        "{n} samples"
    );
    assert!(!records.iter().any(|r| r["type"] == "power"));
}

#[test]
fn a_recorded_log_replays_its_readings_exactly() {
    // First daemon: replays the CSV trace and logs it. Second: replays that log.
    let first = tempfile::tempdir().unwrap();
    let csv = first.path().join("trace.csv");
    write_trace(&csv);
    let state = first.path().join("state");
    let cfg = config(
        first.path(),
        &format!(
            "[power]\nsource = \"replay\"\n[power.replay]\npath = \"{}\"\n",
            csv.display()
        ),
    );
    run_config(&cfg, "0.6");
    let second = tempfile::tempdir().unwrap();
    let cfg = config(
        second.path(),
        &format!(
            "[power]\nsource = \"replay\"\n[power.replay]\npath = \"{}\"\n",
            state.display()
        ),
    );
    run_config(&cfg, "0.6");
    let records = dump(&second.path().join("state"));
    let power: Vec<&Value> = records.iter().filter(|r| r["type"] == "power").collect();
    assert_eq!(power.len(), 20);
    let t0 = power[0]["mono_us"].as_u64().unwrap();
    for (i, r) in power.iter().enumerate() {
        let current_ua = 600_000 + i as i64 * 1000;
        assert_eq!(r["mono_us"].as_u64().unwrap() - t0, i as u64 * 10_000);
        assert_eq!(r["current_ua"], current_ua);
        assert_eq!(r["bus_uv"], 5_100_000);
        assert_eq!(r["power_uw"], 5_100_000 * current_ua / 1_000_000);
    }
    let label = power[0]["source"].as_str().unwrap();
    assert!(
        label.starts_with(&format!(
            "replay of {} (20 readings recorded by replay of {} (20 readings",
            state.display(),
            csv.display()
        )),
        "{label}"
    );
    // `edgewatt sensors --replay` detects the same log.
    let out = crate::common::edgewatt()
        .args(["sensors", "--seconds", "0", "--replay"])
        .arg(&state)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "replay  present  replay of {} (20 readings",
            state.display()
        )),
        "{text}"
    );
}
