//! The schedule through `edgewatt run`: a time of day missed while the daemon was down
//! (the state directory's `schedule.json` says when the plan last started) runs once at
//! start, its generated projector goes to the state directory, and a restart does not run
//! it again. The daemon's time zone is fixed with `TZ=UTC0` (the daemon reads the system
//! zone from `TZ`, as on a Pi from /etc/localtime).

use std::path::Path;
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;
use std::time::Instant;

use serde_json::Value;

use super::models;
use super::write_daemon_config;
use crate::common::dump;
use crate::common::edgewatt;
use crate::common::signal;
use crate::common::Ready;

/// Starts `edgewatt run` once it is ready, and stops it (SIGTERM) once `done` holds for
/// the log, which it reads as the daemon writes it.
fn run_until(ready: &Ready, config: &Path, state: &Path, done: impl Fn(&[Value]) -> bool) {
    let mut daemon: Child = ready.spawn(
        edgewatt()
            .args(["run", "--config"])
            .arg(config)
            .env("TZ", "UTC0"),
    );
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let records = dump(state);
        if done(&records) {
            break;
        }
        assert!(daemon.try_wait().unwrap().is_none(), "{records:#?}");
        assert!(Instant::now() < deadline, "not done in 300 s: {records:#?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    signal(daemon.id(), libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());
}

fn events<'a>(records: &'a [Value], name: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["event"] == name).collect()
}

#[test]
fn a_time_of_day_missed_while_down_runs_once_at_start_and_not_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // A time of day two hours ago (UTC), and a last start a day ago: missed once.
    let at_s = (now_s - 7200).div_euclid(60) * 60;
    let at = format!(
        "{:02}:{:02}",
        at_s.rem_euclid(86_400) / 3600,
        at_s.rem_euclid(3600) / 60
    );
    std::fs::write(
        state.join("schedule.json"),
        format!(
            "{{\"format\":1,\"plans\":{{\"nightly\":{{\"last_start_unix_s\":{}}}}}}}",
            now_s - 86_400
        ),
    )
    .unwrap();
    let config = write_daemon_config(dir.path(), &state, &write_nightly_vlm_plan(dir.path(), &at));
    let ready = Ready::new(dir.path());
    run_until(&ready, &config, &state, |r| {
        r.iter().any(|r| r["type"] == "run")
    });
    let records = dump(&state);
    let due = events(&records, "plan_due");
    assert_eq!(due.len(), 1, "{due:#?}");
    assert_eq!(due[0]["plan"], "nightly");
    assert_eq!(due[0]["trigger"], format!("at {at}"));
    assert_eq!(due[0]["scheduled_unix_s"], at_s);
    assert_eq!(due[0]["catch_up"], true);
    check_run_projector_and_saved_start(&records, &state, now_s);

    // Restarted: it ran after its time, so nothing is due until tomorrow.
    run_until(
        &ready,
        &config,
        &state,
        a_second_daemon_sampled_after_deciding,
    );
    let records = dump(&state);
    assert_eq!(events(&records, "start").len(), 2);
    assert_eq!(events(&records, "plan_due").len(), 1, "not run again");
    assert_eq!(records.iter().filter(|r| r["type"] == "run").count(), 1);
}

/// The plan `nightly`, due at the time of day `at` (HH:MM) only, of one VLM run with a
/// generated projector; returns its path.
fn write_nightly_vlm_plan(dir: &Path, at: &str) -> PathBuf {
    let plan = dir.join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "name = \"nightly\"\n[when]\nat_start = false\nat = [\"{at}\"]\n\
             [[workload]]\nname = \"vlm\"\nmodel = \"{}\"\nmmproj = \"generate:qwen2vl\"\n\
             images = [\"224x224\"]\nprompt_tokens = [8]\ngen_tokens = 2\nthreads = [1]\n",
            models().llama.display()
        ),
    )
    .unwrap();
    plan
}

/// The run succeeded with its generated projector in the state directory (not in a shared
/// /tmp), and `schedule.json` saved a start at or after `now_s`.
fn check_run_projector_and_saved_start(records: &[Value], state: &Path, now_s: i64) {
    let run = records.iter().find(|r| r["type"] == "run").unwrap();
    assert_eq!(run["ok"], true, "{run}");
    let projector = state.join("generated/qwen2vl-64.gguf");
    assert!(projector.is_file(), "{}", projector.display());
    assert_eq!(
        run["mmproj"]["path"],
        projector.display().to_string(),
        "{run}"
    );
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("schedule.json")).unwrap())
            .unwrap();
    let last = saved["plans"]["nightly"]["last_start_unix_s"]
        .as_i64()
        .unwrap();
    assert!(last >= now_s, "{saved}");
}

/// The scheduler decides on the first tick; a sample of the second daemon's third tick is
/// later.
fn a_second_daemon_sampled_after_deciding(records: &[Value]) -> bool {
    let Some(second) = events(records, "start")
        .get(1)
        .map(|s| s["mono_us"].as_u64().unwrap())
    else {
        return false;
    };
    records.iter().any(|s| {
        s["type"] == "sample"
            && s["mono_us"].as_u64().unwrap() > second
            && s["tick"].as_u64() >= Some(2)
    })
}

#[test]
fn a_second_plan_of_the_same_name_is_a_plan_error_and_the_first_is_scheduled() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut paths = Vec::new();
    for file in ["a.toml", "b.toml"] {
        let path = dir.path().join(file);
        std::fs::write(
            &path,
            format!(
                "name = \"same\"\n[[workload]]\nname = \"llm\"\nmodel = \"{}\"\n",
                models().llama.display()
            ),
        )
        .unwrap();
        paths.push(format!("\"{}\"", path.display()));
    }
    let config = dir.path().join("edgewatt.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"{}\"\nplans = [{}]\n[power]\nsource = \"none\"\n",
            state.display(),
            paths.join(", ")
        ),
    )
    .unwrap();
    crate::common::run_config(&config, "1");
    let records = dump(&state);
    let errors = events(&records, "plan_error");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0]["plan"].as_str().unwrap().ends_with("b.toml"));
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("another plan is named \"same\""),
        "{}",
        errors[0]
    );
    let due = events(&records, "plan_due");
    assert_eq!(due.len(), 1, "{due:#?}");
    assert_eq!(due[0]["trigger"], "at_start");
    assert_eq!(due[0]["catch_up"], false);
}
