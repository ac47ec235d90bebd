//! Plans run in a thread of their own, the llama.cpp work in a supervised worker process,
//! so a slow, crashing or hanging run never holds up sampling and logging. The thread
//! reports the worker's pid (the daemon then samples it apart from itself) and every
//! finished run; the daemon adds the measured energy and logs it.
//!
//! Stopping is prompt whatever the thread is doing: its waits (the idle lead-in, a
//! cooldown) end as soon as the stop flag is set (the thread is unparked), and a worker
//! starting or running is killed. A thread that dies (a panic) is noticed by
//! [`Plans::watch`] and started again; its worker dies with it (`PR_SET_PDEATHSIG`).

use std::path::Path;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use std::time::Instant;

use super::PlanHook;
use crate::llama::job_for;
use crate::llama::wait_for_cooldown_with;
use crate::llama::CooldownWait;
use crate::llama::CpuBackend;
use crate::llama::CpuStat;
use crate::llama::Supervisor;
use crate::llama::COOLDOWN_WINDOW;
use crate::plan::Plan;
use crate::record::Run;
use crate::record::RunError;
use crate::sampler::Probe;
use crate::sampler::Roots;

/// What the workload thread tells the daemon.
#[derive(Debug)]
pub(super) enum WorkMsg {
    /// When the thread starts, before any plan: the CPU kernels a worker loads on this
    /// machine, or why it cannot start.
    CpuBackend(Result<CpuBackend, RunError>),
    /// The worker process now running jobs (`None`: no worker any more).
    Worker(Option<u32>),
    /// A run ended (ok or failed); `index` of `total` in its plan's schedule; the
    /// cooldown before it and when that ended (CLOCK_MONOTONIC µs), if the plan has one.
    Run {
        run: Box<Run>,
        index: usize,
        total: usize,
        cooldown: Option<(u64, CooldownWait)>,
    },
    /// A plan starts: its idle lead-in (CLOCK_MONOTONIC µs) is over, runs follow; power
    /// readings must be kept for `keep_power_us` to span one of its runs and the quiet
    /// stretch before it.
    PlanStarted {
        name: String,
        idle_from_us: u64,
        idle_to_us: u64,
        keep_power_us: u64,
    },
    /// Every run of the plan has ended (or the daemon is stopping).
    PlanDone { name: String },
}

/// Before a plan's first run the worker thread waits this long, doing nothing, so the
/// idle baseline of the plan's runs is measured just before them, µs.
pub(super) const IDLE_LEAD_IN_US: u64 = 3_000_000;

/// Time for the start-up probe's worker to load its CPU backend and say so.
const PROBE_LIMIT: Duration = Duration::from_secs(60);

/// What the workload thread is started with (again, after it died).
#[derive(Clone)]
pub(super) struct ThreadEnv {
    /// Workers are `exe worker`.
    pub(super) exe: PathBuf,
    pub(super) roots: Roots,
    /// Where generated projectors go.
    pub(super) generated_dir: PathBuf,
    pub(super) on_plan_start: Option<PlanHook>,
    /// The nice value the thread, and so its workers, runs at: the daemon's own at its
    /// start (a thread restarted by the sampling thread would inherit that one's raised
    /// priority, and llama.cpp's threads would then compete with the sampler).
    pub(super) nice: Option<i32>,
    /// The monotonic time of the newest sample the daemon has taken, µs: a plan's worker
    /// is shut down once a sample past its last run's end is in, so that run's worker CPU
    /// and RSS have a sample on each side ([`wait_sampled_past`]).
    pub(super) sampled_to_us: Arc<AtomicU64>,
}

/// The longest a plan's worker is kept for a sample past its last run's end, which a
/// sampler on time takes within one tick (100 Hz to 1 Hz).
const SAMPLED_PAST_MAX: Duration = Duration::from_secs(3);

/// Waits until `sampled_to_us` is at or past `end_us`, `stop` is set, or
/// [`SAMPLED_PAST_MAX`] has passed.
fn wait_sampled_past(sampled_to_us: &AtomicU64, end_us: u64, stop: &AtomicBool) {
    let started = Instant::now();
    while sampled_to_us.load(Ordering::SeqCst) < end_us
        && !stop.load(Ordering::SeqCst)
        && started.elapsed() < SAMPLED_PAST_MAX
    {
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub(super) struct Workloads {
    plans: Option<mpsc::Sender<Arc<Plan>>>,
    pub(super) rx: mpsc::Receiver<WorkMsg>,
    stop: Arc<AtomicBool>,
    worker_pid: Arc<AtomicU32>,
    handle: Option<JoinHandle<()>>,
}

impl Workloads {
    /// Starts the thread.
    pub(super) fn spawn(env: &ThreadEnv) -> std::io::Result<Self> {
        let (plans_tx, plans_rx) = mpsc::channel::<Arc<Plan>>();
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let worker_pid = Arc::new(AtomicU32::new(0));
        let (s, w, env) = (Arc::clone(&stop), Arc::clone(&worker_pid), env.clone());
        // Workers die with this thread (PR_SET_PDEATHSIG): it lives until `stop`.
        let handle = std::thread::Builder::new()
            .name("workloads".into())
            .spawn(move || {
                if let Some(nice) = env.nice {
                    if let Err(e) = crate::power::reader::set_thread_nice(nice) {
                        log::warn!("workloads: cannot set the thread's nice to {nice}: {e}");
                    }
                }
                let mut sup = Supervisor::new(env.exe.clone());
                sup.set_on_spawn(on_spawn(tx.clone(), Arc::clone(&w), Arc::clone(&s)));
                let _ = tx.send(WorkMsg::CpuBackend(sup.probe(PROBE_LIMIT)));
                sup.shutdown();
                for plan in plans_rx {
                    if let Some(hook) = &env.on_plan_start {
                        hook(&plan);
                    }
                    let penv = PlanEnv {
                        roots: &env.roots,
                        generated_dir: &env.generated_dir,
                        tx: &tx,
                        stop: &s,
                        worker_pid: &w,
                    };
                    if let Some(end_us) = run_plan(&plan, &mut sup, &penv) {
                        wait_sampled_past(&env.sampled_to_us, end_us, &s);
                    }
                    sup.shutdown();
                    w.store(0, Ordering::SeqCst);
                    let _ = tx.send(WorkMsg::Worker(None));
                    let name = plan.name.clone();
                    let _ = tx.send(WorkMsg::PlanDone { name });
                }
            })?;
        Ok(Self {
            plans: Some(plans_tx),
            rx,
            stop,
            worker_pid,
            handle: Some(handle),
        })
    }

    /// Queues a plan; plans run one after the other.
    pub(super) fn start(&self, plan: Arc<Plan>) {
        if let Some(tx) = &self.plans {
            let _ = tx.send(plan);
        }
    }

    /// Stops after the current run: its worker is killed, so a long run does not delay
    /// the shutdown (the run is logged as failed, with the signal); a wait is cut short.
    pub(super) fn stop(mut self) -> Vec<WorkMsg> {
        self.stop.store(true, Ordering::SeqCst);
        self.plans = None;
        let pid = self.worker_pid.load(Ordering::SeqCst);
        if pid != 0 {
            // SAFETY: kill(2) on the worker this thread's supervisor spawned.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
        self.rx.try_iter().collect()
    }

    /// If the thread has died (it only ends by `stop` otherwise): why.
    pub(super) fn died(&mut self) -> Option<String> {
        if !self.handle.as_ref()?.is_finished() {
            return None;
        }
        Some(match self.handle.take()?.join() {
            Err(panic) => super::watch::panic_message(&*panic),
            Ok(()) => "the thread ended".to_owned(),
        })
    }
}

/// Publishes each worker's pid at spawn, before it loads anything: the daemon samples
/// it (and `stop` can kill it) from its first moment. A stop that read the pid before
/// it was published kills nothing: then the worker is killed here.
fn on_spawn(
    tx: mpsc::Sender<WorkMsg>,
    pid_out: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
) -> crate::llama::OnSpawn {
    Box::new(move |pid| {
        if pid_out.swap(pid, Ordering::SeqCst) != pid {
            let _ = tx.send(WorkMsg::Worker(Some(pid)));
        }
        if stop.load(Ordering::SeqCst) {
            // SAFETY: kill(2) on the worker just spawned by this thread's supervisor.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    })
}

/// Sleeps `d`, or less once `stop` is set ([`Workloads::stop`] unparks the thread);
/// returns whether to stop.
fn nap(stop: &AtomicBool, d: Duration) -> bool {
    let until = Instant::now() + d;
    loop {
        if stop.load(Ordering::SeqCst) {
            return true;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::park_timeout(left);
    }
}

/// The real clock for the cooldown wait, whose sleeps a stop cuts short.
struct StopClock<'a> {
    stop: &'a AtomicBool,
}

impl crate::clock::Clock for StopClock<'_> {
    fn now_us(&self) -> u64 {
        crate::clock::mono_us()
    }
    fn sleep_us(&self, us: u64) {
        nap(self.stop, Duration::from_micros(us));
    }
}

/// What the workload thread's plans run with.
struct PlanEnv<'a> {
    roots: &'a Roots,
    generated_dir: &'a Path,
    tx: &'a mpsc::Sender<WorkMsg>,
    stop: &'a AtomicBool,
    worker_pid: &'a AtomicU32,
}

/// How long power readings must be kept for a run of `plan`'s energy: its time limit, its
/// cooldown's longest wait, the baseline before it and a minute for the worker's start.
fn keep_power_us(plan: &Plan) -> u64 {
    let wait_s = plan.cooldown.as_ref().map_or(0, |c| c.max_wait_s);
    (plan.time_limit_s + wait_s + 60)
        .saturating_mul(1_000_000)
        .saturating_add(crate::derive::energy::BASELINE_MAX_US)
}

/// Runs `plan`'s schedule; returns the end of its last run (its last phase mark), µs.
fn run_plan(plan: &Plan, sup: &mut Supervisor, env: &PlanEnv<'_>) -> Option<u64> {
    let PlanEnv {
        roots,
        generated_dir,
        tx,
        stop,
        worker_pid,
    } = *env;
    let schedule = plan.schedule();
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if let Some(warning) = plan.more_threads_than(cpus) {
        log::warn!("{warning}");
    }
    let limit = Duration::from_secs(plan.time_limit_s);
    let total = schedule.runs.len();
    let idle_from_us = crate::clock::mono_us();
    let mut probe = Probe::new(roots);
    let idle_from = CpuStat::read(&mut probe);
    if nap(stop, Duration::from_micros(IDLE_LEAD_IN_US)) {
        return None;
    }
    // The machine's idle CPU: what each run's cooldown waits to get back to.
    let baseline_busy_pct = idle_from
        .zip(CpuStat::read(&mut probe))
        .and_then(|(from, to)| to.busy_pct_since(&from));
    let _ = tx.send(WorkMsg::PlanStarted {
        name: plan.name.clone(),
        idle_from_us,
        idle_to_us: crate::clock::mono_us(),
        keep_power_us: keep_power_us(plan),
    });
    let mut last_end_us = None;
    for (run_index, sr) in schedule.runs.iter().enumerate() {
        if stop.load(Ordering::SeqCst) {
            return last_end_us;
        }
        let cooldown = plan.cooldown.as_ref().map(|c| {
            log::info!("plan {}: cooldown, at most {} s", plan.name, c.max_wait_s);
            let clock = StopClock { stop };
            let stopping = || stop.load(Ordering::SeqCst);
            let wait = wait_for_cooldown_with(
                c,
                baseline_busy_pct,
                roots,
                COOLDOWN_WINDOW,
                &clock,
                &stopping,
            );
            (crate::clock::mono_us(), wait)
        });
        if cooldown.as_ref().is_some_and(|(_, w)| w.stopped) {
            return last_end_us;
        }
        let job = job_for(&schedule, sr, generated_dir);
        // The worker's pid was published when it was spawned (`set_on_spawn`).
        let mut run = sup.run(&job, limit);
        run.cooldown_us = cooldown.as_ref().map_or(0, |(_, w)| w.waited_us);
        if sup.worker_pid().is_none() && worker_pid.swap(0, Ordering::SeqCst) != 0 {
            let _ = tx.send(WorkMsg::Worker(None));
        }
        // The variant of the worker that ran it: runs on different kernels are not
        // comparable.
        run.cpu_backend = sup.cpu_backend().map(|b| b.variant.clone());
        last_end_us = run.phases.last().map(|m| m.mono_us).or(last_end_us);
        let _ = tx.send(WorkMsg::Run {
            run: Box::new(run),
            index: run_index,
            total,
            cooldown,
        });
    }
    last_end_us
}
