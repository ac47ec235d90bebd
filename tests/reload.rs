//! SIGHUP, for real, to `edgewatt run`: what can change while running is applied, what
//! cannot is named and kept for the next start, a bad configuration or plan is refused
//! with its reason and the old one kept — and sampling never stops.

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

use crate::common::dump;
use crate::common::edgewatt;
use crate::common::inspect;
use crate::common::missed_ticks;
use crate::common::signal;
use crate::common::Ready;
use crate::common::StderrLines;

/// A flat 4 W replay trace of 60 s at 100 Hz.
fn write_trace(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("trace.csv");
    let text: String = (0..6000)
        .map(|i| format!("{},5000000,800000,4000000\n", i * 10_000))
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

#[test]
fn sighup_applies_what_it_can_and_refuses_what_it_cannot_while_sampling_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config = dir.path().join("edgewatt.toml");
    let plan = dir.path().join("plan.toml");
    // Never due during the test: it is read, checked and scheduled, not run.
    let plan_text = "name = \"daily\"\n[when]\nat_start = false\nevery_s = 86400\n\
                     [[workload]]\nname = \"w\"\nmodel = \"m.gguf\"\nprompt_tokens = [8]\n";
    std::fs::write(&plan, plan_text).unwrap();
    std::fs::write(
        &config,
        "[sampler]\nrate_hz = 50\n[store]\nfsync_interval_ms = 200\n[power]\nsource = \"none\"\n",
    )
    .unwrap();
    let ready = Ready::new(dir.path());
    let mut child = ready.spawn(
        edgewatt()
            .args(["run", "--config"])
            .arg(&config)
            .arg("--state-dir")
            .arg(&state)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped()),
    );
    let mut err = StderrLines::of(&mut child);

    // Live: a power source, the fsync interval, a plan; not live: the rate.
    let good = format!(
        "plans = [\"{}\"]\n[sampler]\nrate_hz = 20\n[store]\nfsync_interval_ms = 100\n\
         [power]\nsource = \"replay\"\n[power.replay]\npath = \"{}\"\n",
        plan.display(),
        write_trace(dir.path()).display()
    );
    std::fs::write(&config, &good).unwrap();
    signal(child.id(), libc::SIGHUP);
    err.wait_for("SIGHUP: configuration and plans read again");
    ready.wait_for("READY=1", 1);

    // A config that does not parse: refused, naming where.
    std::fs::write(&config, format!("{good}bogus = 1\n")).unwrap();
    signal(child.id(), libc::SIGHUP);
    let refused_config = err.wait_for("nothing was changed");
    // A plan that does not parse: refused, naming the plan.
    std::fs::write(&config, &good).unwrap();
    std::fs::write(&plan, format!("{plan_text}repetitons = 2\n")).unwrap();
    signal(child.id(), libc::SIGHUP);
    let refused_plan = err.wait_for("nothing was changed");

    signal(child.id(), libc::SIGTERM);
    assert!(child.wait().unwrap().success(), "{:#?}", err.rest());
    assert!(
        refused_config.contains("edgewatt.toml:") && refused_config.contains("bogus"),
        "{refused_config}"
    );
    assert!(
        refused_plan.contains("plan.toml") && refused_plan.contains("repetitons"),
        "{refused_plan}"
    );

    let records = dump(&state);
    let events =
        |name: &str| -> Vec<&Value> { records.iter().filter(|r| r["event"] == name).collect() };
    let reloaded = events("reloaded");
    assert_eq!(reloaded.len(), 1, "one reload applied");
    assert_eq!(
        strings(&reloaded[0]["applied"]),
        [
            "plans",
            "power.replay.path",
            "power.source",
            "store.fsync_interval_ms"
        ]
    );
    assert_eq!(strings(&reloaded[0]["needs_restart"]), ["sampler.rate_hz"]);
    let refused: Vec<&str> = events("reload_refused")
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused[0].contains("bogus") && refused[1].contains("repetitons"));
    // The configuration in effect after the reload: the new live values, the old rate.
    let configs = events("config");
    let after = configs.last().unwrap()["toml"].as_str().unwrap();
    assert_eq!(configs.len(), 2);
    assert!(
        after.contains("fsync_interval_ms = 100") && after.contains("rate_hz = 50"),
        "{after}"
    );
    assert!(after.contains("source = \"replay\""), "{after}");
    // Power readings from the new source, after the reload only (the source opens a few
    // ms before the event is stamped).
    let reload_us = reloaded[0]["mono_us"].as_u64().unwrap();
    let power: Vec<u64> = records
        .iter()
        .filter(|r| r["type"] == "power")
        .map(|r| r["mono_us"].as_u64().unwrap())
        .collect();
    assert!(!power.is_empty(), "the replay source was started");
    assert!(power.iter().all(|&t| t + 100_000 >= reload_us));
    // Sampling went on through all three SIGHUPs, at the rate it started with.
    let ticks: Vec<u64> = records
        .iter()
        .filter(|r| r["type"] == "sample")
        .map(|r| r["tick"].as_u64().unwrap())
        .collect();
    let holes: u64 = ticks.windows(2).map(|w| w[1] - w[0] - 1).sum();
    assert_eq!((ticks[0], holes), (0, missed_ticks(&records)));
    assert_eq!(events("stop")[0]["reason"], "SIGTERM");
    let seg = &inspect(&state)[0];
    assert_eq!(
        (seg["open"].as_bool(), seg["seal_reason"].as_str()),
        (Some(false), Some("Shutdown"))
    );
}
