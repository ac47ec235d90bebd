//! A real OOM kill of a worker under `edgewatt run`: the daemon and its workers run in a
//! memory cgroup (v1 `memory.limit_in_bytes` or v2 `memory.max`, as a systemd unit's
//! `MemoryMax=` would be) whose limit the first run's KV cache cannot fit. The kernel's
//! OOM killer must pick the worker (its `oom_score_adj` is 1000), the run must be logged
//! as failed with SIGKILL, sampling must go on without a hole, and the next run, in a
//! fresh worker, must succeed — while the daemon keeps running.
//!
//! Creating a cgroup needs root (as on CI). Elsewhere the test fails saying so; set
//! `EDGEWATT_SKIP_CGROUP_TEST=1` to skip it explicitly.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use std::time::Instant;

use serde_json::Value;

use super::models;
use super::write_daemon_config;
use crate::common::dump;
use crate::common::edgewatt;
use crate::common::signal;
use crate::common::Ready;

/// The cgroup's limit: far above what the daemon and a small run need (≈ 40 MB), far
/// below the first run's 512 MiB KV cache.
const LIMIT_BYTES: u64 = 160 << 20;

struct MemoryCgroup {
    dir: PathBuf,
    v2: bool,
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value)
        .map_err(|e| format!("cannot write {value:?} to {}: {e}", path.display()))
}

impl MemoryCgroup {
    /// A new memory cgroup under this process's own, limited to `limit_bytes` of memory
    /// and no swap.
    fn create(limit_bytes: u64) -> Result<Self, String> {
        let own = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| e.to_string())?;
        let name = format!("edgewatt-oom-test-{}", std::process::id());
        // v1: "N:memory:/path"; v2 only: "0::/path".
        let v1 = own.lines().find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
            ctrl.split(',')
                .any(|c| c == "memory")
                .then(|| path.to_owned())
        });
        let (dir, v2) = match v1 {
            Some(path) => (
                Path::new("/sys/fs/cgroup/memory")
                    .join(path.trim_start_matches('/'))
                    .join(&name),
                false,
            ),
            None => {
                let path = own
                    .lines()
                    .find_map(|l| l.strip_prefix("0::"))
                    .ok_or("no memory cgroup in /proc/self/cgroup")?;
                let parent = Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
                write(&parent.join("cgroup.subtree_control"), "+memory")?;
                (parent.join(&name), true)
            }
        };
        std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let cg = Self { dir, v2 };
        if v2 {
            write(&cg.dir.join("memory.max"), &limit_bytes.to_string())?;
            let _ = write(&cg.dir.join("memory.swap.max"), "0");
        } else {
            write(
                &cg.dir.join("memory.limit_in_bytes"),
                &limit_bytes.to_string(),
            )?;
            let _ = write(
                &cg.dir.join("memory.memsw.limit_in_bytes"),
                &limit_bytes.to_string(),
            );
        }
        Ok(cg)
    }

    /// How many processes the kernel's OOM killer killed in it.
    fn oom_kills(&self) -> u64 {
        let file = if self.v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        let text = std::fs::read_to_string(self.dir.join(file)).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("oom_kill "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no oom_kill line in {file}: {text}"))
    }

    /// Makes `cmd`'s process join the cgroup before it runs (its children follow).
    fn enter(&self, cmd: &mut Command) {
        let procs = CString::new(self.dir.join("cgroup.procs").as_os_str().as_bytes()).unwrap();
        // SAFETY: between fork and exec, only open/write/close on a path made before.
        unsafe {
            cmd.pre_exec(move || {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let n = libc::write(fd, b"0\n".as_ptr().cast(), 2);
                let e = std::io::Error::last_os_error();
                libc::close(fd);
                if n == 2 {
                    Ok(())
                } else {
                    Err(e)
                }
            });
        }
    }
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Samples the test waits for after the first worker's death: a second at 20 Hz.
const SAMPLES_AFTER: usize = 20;

/// Samples logged after the `proc_exit` of `run`'s worker (0 before it is logged).
fn samples_after_death(records: &[Value], run: &Value) -> usize {
    let pid = run["worker_pid"].as_u64();
    let Some(died_us) = records
        .iter()
        .find(|r| r["event"] == "proc_exit" && r["pid"].as_u64() == pid)
        .and_then(|r| r["mono_us"].as_u64())
    else {
        return 0;
    };
    records
        .iter()
        .filter(|r| r["type"] == "sample" && r["mono_us"].as_u64().is_some_and(|t| t > died_us))
        .count()
}

fn of<'a>(records: &'a [Value], t: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == t).collect()
}

#[test]
fn a_worker_oom_killed_by_the_kernel_is_a_failed_run_and_sampling_and_the_next_run_go_on() {
    let cg = match MemoryCgroup::create(LIMIT_BYTES) {
        Ok(cg) => cg,
        Err(_) if std::env::var_os("EDGEWATT_SKIP_CGROUP_TEST").is_some() => {
            eprintln!("SKIPPED: EDGEWATT_SKIP_CGROUP_TEST is set");
            return;
        }
        Err(e) => panic!(
            "this test needs a memory cgroup it can create (run it as root, as CI does): {e}; \
             set EDGEWATT_SKIP_CGROUP_TEST=1 to skip it"
        ),
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config = write_huge_then_small_config(dir.path(), &state);
    let ready = Ready::new(dir.path());
    let mut cmd = edgewatt();
    cmd.args(["run", "--config"]).arg(&config);
    cg.enter(&mut cmd);
    // Dropped (a failed assertion) while it still runs: killed, so the cgroup can go.
    let mut daemon = KillOnDrop(ready.spawn(&mut cmd));
    let daemon = &mut daemon.0;

    let runs = wait_for_both_runs_and_samples_after_the_death(daemon, &state);
    assert_eq!(
        daemon.try_wait().unwrap(),
        None,
        "the daemon runs on after the OOM kill"
    );
    signal(daemon.id(), libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());
    assert!(
        cg.oom_kills() >= 1,
        "the kernel's OOM killer killed something"
    );

    let records = dump(&state);
    check_huge_run_oom_killed_and_small_run_ok(&records, &runs[0], &runs[1]);
    check_sampling_never_stopped(&records, &runs[0]);
}

/// A plan of two workloads, `huge` (whose KV cache cannot fit the cgroup) then `small`,
/// and the daemon's config running it at 20 Hz into `state`; returns the config's path.
fn write_huge_then_small_config(dir: &Path, state: &Path) -> PathBuf {
    let plan = dir.join("plan.toml");
    // The first run's KV cache: 2 layers × K and V × 2^21 tokens × 32 × 2 bytes = 512 MiB,
    // written in full when the context is created.
    let model = models().llama.display().to_string();
    std::fs::write(
        &plan,
        format!(
            "name = \"oom\"\n\
             [[workload]]\nname = \"huge\"\nmodel = \"{model}\"\nprompt_tokens = [16]\n\
             gen_tokens = 4\nthreads = [1]\nn_ctx = 2097152\n\
             [[workload]]\nname = \"small\"\nmodel = \"{model}\"\nprompt_tokens = [16]\n\
             gen_tokens = 400\nthreads = [1]\nn_ctx = 512\n"
        ),
    )
    .unwrap();
    write_daemon_config(dir, state, &plan)
}

/// Until both runs and a second of samples after the first worker's death are in the
/// log (readiness from the log itself, never a sleep's length: the poll interval only
/// sets how often it is read); the runs. Panics if the daemon ends first, or after 300 s.
fn wait_for_both_runs_and_samples_after_the_death(
    daemon: &mut std::process::Child,
    state: &Path,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let records = dump(state);
        let runs: Vec<Value> = of(&records, "run").into_iter().cloned().collect();
        if runs.len() >= 2 && samples_after_death(&records, &runs[0]) >= SAMPLES_AFTER {
            return runs;
        }
        assert!(
            daemon.try_wait().unwrap().is_none(),
            "the daemon ended: {records:#?}"
        );
        assert!(
            Instant::now() < deadline,
            "no 2 runs and {SAMPLES_AFTER} samples after the death in 300 s: {runs:#?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `huge` failed, its worker killed by the OOM killer, sampled and its end logged;
/// `small` succeeded in a fresh worker.
fn check_huge_run_oom_killed_and_small_run_ok(records: &[Value], huge: &Value, small: &Value) {
    assert_eq!(huge["label"], "huge/pp16/tg4/t1", "{huge}");
    assert_eq!(huge["ok"], false, "{huge}");
    let error = &huge["outcome"]["Failed"]["WorkerDied"];
    assert_eq!(error["signal"], libc::SIGKILL, "{huge}");
    assert!(
        error["status"].as_str().unwrap().contains("OOM killer"),
        "{huge}"
    );
    assert_eq!(small["ok"], true, "{small}");
    assert_ne!(small["worker_pid"], huge["worker_pid"], "a fresh worker");
    // The killed worker was sampled apart from the daemon and its end logged.
    let dead = huge["worker_pid"].as_u64().unwrap();
    let worker_event = |name: &str| {
        records
            .iter()
            .find(|r| r["event"] == name && r["pid"].as_u64() == Some(dead))
            .unwrap_or_else(|| panic!("no {name} of worker {dead}"))
    };
    assert_eq!(worker_event("proc_start")["role"], "worker");
    worker_event("proc_exit");
}

/// Sampling never stopped: every tick from the first to the last is a sample or was
/// reported skipped (`sampler_late`), sampling went on long after `huge`'s worker died,
/// no frame is missing and the daemon stopped once, cleanly.
fn check_sampling_never_stopped(records: &[Value], huge: &Value) {
    let samples = of(records, "sample");
    let ticks: BTreeSet<u64> = samples
        .iter()
        .map(|s| s["tick"].as_u64().unwrap())
        .collect();
    let (first, last) = (*ticks.first().unwrap(), *ticks.last().unwrap());
    let missed = crate::common::missed_ticks(records);
    assert_eq!(
        (last - first + 1) - ticks.len() as u64,
        missed,
        "ticks absent from the log are exactly the ones reported missed"
    );
    assert!(samples_after_death(records, huge) >= SAMPLES_AFTER);
    // Nothing logged before the fault is lost: frame sequence numbers are contiguous.
    let seqs: BTreeSet<u64> = records.iter().filter_map(|r| r["seq"].as_u64()).collect();
    let (lo, hi) = (*seqs.first().unwrap(), *seqs.last().unwrap());
    assert_eq!(seqs.len() as u64, hi - lo + 1, "no frame missing");
    assert_eq!(
        records.iter().filter(|r| r["event"] == "stop").count(),
        1,
        "one clean stop"
    );
}
