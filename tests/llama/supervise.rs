//! The supervisor: a killed worker becomes a failed run, a slow one is killed at its
//! time limit, and the next run gets a fresh worker.

use std::time::Duration;

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
