//! The supervisor: a killed worker becomes a failed run, a slow one is killed at its
//! time limit, and the next run gets a fresh worker.

use std::time::Duration;

use edgewatt::gguf::TensorData;
use edgewatt::llama::STDERR_TAIL_LINES;
use edgewatt::record::PhaseMark;

use super::*;

/// A run long enough that a kill sent at the start of its decode lands long before the
/// end: 3000 tokens are thousands of decode steps.
fn long_job() -> Job {
    text_job(16, 3000)
}

#[test]
fn a_worker_killed_mid_run_is_a_failed_run_with_its_signal_and_the_next_run_works() {
    let mut sup = supervisor();
    let mut killed = None;
    let mut on_phase = |pid: u32, m: PhaseMark| {
        if m.phase == RunPhase::Decode {
            // SAFETY: plain kill(2) of our own child.
            assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
            killed = Some(pid);
        }
    };
    let run = sup.run_observed(&long_job(), LIMIT, &mut on_phase);
    let pid = killed.expect("the run reached its decode phase");
    assert_eq!(run.worker_pid, pid);
    match error_of(&run) {
        RunError::WorkerDied {
            signal,
            exit_code,
            status,
            ..
        } => {
            assert_eq!((*signal, *exit_code), (Some(libc::SIGKILL), None));
            assert!(status.contains("SIGKILL"), "{status}");
        }
        other => panic!("{other:?}"),
    }
    // The marks received before the kill are kept, closed by Done.
    assert_eq!(phase_kinds(&run), TEXT_PHASES);
    assert_eq!(sup.worker_pid(), None);
    let next = sup.run(&text_job(10, 2), LIMIT);
    assert_ok(&next);
    assert_ne!(next.worker_pid, pid);
}

#[test]
fn a_run_over_its_time_limit_is_killed_and_the_next_run_gets_a_fresh_worker() {
    let mut sup = supervisor();
    let warm = sup.run(&text_job(10, 1), LIMIT);
    assert_ok(&warm);
    let slow = sup.run(&long_job(), Duration::from_millis(50));
    assert_eq!(error_of(&slow), &RunError::TimedOut { limit_ms: 50 });
    assert_eq!(slow.worker_pid, warm.worker_pid);
    // SAFETY: signal 0 only checks whether the process exists.
    assert_eq!(
        unsafe { libc::kill(warm.worker_pid as i32, 0) },
        -1,
        "killed and reaped"
    );
    let next = sup.run(&text_job(10, 1), LIMIT);
    assert_ok(&next);
    assert_ne!(next.worker_pid, warm.worker_pid);
}

#[test]
fn a_worker_that_cannot_start_is_a_failed_run() {
    let mut sup = Supervisor::new("/nonexistent/edgewatt");
    let run = sup.run(&text_job(10, 1), LIMIT);
    match error_of(&run) {
        RunError::Protocol { message } => assert!(message.contains("/nonexistent/edgewatt")),
        other => panic!("{other:?}"),
    }
    assert_eq!(run.worker_pid, 0);
}

#[test]
fn a_worker_that_aborts_is_a_failed_run_with_sigabrt_and_its_last_stderr_lines() {
    // A qwen2vl projector whose first merger matrix has the wrong input width: building
    // the vision graph fails a GGML_ASSERT in ggml_mul_mat, and ggml aborts the worker.
    let p = models().dir.join("qwen2vl-bad-merger.gguf");
    let s = MmprojSpec::default();
    let m = 4 * s.width;
    qwen2vl_mmproj(&s)
        .remove_tensor("mm.0.weight")
        .tensor(
            "mm.0.weight",
            &[s.width, m],
            TensorData::F32(vec![0.01; (s.width * m) as usize]),
        )
        .write_to(&p)
        .unwrap();
    let mut sup = supervisor();
    let run = sup.run(&vlm_job(&p, 224, 224, 256), LIMIT);
    match error_of(&run) {
        RunError::WorkerDied {
            signal,
            exit_code,
            status,
            stderr_tail,
        } => {
            assert_eq!((*signal, *exit_code), (Some(libc::SIGABRT), None));
            assert!(status.contains("SIGABRT"), "{status}");
            assert!(stderr_tail.len() <= STDERR_TAIL_LINES);
            // The assertion ggml printed is among the last lines (no gdb backtrace after
            // it: the supervisor sets GGML_NO_BACKTRACE for its workers).
            let last = stderr_tail.iter().rev().find(|l| !l.trim().is_empty());
            assert!(
                last.is_some_and(|l| l.contains("GGML_ASSERT(ggml_can_mul_mat(a, b)) failed")),
                "{stderr_tail:#?}"
            );
            // The rendered error carries them too.
            let text = error_of(&run).to_string();
            assert!(text.contains("GGML_ASSERT"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sup.worker_pid(), None, "the aborted worker is gone");
    let next = sup.run(&text_job(10, 2), LIMIT);
    assert_ok(&next);
    assert_ne!(next.worker_pid, run.worker_pid, "a fresh worker");
}

/// `/proc/PID/stat`'s state letter, or `None` once the process is reaped (gone).
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// An executable shell script standing in for `edgewatt`: a worker that never gets to
/// say Ready.
fn fake_worker(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("fake-edgewatt");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn the_worker_pid_is_published_at_spawn_with_oom_score_adj_1000() {
    use std::sync::mpsc;
    let mut sup = supervisor();
    let (tx, rx) = mpsc::channel();
    sup.set_on_spawn(Box::new(move |pid| {
        // Read in the callback: the worker has not loaded anything yet.
        let adj = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).unwrap();
        tx.send((pid, adj.trim().to_owned())).unwrap();
    }));
    let mut phases_seen_at_spawn = None;
    let mut on_phase = |_: u32, _: PhaseMark| {
        phases_seen_at_spawn.get_or_insert_with(|| rx.try_recv());
    };
    let run = sup.run_observed(&text_job(10, 2), LIMIT, &mut on_phase);
    assert_ok(&run);
    let (pid, adj) = phases_seen_at_spawn
        .expect("phases")
        .expect("the pid came before the first phase");
    assert_eq!(pid, run.worker_pid);
    assert_eq!(adj, "1000");
    // The daemon's own score is untouched.
    let own = std::fs::read_to_string("/proc/self/oom_score_adj").unwrap();
    assert_ne!(own.trim(), "1000");
    // A kept worker is not spawned again.
    assert_ok(&sup.run(&text_job(10, 2), LIMIT));
    assert!(rx.try_recv().is_err());
}

#[test]
fn a_worker_killed_before_ready_is_a_failed_run_with_its_pid_and_is_reaped() {
    let dir = tempfile::tempdir().unwrap();
    let mut sup = Supervisor::new(fake_worker(dir.path(), "kill -KILL $$"));
    let spawned = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let s = std::sync::Arc::clone(&spawned);
    sup.set_on_spawn(Box::new(move |pid| {
        s.store(pid, std::sync::atomic::Ordering::SeqCst)
    }));
    let run = sup.run(&text_job(10, 1), LIMIT);
    match error_of(&run) {
        RunError::WorkerDied { signal, .. } => assert_eq!(*signal, Some(libc::SIGKILL)),
        other => panic!("{other:?}"),
    }
    assert_ne!(run.worker_pid, 0, "the dead worker's pid is in the run");
    assert_eq!(
        run.worker_pid,
        spawned.load(std::sync::atomic::Ordering::SeqCst)
    );
    assert_eq!(proc_state(run.worker_pid), None, "reaped, not a zombie");

    // One that hangs before Ready is killed at the time limit, and reaped too.
    let mut sup = Supervisor::new(fake_worker(dir.path(), "exec sleep 600"));
    let run = sup.run(&text_job(10, 1), Duration::from_millis(300));
    assert_eq!(error_of(&run), &RunError::TimedOut { limit_ms: 300 });
    assert_ne!(run.worker_pid, 0);
    assert_eq!(proc_state(run.worker_pid), None, "reaped, not a zombie");
}

#[test]
fn a_worker_dies_with_the_thread_that_spawned_it() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sup = supervisor();
        assert_ok(&sup.run(&text_job(10, 1), LIMIT));
        tx.send(sup.worker_pid().unwrap()).unwrap();
        // As if the daemon died without shutting its worker down.
        std::mem::forget(sup);
    })
    .join()
    .unwrap();
    let pid = rx.recv().unwrap();
    // The kernel's SIGKILL (PR_SET_PDEATHSIG) ends it; nobody reaped it, so do that
    // here, in a thread, so a worker that does not die fails the test instead of hanging it.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut status = 0;
        // SAFETY: waitpid on our own (orphaned in std's view) child.
        let r = unsafe { libc::waitpid(pid as i32, &mut status, 0) };
        done_tx.send((r, status)).unwrap();
    });
    let (r, status) = done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the worker outlived the thread that spawned it");
    assert_eq!(r, pid as i32);
    assert!(libc::WIFSIGNALED(status));
    assert_eq!(libc::WTERMSIG(status), libc::SIGKILL);
}
