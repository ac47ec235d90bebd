//! Plans run in a thread of their own, the llama.cpp work in a supervised worker process,
//! so a slow, crashing or hanging run never holds up sampling and logging. The thread
//! reports the worker's pid (the daemon then samples it apart from itself) and every
//! finished run; the daemon adds the measured energy and logs it.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::llama::job_for;
use crate::llama::wait_for_cooldown;
use crate::llama::CooldownWait;
use crate::llama::CpuBackend;
use crate::llama::CpuStat;
use crate::llama::Supervisor;
use crate::plan::Plan;
use crate::record::Run;
use crate::record::RunError;
use crate::sampler::Roots;

/// What the workload thread tells the daemon.
#[derive(Debug)]
pub(super) enum WorkMsg {
    /// At start, before any plan: the CPU kernels a worker loads on this machine, or why
    /// it cannot start.
    CpuBackend(Result<CpuBackend, RunError>),
    /// The worker process now running jobs (`None`: no worker any more).
    Worker(Option<u32>),
    /// A run ended (ok or failed); `index` of `total` in its plan's schedule; the
    /// cooldown before it and when that ended (CLOCK_MONOTONIC µs), if the plan has one;
    /// the CPU backend variant of the worker that ran it.
    Run {
        run: Box<Run>,
        index: usize,
        total: usize,
        cooldown: Option<(u64, CooldownWait)>,
        cpu_backend: Option<String>,
    },
    /// A plan starts: its idle lead-in (CLOCK_MONOTONIC µs) is over, runs follow.
    PlanStarted {
        name: String,
        idle_from_us: u64,
        idle_to_us: u64,
    },
    /// Every run of the named plan has ended (or the daemon is stopping).
    PlanDone(String),
}

/// Before a plan's first run the worker thread waits this long, doing nothing, so the
/// idle baseline of the plan's runs is measured just before them, µs.
pub(super) const IDLE_LEAD_IN_US: u64 = 3_000_000;

/// Time for the start-up probe's worker to load its CPU backend and say so.
const PROBE_LIMIT: Duration = Duration::from_secs(60);

pub(super) struct Workloads {
    plans: Option<mpsc::Sender<Arc<Plan>>>,
    pub(super) rx: mpsc::Receiver<WorkMsg>,
    stop: Arc<AtomicBool>,
    worker_pid: Arc<AtomicU32>,
    handle: Option<JoinHandle<()>>,
}

impl Workloads {
    /// Starts the thread; workers are `exe worker`.
    pub(super) fn spawn(exe: PathBuf, roots: Roots) -> std::io::Result<Self> {
        let (plans_tx, plans_rx) = mpsc::channel::<Arc<Plan>>();
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let worker_pid = Arc::new(AtomicU32::new(0));
        let (s, w) = (Arc::clone(&stop), Arc::clone(&worker_pid));
        let handle = std::thread::Builder::new()
            .name("workloads".into())
            .spawn(move || {
                let mut sup = Supervisor::new(exe);
                let _ = tx.send(WorkMsg::CpuBackend(sup.probe(PROBE_LIMIT)));
                sup.shutdown();
                for plan in plans_rx {
                    run_plan(&plan, &mut sup, &roots, &tx, &s, &w);
                    sup.shutdown();
                    w.store(0, Ordering::Relaxed);
                    let _ = tx.send(WorkMsg::Worker(None));
                    let _ = tx.send(WorkMsg::PlanDone(plan.name.clone()));
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
    /// the shutdown (the run is logged as failed, with the signal).
    pub(super) fn stop(mut self) -> Vec<WorkMsg> {
        self.stop.store(true, Ordering::Relaxed);
        self.plans = None;
        let pid = self.worker_pid.load(Ordering::Relaxed);
        if pid != 0 {
            // SAFETY: kill(2) on the worker this thread's supervisor spawned.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.rx.try_iter().collect()
    }
}

fn run_plan(
    plan: &Plan,
    sup: &mut Supervisor,
    roots: &Roots,
    tx: &mpsc::Sender<WorkMsg>,
    stop: &AtomicBool,
    worker_pid: &AtomicU32,
) {
    let schedule = plan.schedule();
    let limit = Duration::from_secs(plan.time_limit_s);
    let total = schedule.runs.len();
    let idle_from_us = crate::clock::mono_us();
    let idle_from = CpuStat::read(&roots.proc_root);
    while crate::clock::mono_us() < idle_from_us + IDLE_LEAD_IN_US {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // The machine's idle CPU: what each run's cooldown waits to get back to.
    let baseline_busy_pct = idle_from
        .zip(CpuStat::read(&roots.proc_root))
        .and_then(|(from, to)| to.busy_pct_since(&from));
    let _ = tx.send(WorkMsg::PlanStarted {
        name: plan.name.clone(),
        idle_from_us,
        idle_to_us: crate::clock::mono_us(),
    });
    for (index, sr) in schedule.runs.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let cooldown = plan.cooldown.as_ref().map(|c| {
            let wait = wait_for_cooldown(c, baseline_busy_pct, &roots.proc_root, &roots.sys_root);
            (crate::clock::mono_us(), wait)
        });
        let job = job_for(&schedule, sr);
        let mut run = sup.run_observed(&job, limit, &mut |pid, _mark| {
            if worker_pid.swap(pid, Ordering::Relaxed) != pid {
                let _ = tx.send(WorkMsg::Worker(Some(pid)));
            }
        });
        run.cooldown_us = cooldown.as_ref().map_or(0, |(_, w)| w.waited_us);
        if sup.worker_pid().is_none() && worker_pid.swap(0, Ordering::Relaxed) != 0 {
            let _ = tx.send(WorkMsg::Worker(None));
        }
        let _ = tx.send(WorkMsg::Run {
            run: Box::new(run),
            index,
            total,
            cooldown,
            cpu_backend: sup.cpu_backend().map(|b| b.variant.clone()),
        });
    }
}

/// A plan and when it last started (wall time, s).
struct Scheduled {
    plan: Arc<Plan>,
    last_start_s: Option<i64>,
    queued: bool,
}

/// The daemon's plans: when each is due, and the thread that runs them.
pub(super) struct Plans {
    workloads: Workloads,
    scheduled: Vec<Scheduled>,
    /// Run each plan once, now, whatever its `[when]` says (`edgewatt bench`).
    once: bool,
    last_check_s: i64,
}

/// Seconds east of UTC of the local time zone now (0 if unknown).
fn utc_offset_s(now_s: i64) -> i64 {
    let t: libc::time_t = now_s;
    // SAFETY: localtime_r writes only into `tm`, a valid, zeroed struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if ok {
        tm.tm_gmtoff
    } else {
        0
    }
}

impl Plans {
    pub(super) fn start(
        exe: PathBuf,
        roots: Roots,
        plans: Vec<Plan>,
        once: bool,
    ) -> std::io::Result<Self> {
        Ok(Self {
            workloads: Workloads::spawn(exe, roots)?,
            scheduled: plans
                .into_iter()
                .map(|p| Scheduled {
                    plan: Arc::new(p),
                    last_start_s: None,
                    queued: false,
                })
                .collect(),
            once,
            last_check_s: i64::MIN,
        })
    }

    /// Queues the plans that are due at wall time `now_s` (checked once a second).
    pub(super) fn schedule(&mut self, now_s: i64) {
        if now_s == self.last_check_s {
            return;
        }
        self.last_check_s = now_s;
        let offset = utc_offset_s(now_s);
        for s in self.scheduled.iter_mut().filter(|s| !s.queued) {
            let due = if self.once {
                s.last_start_s.is_none().then_some(now_s)
            } else {
                s.plan.when.next_due(now_s, s.last_start_s, offset)
            };
            if due.is_some_and(|t| t <= now_s) {
                log::info!("plan {} is due: starting it", s.plan.name);
                s.queued = true;
                s.last_start_s = Some(now_s);
                self.workloads.start(Arc::clone(&s.plan));
            }
        }
    }

    /// Messages from the workload thread since the last call.
    pub(super) fn messages(&mut self) -> Vec<WorkMsg> {
        let msgs: Vec<WorkMsg> = self.workloads.rx.try_iter().collect();
        for m in &msgs {
            if let WorkMsg::PlanDone(name) = m {
                for s in self.scheduled.iter_mut().filter(|s| &s.plan.name == name) {
                    s.queued = false;
                }
            }
        }
        msgs
    }

    /// In `once` mode: every plan has run.
    pub(super) fn all_done(&self) -> bool {
        self.once
            && self
                .scheduled
                .iter()
                .all(|s| s.last_start_s.is_some() && !s.queued)
    }

    /// Stops the thread (killing a running worker); returns its last messages.
    pub(super) fn stop(self) -> Vec<WorkMsg> {
        self.workloads.stop()
    }
}
