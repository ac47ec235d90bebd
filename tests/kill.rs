//! `edgewatt run` killed with SIGKILL at random moments, dozens of times: every segment
//! stays readable, sequence numbers stay contiguous, and no kill loses more than one
//! fsync interval of samples.

use std::time::Duration;

use edgewatt::clock::mono_us;
use edgewatt::synth::Rng;

use crate::common::dump;
use crate::common::edgewatt;
use crate::common::fast_config;
use crate::common::inspect;
use crate::common::Ready;

const FSYNC_MS: u64 = 200;
const RATE_HZ: u64 = 50;
const KILLS: usize = 30;

#[test]
fn sigkill_at_random_moments_loses_at_most_one_fsync_interval() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config = fast_config(dir.path(), FSYNC_MS);
    let mut rng = Rng::new(0xE06E);
    // The daemon says READY=1 once its segment is open and its start event written; a
    // kill is timed from then, so a slow start (a loaded CI machine) cannot turn a kill
    // into one that happened before the run existed.
    let ready = Ready::new(dir.path());
    let mut kills_us = Vec::new();
    let mut waits = Vec::new();
    for _ in 0..KILLS {
        let mut child = ready.spawn(
            edgewatt()
                .args(["run", "--rate-hz", &RATE_HZ.to_string(), "--config"])
                .arg(&config)
                .arg("--state-dir")
                .arg(&state),
        );
        let run_waits = watch_cpu_wait(child.id(), Duration::from_millis(200 + rng.below(2500)));
        let killed_at = mono_us();
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "the daemon must have been killed, not exited"
        );
        kills_us.push(killed_at);
        waits.push(run_waits);
    }
    // A last clean run repairs the last segment and then seals its own.
    crate::common::ok(
        &state,
        &[
            "run",
            "--duration-s",
            "0.5",
            "--config",
            config.to_str().unwrap(),
        ],
    );

    let segments = inspect(&state);
    assert!(segments.len() >= KILLS, "one segment per run at least");
    for s in &segments {
        assert_eq!(s["header_ok"], true, "unreadable segment {s}");
        assert_eq!(
            s["open"], false,
            "every segment is sealed after recovery: {s}"
        );
    }
    let recovered = segments
        .iter()
        .filter(|s| s["seal_reason"] == "Recovered")
        .count();
    assert_eq!(
        recovered, KILLS,
        "each killed run's segment was repaired once"
    );

    let records = dump(&state);
    let seqs: Vec<u64> = records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    let mut frame_seqs = seqs.clone();
    frame_seqs.dedup(); // the samples of one block share their frame's seq
    for w in frame_seqs.windows(2) {
        assert_eq!(w[1], w[0] + 1, "sequence numbers are contiguous");
    }

    let starts: Vec<u64> = records
        .iter()
        .filter(|r| r["type"] == "event" && r["event"] == "start")
        .map(|r| r["mono_us"].as_u64().unwrap())
        .collect();
    assert_eq!(starts.len(), KILLS + 1);
    let samples: Vec<u64> = records
        .iter()
        .filter(|r| r["type"] == "sample")
        .map(|r| r["mono_us"].as_u64().unwrap())
        .collect();
    let tick_us = 1_000_000 / RATE_HZ;
    // The bound: one fsync interval, plus the tick at which the flush falls due, plus
    // 250 ms for the write and fsync themselves and the test's own timing. Time the daemon
    // spent waiting for a CPU after its last logged sample is added, measured: a daemon
    // starved just before the kill (the suite's llama tests share the cores) never sampled
    // those ticks, which from outside would look like loss. (Seen: ≤ 231 ms lost with 3
    // busy loops on 2 cores; a 50 ms allowance failed once in 8 runs of the whole suite
    // right after a build, with the CPU wait already counted: likely an fsync queued
    // behind the writeback of the freshly linked binaries, which schedstat does not see.)
    let slack_us = 250_000;
    let mut losses_ms = Vec::new();
    for (i, &kill) in kills_us.iter().enumerate() {
        let start = starts[i];
        assert!(start < kill);
        if kill - start < (FSYNC_MS * 1000) * 2 {
            continue; // killed before its first flush could be due
        }
        let last = samples
            .iter()
            .copied()
            .filter(|&t| t >= start && t < kill)
            .max()
            .unwrap_or(start);
        let lost_us = kill - last;
        let starved_us = waited_since(&waits[i], last);
        losses_ms.push((lost_us / 1000, starved_us / 1000));
        assert!(
            lost_us <= FSYNC_MS * 1000 + tick_us + slack_us + starved_us,
            "kill {i}: {lost_us} µs of samples lost, more than one fsync interval; \
             {starved_us} µs of it waiting for a CPU; losses so far (ms): {losses_ms:?}"
        );
    }
    eprintln!("(ms lost, ms of it waiting for a CPU) per kill: {losses_ms:?}");
    assert!(
        losses_ms.len() >= KILLS / 2,
        "most kills came after a flush"
    );
}

/// Sleeps for `d`, reading every 10 ms how long the daemon's main thread (its sampling
/// loop) has waited for a CPU so far: `(mono_us, run_delay_us)` from
/// /proc/PID/task/PID/schedstat. Empty where the kernel has no schedstat.
fn watch_cpu_wait(pid: u32, d: Duration) -> Vec<(u64, u64)> {
    let path = format!("/proc/{pid}/task/{pid}/schedstat");
    let read = || -> Option<(u64, u64)> {
        let text = std::fs::read_to_string(&path).ok()?;
        let run_delay_ns: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
        Some((mono_us(), run_delay_ns / 1000))
    };
    let end_us = mono_us() + d.as_micros() as u64;
    let mut out = Vec::new();
    while mono_us() < end_us {
        out.extend(read());
        std::thread::sleep(Duration::from_millis(10));
    }
    out.extend(read());
    out
}

/// CPU wait of the daemon between the reading at or before `since_us` and the last one.
fn waited_since(waits: &[(u64, u64)], since_us: u64) -> u64 {
    let Some(&(_, at_end)) = waits.last() else {
        return 0;
    };
    let before = waits
        .iter()
        .rev()
        .find(|w| w.0 <= since_us)
        .or(waits.first())
        .map_or(at_end, |w| w.1);
    at_end - before
}
