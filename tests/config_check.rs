//! `edgewatt config check`: bad power values and bad plans are refused at load time with
//! exit code 2, naming file:line:column and the key, or the plan file.

use std::path::Path;
use std::path::PathBuf;
use std::process::Output;

use crate::common::edgewatt;

fn check(config: &Path) -> Output {
    edgewatt()
        .args(["config", "check", "--config"])
        .arg(config)
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Asserts exit code 2 and that stderr holds `expected`; returns stderr.
fn refused(out: &Output, expected: &str) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(expected), "expected {expected:?} in {err}");
    err
}

#[test]
fn bad_power_values_name_file_line_column_and_key() {
    let dir = tempfile::tempdir().unwrap();
    // (config text, "line:column: key: message start")
    let cases = [
        (
            "[power.ina219]\nshunt_uohm = 1\n",
            "2:14: power.ina219.shunt_uohm: 1 µΩ is too small a shunt",
        ),
        (
            "[power]\nsource = \"ina219\"\n\n[power.ina219]\naveraging = 7\n",
            "5:13: power.ina219.averaging: 7 is not an averaging count: use 1, 2, 4, 8, 16, 32, 64 or 128",
        ),
        (
            "[power.ina219]\naddress = 0x50\n",
            "2:11: power.ina219.address: 0x50 is out of range: an INA219 answers at 0x40..=0x4F",
        ),
        (
            "[power.ina219]\nmax_poll_hz = 0\n",
            "2:15: power.ina219.max_poll_hz: 0 is out of range: expected at least 1 Hz",
        ),
        (
            "[power.pmic]\ninterval_ms = 0\n",
            "2:15: power.pmic.interval_ms: 0 is out of range: expected 1–60000 ms",
        ),
        (
            "[power]\nsource = \"replay\"\n",
            "2:10: power.source: \"replay\" needs power.replay.path",
        ),
    ];
    for (text, expected) in cases {
        let config = write(dir.path(), "edgewatt.toml", text);
        refused(
            &check(&config),
            &format!("edgewatt: error: {}:{expected}", config.display()),
        );
    }
}

#[test]
fn a_bad_power_value_stops_the_daemon_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "edgewatt.toml",
        &format!(
            "state_dir = \"{}\"\n[power.ina219]\naveraging = 3\n",
            dir.path().join("state").display()
        ),
    );
    let out = edgewatt()
        .args(["run", "--duration-s", "0.2", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    refused(
        &out,
        &format!("{}:3:13: power.ina219.averaging", config.display()),
    );
    assert!(!dir.path().join("state").exists(), "nothing was logged");
}

const GOOD_PLAN: &str = "name = \"demo\"\nrepetitions = 2\n[[workload]]\nname = \"llm\"\n\
                         model = \"m.gguf\"\nprompt_tokens = [16, 64]\ngen_tokens = 8\n";

fn config_with_plans(dir: &Path, plans: &[&Path]) -> PathBuf {
    let list: Vec<String> = plans
        .iter()
        .map(|p| format!("\"{}\"", p.display()))
        .collect();
    write(
        dir,
        "edgewatt.toml",
        &format!(
            "plans = [{}]\n[power]\nsource = \"none\"\n",
            list.join(", ")
        ),
    )
}

#[test]
fn a_good_config_with_a_good_plan_passes() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write(dir.path(), "plan.toml", GOOD_PLAN);
    write(dir.path(), "m.gguf", "");
    let config = config_with_plans(dir.path(), &[&plan]);
    let out = check(&config);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout,
        format!(
            "ok: plan {} (\"demo\", 1 workloads)\nok: {}\n",
            plan.display(),
            config.display()
        )
    );
}

#[test]
fn bad_plans_are_reported_naming_the_plan_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.toml", GOOD_PLAN);
    write(dir.path(), "m.gguf", "");
    let unknown = write(
        dir.path(),
        "unknown.toml",
        &format!("{GOOD_PLAN}repeats = 3\n"),
    );
    let impossible = write(
        dir.path(),
        "impossible.toml",
        &GOOD_PLAN.replace("repetitions = 2", "repetitions = 0"),
    );
    let missing = dir.path().join("missing.toml");
    let config = config_with_plans(dir.path(), &[&good, &unknown, &impossible, &missing]);
    let out = check(&config);
    let err = refused(
        &out,
        &format!("plan {}:8:1: unknown field `repeats`", unknown.display()),
    );
    assert!(
        err.contains(&format!(
            "plan {}: key repetitions: must be at least 1",
            impossible.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("plan {}: cannot read", missing.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("(listed in `plans` of {})", config.display())),
        "{err}"
    );
    assert_eq!(err.lines().count(), 3, "one line per bad plan: {err}");
    assert!(!err.contains(&good.display().to_string()), "{err}");
}

#[test]
fn two_plans_of_one_name_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let first = write(dir.path(), "first.toml", GOOD_PLAN);
    let second = write(dir.path(), "second.toml", GOOD_PLAN);
    write(dir.path(), "m.gguf", "");
    let out = check(&config_with_plans(dir.path(), &[&first, &second]));
    refused(
        &out,
        &format!(
            "edgewatt: error: plan {}: key name: \"demo\" is also the name of plan {}; \
             the daemon would skip this one: rename one",
            second.display(),
            first.display()
        ),
    );
}

#[test]
fn files_a_plan_names_that_do_not_exist_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let plan = write(
        dir.path(),
        "vlm.toml",
        &format!("{GOOD_PLAN}mmproj = \"generate:qwen2vl\"\nimages = [\"224x224\", \"cat.png\"]\n"),
    );
    let config = config_with_plans(dir.path(), &[&plan]);
    let out = check(&config);
    let err = refused(
        &out,
        &format!(
            "plan {}: workload \"llm\": key model: {} does not exist",
            plan.display(),
            dir.path().join("m.gguf").display()
        ),
    );
    assert!(
        err.contains(&format!(
            "key images: {} does not exist",
            dir.path().join("cat.png").display()
        )),
        "{err}"
    );
    // A generated projector and a synthetic size name no file.
    assert_eq!(err.lines().count(), 2, "{err}");
    write(dir.path(), "m.gguf", "");
    write(dir.path(), "cat.png", "");
    assert!(check(&config).status.success());
}

#[test]
fn a_replay_trace_that_cannot_be_played_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let config = write(
        dir.path(),
        "edgewatt.toml",
        &format!(
            "[power]\nsource = \"replay\"\n[power.replay]\npath = \"{}\"\n",
            empty.display()
        ),
    );
    refused(
        &check(&config),
        &format!(
            "edgewatt: error: power.replay.path: replay trace {}: a directory, but no edgewatt \
             segments (*.ewlog) in it",
            empty.display()
        ),
    );
    let csv = write(dir.path(), "t.csv", "0,,,1000\n500,,,2000\n");
    let config = write(
        dir.path(),
        "edgewatt.toml",
        &format!(
            "[power]\nsource = \"replay\"\n[power.replay]\npath = \"{}\"\n",
            csv.display()
        ),
    );
    let out = check(&config);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "ok: power.replay.path: replay of {} (2 readings, recorded values, not measured \
             now)\nok: {}\n",
            csv.display(),
            config.display()
        )
    );
}
