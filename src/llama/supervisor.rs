//! The daemon side: spawns `edgewatt worker`, sends jobs, enforces time limits, and
//! turns a dead worker into a failed run. The next run after a failure gets a fresh worker.

use std::collections::VecDeque;
use std::io::BufRead;
use std::io::BufReader;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Child;
use std::process::ChildStdin;
use std::process::Command;
use std::process::Stdio;
use std::sync::mpsc;
use std::sync::Arc;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;
use std::time::Instant;

use super::job::read_frame;
use super::job::write_frame;
use super::job::FrameError;
use super::job::Job;
use super::job::Reply;
use super::job::Request;
use crate::clock::mono_us;
use crate::record::Outcome;
use crate::record::PhaseMark;
use crate::record::Run;
use crate::record::RunError;
use crate::record::RunPhase;

/// Stderr lines of a worker kept for a failure report.
pub const STDERR_TAIL_LINES: usize = 20;

type Tail = Arc<Mutex<VecDeque<String>>>;

struct Worker {
    child: Child,
    stdin: ChildStdin,
    replies: mpsc::Receiver<Result<Reply, FrameError>>,
    tail: Tail,
    stderr: Option<JoinHandle<()>>,
}

/// Called with a worker's pid as soon as it is spawned, before it has said Ready.
pub type OnSpawn = Box<dyn FnMut(u32) + Send>;

/// Runs jobs in a supervised worker process.
///
/// Workers get `oom_score_adj` 1000, so when memory runs out the kernel kills a worker
/// and not the daemon, and `PR_SET_PDEATHSIG` SIGKILL, so a worker never outlives the
/// thread that spawned it (the daemon's workload thread, which lives as long as the
/// daemon). Every worker is reaped, however it ended.
pub struct Supervisor {
    exe: PathBuf,
    worker: Option<Worker>,
    next_run_id: u64,
    on_spawn: Option<OnSpawn>,
}

impl Supervisor {
    /// Workers are `exe worker`; `exe` is normally `std::env::current_exe()`.
    #[must_use]
    pub fn new(exe: impl Into<PathBuf>) -> Self {
        Self {
            exe: exe.into(),
            worker: None,
            next_run_id: 1,
            on_spawn: None,
        }
    }

    /// Has `f` called with each new worker's pid right after it is spawned (before it
    /// loads anything), so the daemon samples it from its first moment.
    pub fn set_on_spawn(&mut self, f: OnSpawn) {
        self.on_spawn = Some(f);
    }

    /// Pid of the live worker, for the sampler to track apart from the daemon.
    #[must_use]
    pub fn worker_pid(&self) -> Option<u32> {
        self.worker.as_ref().map(|w| w.child.id())
    }

    /// Runs `job` within `limit` (worker start-up included).
    pub fn run(&mut self, job: &Job, limit: Duration) -> Run {
        self.run_observed(job, limit, &mut |_, _| {})
    }

    /// As [`Self::run`], calling `on_phase(worker_pid, mark)` as each phase begins.
    pub fn run_observed(
        &mut self,
        job: &Job,
        limit: Duration,
        on_phase: &mut dyn FnMut(u32, PhaseMark),
    ) -> Run {
        let run_id = self.next_run_id;
        self.next_run_id += 1;
        let deadline = Instant::now() + limit;
        let mut phases = Vec::new();
        let result = self.drive(job, deadline, limit, &mut phases, on_phase);
        let pid = self.worker_pid().unwrap_or(0);
        let mut run = match result {
            Ok(run) => *run,
            Err((error, pid)) => {
                self.worker = None;
                failed_run(job, pid, phases, error)
            }
        };
        if run.worker_pid == 0 {
            run.worker_pid = pid;
        }
        run.run_id = run_id;
        run
    }

    fn drive(
        &mut self,
        job: &Job,
        deadline: Instant,
        limit: Duration,
        phases: &mut Vec<PhaseMark>,
        on_phase: &mut dyn FnMut(u32, PhaseMark),
    ) -> Result<Box<Run>, (RunError, u32)> {
        if self.worker.is_none() {
            self.worker = Some(self.spawn(deadline, limit)?);
        }
        let w = self.worker.as_mut().expect("spawned above");
        let pid = w.child.id();
        let request = Request::Run(Box::new(job.clone()));
        if write_frame(&mut w.stdin, &request).is_err() {
            return Err((died(w), pid));
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match w.replies.recv_timeout(left) {
                Ok(Ok(Reply::Done(run))) => return Ok(run),
                Ok(Ok(Reply::Phase(m))) => {
                    phases.push(m);
                    on_phase(pid, m);
                }
                Ok(Ok(Reply::Ready { .. })) => {}
                Ok(Err(FrameError::Closed | FrameError::Io(_)))
                | Err(mpsc::RecvTimeoutError::Disconnected) => return Err((died(w), pid)),
                Ok(Err(e)) => {
                    kill_and_reap(&mut w.child);
                    let message = format!("worker {pid}: {e}");
                    return Err((RunError::Protocol { message }, pid));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    kill_and_reap(&mut w.child);
                    let limit_ms = limit.as_millis() as u64;
                    return Err((RunError::TimedOut { limit_ms }, pid));
                }
            }
        }
    }

    /// Starts a worker and waits for its Ready; on failure, the error and the pid of the
    /// worker (0 if none started), killed and reaped.
    fn spawn(&mut self, deadline: Instant, limit: Duration) -> Result<Worker, (RunError, u32)> {
        let protocol = |message: String| RunError::Protocol { message };
        let mut cmd = Command::new(&self.exe);
        worker_safeguards(&mut cmd);
        // ggml's abort handler attaches gdb for a backtrace: seconds of delay, and its
        // lines push the failed GGML_ASSERT out of the kept stderr tail. Set
        // EDGEWATT_WORKER_BACKTRACE=1 to have it anyway.
        if std::env::var_os("EDGEWATT_WORKER_BACKTRACE").is_none() {
            cmd.env("GGML_NO_BACKTRACE", "1");
        }
        let mut child = cmd
            .arg("worker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                let message = format!("cannot start {} worker: {e}", self.exe.display());
                (protocol(message), 0)
            })?;
        let pid = child.id();
        if let Some(f) = &mut self.on_spawn {
            f(pid);
        }
        let (stdin, stdout, stderr) =
            match (child.stdin.take(), child.stdout.take(), child.stderr.take()) {
                (Some(i), Some(o), Some(e)) => (i, o, e),
                _ => unreachable!("all three are piped"),
            };
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let msg = read_frame::<Reply>(&mut r);
                let end = msg.is_err();
                if tx.send(msg).is_err() || end {
                    break;
                }
            }
        });
        let tail: Tail = Arc::default();
        let t = Arc::clone(&tail);
        let stderr = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log::debug!("worker: {line}");
                let mut q = t.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if q.len() == STDERR_TAIL_LINES {
                    q.pop_front();
                }
                q.push_back(line);
            }
        });
        let mut w = Worker {
            child,
            stdin,
            replies,
            tail,
            stderr: Some(stderr),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let error = match w.replies.recv_timeout(left) {
            Ok(Ok(Reply::Ready { .. })) => return Ok(w),
            Ok(Ok(other)) => {
                kill_and_reap(&mut w.child);
                protocol(format!("worker said {other:?} before Ready"))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                kill_and_reap(&mut w.child);
                RunError::TimedOut {
                    limit_ms: limit.as_millis() as u64,
                }
            }
            Ok(Err(_)) | Err(mpsc::RecvTimeoutError::Disconnected) => died(&mut w),
        };
        Err((error, pid))
    }

    /// Asks the worker to exit, and kills it if it does not within a second.
    pub fn shutdown(&mut self) {
        if let Some(mut w) = self.worker.take() {
            let _ = write_frame(&mut w.stdin, &Request::Shutdown);
            drop(w.stdin);
            let until = Instant::now() + Duration::from_secs(1);
            while Instant::now() < until {
                if let Ok(Some(_)) = w.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            kill_and_reap(&mut w.child);
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// SIGKILLs a worker (if it still runs) and waits for it, so no zombie is left.
fn kill_and_reap(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// What every worker gets between fork and exec: `PR_SET_PDEATHSIG` SIGKILL (it dies
/// with the thread that spawned it, so an orphan never holds memory or the model) and
/// `oom_score_adj` 1000 (the kernel's first choice when memory runs out, so the daemon
/// and its sampling survive). The daemon's own score is left alone.
fn worker_safeguards(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before exec and only makes
    // async-signal-safe calls (prctl, getppid, open, write, close); it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the prctl: then nobody will reap this one.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            let fd = libc::open(
                c"/proc/self/oom_score_adj".as_ptr(),
                libc::O_WRONLY | libc::O_CLOEXEC,
            );
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let score = b"1000\n";
            let n = libc::write(fd, score.as_ptr().cast(), score.len());
            let write_error = std::io::Error::last_os_error();
            libc::close(fd);
            if n != score.len() as isize {
                return Err(write_error);
            }
            Ok(())
        });
    }
}

/// Reaps a worker whose pipe closed and describes how it ended.
fn died(w: &mut Worker) -> RunError {
    let status = w.child.wait();
    if let Some(h) = w.stderr.take() {
        let _ = h.join();
    }
    let stderr_tail: Vec<String> = w
        .tail
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .cloned()
        .collect();
    let (exit_code, signal) = match &status {
        Ok(s) => (s.code(), s.signal()),
        Err(_) => (None, None),
    };
    let status = match (&status, exit_code, signal) {
        (_, Some(c), _) => format!("exit code {c}"),
        (_, None, Some(s)) => format!("signal {s} ({})", signal_name(s)),
        (Err(e), ..) => format!("unknown: {e}"),
        (Ok(s), None, None) => format!("{s}"),
    };
    RunError::WorkerDied {
        status,
        exit_code,
        signal,
        stderr_tail,
    }
}

/// Name of a signal, with the usual cause when it is not obvious.
#[must_use]
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGKILL => "SIGKILL: killed, e.g. by the OOM killer",
        libc::SIGABRT => "SIGABRT: aborted, e.g. a failed GGML_ASSERT",
        libc::SIGSEGV => "SIGSEGV: invalid memory access",
        libc::SIGBUS => "SIGBUS: bus error, e.g. a truncated mmap'd file",
        libc::SIGILL => "SIGILL: illegal instruction, e.g. a CPU feature missing",
        libc::SIGFPE => "SIGFPE",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        _ => "signal",
    }
}

/// The Run record of a run the worker could not report itself.
fn failed_run(job: &Job, worker_pid: u32, mut phases: Vec<PhaseMark>, error: RunError) -> Run {
    if !phases.is_empty() {
        phases.push(PhaseMark {
            phase: RunPhase::Done,
            mono_us: mono_us(),
        });
    }
    Run {
        phases,
        outcome: Outcome::Failed(error),
        ..job.blank_run(worker_pid)
    }
}
