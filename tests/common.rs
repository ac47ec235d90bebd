//! Helpers shared by the integration tests.

use std::path::Path;
use std::process::Command;
use std::process::Output;

use serde_json::Value;

pub fn edgewatt() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_edgewatt"));
    c.env("RUST_LOG", "warn");
    c
}

/// Panics with the process's stderr unless it succeeded; returns it.
pub fn succeeded(out: Output) -> Output {
    assert!(
        out.status.success(),
        "edgewatt failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs edgewatt with `args` and the given state dir; panics with its stderr if it fails.
pub fn ok(state_dir: &Path, args: &[&str]) -> Output {
    let out = edgewatt()
        .args(args)
        .arg("--state-dir")
        .arg(state_dir)
        .output();
    succeeded(out.expect("spawn edgewatt"))
}

/// `edgewatt run --duration-s SECONDS --config CONFIG`, which must succeed.
pub fn run_config(config: &Path, seconds: &str) -> Output {
    let out = edgewatt()
        .args(["run", "--duration-s", seconds, "--config"])
        .arg(config)
        .output();
    succeeded(out.expect("spawn edgewatt"))
}

/// Sends `sig` to a child process.
pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
}

/// Every record of the state dir, via `dump --format jsonl`.
pub fn dump(state_dir: &Path) -> Vec<Value> {
    let out = ok(state_dir, &["dump", "--format", "jsonl"]);
    String::from_utf8(out.stdout)
        .expect("utf-8 dump")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// Per-segment summaries, via `inspect --format json`.
pub fn inspect(state_dir: &Path) -> Vec<Value> {
    let out = ok(state_dir, &["inspect", "--format", "json"]);
    String::from_utf8(out.stdout)
        .expect("utf-8 inspect")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// A config file with a fast fsync, written into `dir`.
pub fn fast_config(dir: &Path, fsync_interval_ms: u64) -> std::path::PathBuf {
    let path = dir.join("edgewatt.toml");
    std::fs::write(
        &path,
        format!("[store]\nfsync_interval_ms = {fsync_interval_ms}\n[sampler]\ncost_report_interval_s = 1\n"),
    )
    .expect("write config");
    path
}

/// Ticks the daemon skipped because it was starved of CPU (`sampler_late` events' `missed`).
pub fn missed_ticks(records: &[Value]) -> u64 {
    records
        .iter()
        .filter(|r| r["event"] == "sampler_late")
        .filter_map(|r| r["missed"].as_u64())
        .sum()
}
