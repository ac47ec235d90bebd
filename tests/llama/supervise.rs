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
