//! `systemctl stop` (SIGTERM, then SIGKILL after the unit's `TimeoutStopSec`) while the
//! workload thread is busy: during a cooldown wait that would last two minutes, and while
//! a worker is stuck starting. The daemon must exit well inside the timeout, with its
//! segment sealed and every sample it took logged.

use std::path::Path;
use std::process::Child;
use std::process::Stdio;
use std::time::Duration;
use std::time::Instant;

use serde_json::Value;

use crate::common::dump;
use crate::common::edgewatt;
use crate::common::inspect;
use crate::common::missed_ticks;
use crate::common::signal;
use crate::common::Ready;
use crate::common::StderrLines;

/// "Well inside": a third of the shipped unit's `TimeoutStopSec`.
fn stop_within() -> Duration {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/edgewatt.service");
    let text = std::fs::read_to_string(unit).unwrap();
    let s: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .expect("the unit sets TimeoutStopSec")
        .parse()
        .unwrap();
    Duration::from_secs(s) / 3
}

fn write_config(dir: &Path, plan: &Path, sampler: &str) -> std::path::PathBuf {
    let path = dir.join("edgewatt.toml");
    std::fs::write(
        &path,
        format!(
            "plans = [\"{}\"]\n[sampler]\nrate_hz = 50\n{sampler}\n[store]\n\
             fsync_interval_ms = 100\n[power]\nsource = \"none\"\n",
            plan.display()
        ),
    )
    .unwrap();
    path
}

fn start(dir: &Path, config: &Path, ready: &Ready) -> (Child, StderrLines) {
    let mut child = ready.spawn(
        edgewatt()
            .args(["run", "--config"])
            .arg(config)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped()),
    );
    let err = StderrLines::of(&mut child);
    (child, err)
}

/// SIGTERM; returns how long the daemon took to exit (successfully).
fn stop(child: &mut Child) -> Duration {
    let sent = Instant::now();
    signal(child.id(), libc::SIGTERM);
    let status = child.wait().unwrap();
    let took = sent.elapsed();
    assert!(status.success(), "{status}");
    took
}

/// Every sample taken is logged, the stop says SIGTERM, the segment is sealed.
fn assert_stopped_cleanly(state: &Path) -> Vec<Value> {
    let records = dump(state);
    let ticks: Vec<u64> = records
        .iter()
        .filter(|r| r["type"] == "sample")
        .map(|r| r["tick"].as_u64().unwrap())
        .collect();
    let holes: u64 = ticks.windows(2).map(|w| w[1] - w[0] - 1).sum();
    assert_eq!((ticks[0], holes), (0, missed_ticks(&records)));
    let stop = records.iter().find(|r| r["event"] == "stop").unwrap();
    assert_eq!(stop["reason"], "SIGTERM");
    // The last sample is from the last tick before the stop.
    let last = records.iter().rfind(|r| r["type"] == "sample").unwrap();
    let gap_us = stop["mono_us"].as_u64().unwrap() - last["mono_us"].as_u64().unwrap();
    assert!(
        gap_us < 1_000_000,
        "{gap_us} µs between the last sample and the stop"
    );
    for seg in inspect(state) {
        assert_eq!(
            (seg["open"].as_bool(), seg["seal_reason"].as_str()),
            (Some(false), Some("Shutdown")),
            "{seg}"
        );
    }
    records
}

#[test]
fn sigterm_during_a_two_minute_cooldown_wait_stops_well_inside_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // A SoC that never cools below 50 °C: the wait would last until its 120 s cap.
    let sys = dir.path().join("sys");
    let zone = sys.join("class/thermal/thermal_zone0");
    std::fs::create_dir_all(&zone).unwrap();
    std::fs::write(zone.join("temp"), "95000\n").unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "name = \"hot\"\n[cooldown]\ntemp_below_mc = 50000\nmax_wait_s = 120\n\
             [[workload]]\nname = \"llm\"\nmodel = \"{}\"\nprompt_tokens = [8]\n\
             gen_tokens = 4\nthreads = [1]\n",
            super::models().llama.display()
        ),
    )
    .unwrap();
    let sampler = format!("sys_root = \"{}\"", sys.display());
    let config = write_config(dir.path(), &plan, &sampler);
    let ready = Ready::new(dir.path());
    let (mut child, mut err) = start(dir.path(), &config, &ready);
    err.wait_for("plan hot: cooldown, at most 120 s");
    let took = stop(&mut child);
    eprintln!("stopped {took:?} after SIGTERM, during the cooldown wait");
    assert!(took < stop_within(), "{took:?}: {:#?}", err.rest());

    let records = assert_stopped_cleanly(&dir.path().join("state"));
    assert!(records.iter().any(|r| r["event"] == "plan_start"));
    assert!(
        !records.iter().any(|r| r["type"] == "run"),
        "the run never started"
    );
}

/// The worker's pid once it exists: a child of the daemon running `edgewatt worker`.
fn wait_for_worker(daemon: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let tasks = std::fs::read_dir(format!("/proc/{daemon}/task")).unwrap();
        for task in tasks.filter_map(Result::ok) {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for pid in children.split_whitespace() {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                if cmdline.split(|&b| b == 0).any(|a| a == b"worker") {
                    return pid.parse().unwrap();
                }
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("no worker appeared under the daemon {daemon} within 60 s");
}

/// The nice value of task `tid` of process `pid` (field 19 of its stat).
fn nice_of(pid: u32, tid: u32) -> i64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.split(' ').nth(16).unwrap().parse().unwrap()
}

/// The daemon's sampling (main) thread runs at nice -10 where it may (as root; the unit's
/// LimitNICE), its worker at the nice the daemon was started with, so llama.cpp saturating
/// every core does not make ticks late.
fn check_nice(daemon: u32, worker: u32) {
    // SAFETY: getpriority of this thread; errno is not needed, nice 0..19 here is not -1.
    let started_at = i64::from(unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) });
    // SAFETY: geteuid cannot fail.
    let may_raise = unsafe { libc::geteuid() } == 0;
    let sampler = if may_raise {
        started_at.min(-10)
    } else {
        started_at
    };
    assert_eq!(nice_of(daemon, daemon), sampler, "the sampling thread");
    assert_eq!(nice_of(worker, worker), started_at, "the worker");
}

#[test]
fn sigterm_while_a_worker_is_stuck_starting_stops_well_inside_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // The model is a FIFO nobody writes to: opening it never returns, as a dying SD card
    // can make a model load hang.
    let model = dir.path().join("stuck.gguf");
    let path = std::ffi::CString::new(model.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "name = \"stuck\"\ntime_limit_s = 600\n[[workload]]\nname = \"llm\"\n\
             model = \"{}\"\nprompt_tokens = [8]\ngen_tokens = 4\nthreads = [1]\n",
            model.display()
        ),
    )
    .unwrap();
    let config = write_config(dir.path(), &plan, "");
    let ready = Ready::new(dir.path());
    let (mut child, mut err) = start(dir.path(), &config, &ready);
    // The run's worker, not the one the daemon started first to see which CPU backend
    // loads (it is gone before the plan's idle lead-in ends).
    err.wait_for("plan stuck: idle lead-in over");
    let worker = wait_for_worker(child.id());
    // Stuck for real, wherever in its start it is.
    signal(worker, libc::SIGSTOP);
    check_nice(child.id(), worker);
    let took = stop(&mut child);
    eprintln!("stopped {took:?} after SIGTERM, with the worker stuck starting");
    assert!(took < stop_within(), "{took:?}: {:#?}", err.rest());
    // The daemon killed and reaped its worker.
    let stat = std::fs::read_to_string(format!("/proc/{worker}/stat"));
    assert!(stat.is_err(), "the worker {worker} is left: {stat:?}");

    let records = assert_stopped_cleanly(&dir.path().join("state"));
    let runs: Vec<&Value> = records.iter().filter(|r| r["type"] == "run").collect();
    assert_eq!(runs.len(), 1, "the interrupted run is logged");
    assert_eq!(runs[0]["ok"], false);
    let died = &runs[0]["outcome"]["Failed"]["WorkerDied"];
    assert_eq!(died["signal"], libc::SIGKILL, "{}", runs[0]);
}
