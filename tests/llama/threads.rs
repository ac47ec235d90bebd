//! The workload thread dies for real — a panic as it takes up a plan — inside
//! `edgewatt::daemon::run` in this process: the death is logged, the thread is started
//! again, the plan runs at its next start by its `[when]`, with real inference, and
//! sampling never stops.

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use edgewatt::daemon::RunOptions;
use serde_json::Value;

use super::models;
use crate::common::dump;
use crate::threads::assert_no_sample_lost;
use crate::threads::config;
use crate::threads::wait_for_log;
use crate::threads::InProcess;

#[test]
fn a_workload_thread_that_panics_is_logged_started_again_and_its_plan_runs_next_time() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "name = \"again\"\n[when]\nat_start = true\nevery_s = 2\n[[workload]]\n\
             name = \"llm\"\nmodel = \"{}\"\nprompt_tokens = [8]\ngen_tokens = 4\n\
             threads = [1]\n",
            models().llama.display()
        ),
    )
    .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let opts = RunOptions {
        worker_exe: Some(env!("CARGO_BIN_EXE_edgewatt").into()),
        on_plan_start: Some(Arc::new(move |p: &edgewatt::plan::Plan| {
            if c.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!(
                    "injected: the workload thread dies taking up plan {}",
                    p.name
                );
            }
        })),
        ..RunOptions::default()
    };
    let more = format!(
        "plans = [\"{}\"]\n[power]\nsource = \"none\"",
        plan.display()
    );
    let daemon = InProcess::start(config(dir.path(), &more), opts);
    let ok_run = |r: &Value| r["type"] == "run" && r["ok"] == true;
    wait_for_log(&state, "a run after the thread's death", |r| {
        r.iter().any(|e| e["event"] == "thread_died") && r.iter().any(ok_run)
    });
    assert_eq!(daemon.stop().stop_reason, "SIGTERM");

    let records = dump(&state);
    let died: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"] == "thread_died")
        .collect();
    assert_eq!(died.len(), 1, "{died:?}");
    assert_eq!(died[0]["thread"], "workloads");
    assert_eq!(died[0]["restart_after_ms"], 0);
    let message = died[0]["message"].as_str().unwrap();
    assert!(
        message.contains("injected: the workload thread dies"),
        "{message}"
    );
    let death_us = died[0]["mono_us"].as_u64().unwrap();
    let due: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"] == "plan_due")
        .collect();
    assert!(due.len() >= 2, "due at start, then by every_s: {due:?}");
    assert_eq!(
        (due[0]["trigger"].as_str(), due[1]["trigger"].as_str()),
        (Some("at_start"), Some("every_s"))
    );
    let run = records.iter().find(|r| ok_run(r)).unwrap();
    assert!(run["mono_us"].as_u64().unwrap() > death_us, "{run}");
    assert!(calls.load(Ordering::SeqCst) >= 2);
    assert_no_sample_lost(&records);
}
