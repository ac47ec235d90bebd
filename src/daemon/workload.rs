//! Plans run in a thread of their own, the llama.cpp work in a supervised worker process,
//! so a slow, crashing or hanging run never holds up sampling and logging. The thread
//! reports the worker's pid (the daemon then samples it apart from itself) and every
//! finished run; the daemon adds the measured energy and logs it.

use std::path::Path;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use jiff::tz::TimeZone;

use super::schedule::Scheduler;
use crate::clock::Anchor;
use crate::llama::job_for;
use crate::llama::wait_for_cooldown;
use crate::llama::CooldownWait;
use crate::llama::CpuStat;
use crate::llama::Supervisor;
use crate::plan::Plan;
use crate::plan::When;
use crate::record::EventKind;
use crate::record::Run;
use crate::sampler::Probe;
use crate::sampler::Roots;

/// What the workload thread tells the daemon.
#[derive(Debug)]
pub(super) enum WorkMsg {
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
        index: usize,
        name: String,
        idle_from_us: u64,
        idle_to_us: u64,
        keep_power_us: u64,
    },
    /// Every run of plan `index` has ended (or the daemon is stopping).
    PlanDone { index: usize, name: String },
}

/// Before a plan's first run the worker thread waits this long, doing nothing, so the
/// idle baseline of the plan's runs is measured just before them, µs.
pub(super) const IDLE_LEAD_IN_US: u64 = 3_000_000;

pub(super) struct Workloads {
    plans: Option<mpsc::Sender<(usize, Arc<Plan>)>>,
    pub(super) rx: mpsc::Receiver<WorkMsg>,
    stop: Arc<AtomicBool>,
    worker_pid: Arc<AtomicU32>,
    handle: Option<JoinHandle<()>>,
}

impl Workloads {
    /// Starts the thread; workers are `exe worker`; generated projectors go to
    /// `generated_dir`.
    pub(super) fn spawn(
        exe: PathBuf,
        roots: Roots,
        generated_dir: PathBuf,
    ) -> std::io::Result<Self> {
        let (plans_tx, plans_rx) = mpsc::channel::<(usize, Arc<Plan>)>();
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let worker_pid = Arc::new(AtomicU32::new(0));
        let (s, w) = (Arc::clone(&stop), Arc::clone(&worker_pid));
        // Workers die with this thread (PR_SET_PDEATHSIG): it lives until `stop`.
        let handle = std::thread::Builder::new()
            .name("workloads".into())
            .spawn(move || {
                let mut sup = Supervisor::new(exe);
                // Published at spawn, before the worker loads anything: the daemon
                // samples it (and `stop` can kill it) from its first moment.
                let (spawned_tx, spawned_pid) = (tx.clone(), Arc::clone(&w));
                sup.set_on_spawn(Box::new(move |pid| {
                    if spawned_pid.swap(pid, Ordering::Relaxed) != pid {
                        let _ = spawned_tx.send(WorkMsg::Worker(Some(pid)));
                    }
                }));
                for (index, plan) in plans_rx {
                    let env = PlanEnv {
                        roots: &roots,
                        generated_dir: &generated_dir,
                        tx: &tx,
                        stop: &s,
                        worker_pid: &w,
                    };
                    run_plan(index, &plan, &mut sup, &env);
                    sup.shutdown();
                    w.store(0, Ordering::Relaxed);
                    let _ = tx.send(WorkMsg::Worker(None));
                    let name = plan.name.clone();
                    let _ = tx.send(WorkMsg::PlanDone { index, name });
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

    /// Queues plan `index`; plans run one after the other.
    pub(super) fn start(&self, index: usize, plan: Arc<Plan>) {
        if let Some(tx) = &self.plans {
            let _ = tx.send((index, plan));
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

fn run_plan(index: usize, plan: &Plan, sup: &mut Supervisor, env: &PlanEnv<'_>) {
    let PlanEnv {
        roots,
        generated_dir,
        tx,
        stop,
        worker_pid,
    } = *env;
    let schedule = plan.schedule();
    let limit = Duration::from_secs(plan.time_limit_s);
    let total = schedule.runs.len();
    let mut probe = Probe::new(roots);
    let idle_from_us = crate::clock::mono_us();
    let idle_from = CpuStat::read(&mut probe);
    while crate::clock::mono_us() < idle_from_us + IDLE_LEAD_IN_US {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // The machine's idle CPU: what each run's cooldown waits to get back to.
    let baseline_busy_pct = idle_from
        .zip(CpuStat::read(&mut probe))
        .and_then(|(from, to)| to.busy_pct_since(&from));
    let _ = tx.send(WorkMsg::PlanStarted {
        index,
        name: plan.name.clone(),
        idle_from_us,
        idle_to_us: crate::clock::mono_us(),
        keep_power_us: keep_power_us(plan),
    });
    for (run_index, sr) in schedule.runs.iter().enumerate() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let cooldown = plan.cooldown.as_ref().map(|c| {
            let wait = wait_for_cooldown(c, baseline_busy_pct, roots);
            (crate::clock::mono_us(), wait)
        });
        let job = job_for(&schedule, sr, generated_dir);
        // The worker's pid was published when it was spawned (`set_on_spawn`).
        let mut run = sup.run(&job, limit);
        run.cooldown_us = cooldown.as_ref().map_or(0, |(_, w)| w.waited_us);
        if sup.worker_pid().is_none() && worker_pid.swap(0, Ordering::Relaxed) != 0 {
            let _ = tx.send(WorkMsg::Worker(None));
        }
        let _ = tx.send(WorkMsg::Run {
            run: Box::new(run),
            index: run_index,
            total,
            cooldown,
        });
    }
}

/// The daemon's plans: when each is due, and the thread that runs them.
pub(super) struct Plans {
    workloads: Workloads,
    plans: Vec<Arc<Plan>>,
    schedule: Scheduler,
    /// Run each plan once, now, whatever its `[when]` says (`edgewatt bench`).
    once: bool,
    last_check_s: i64,
    /// Events to log: plans due, state file problems.
    events: Vec<EventKind>,
}

impl Plans {
    /// Starts the workload thread. The schedule keeps each plan's last start in
    /// `state_dir` (not in `once` mode, which runs every plan once, now); generated
    /// projectors go to `state_dir/generated`.
    pub(super) fn start(
        exe: PathBuf,
        roots: Roots,
        plans: Vec<Plan>,
        once: bool,
        state_dir: &Path,
        now: Anchor,
    ) -> std::io::Result<Self> {
        let whens = plans
            .iter()
            .map(|p| {
                let when = if once {
                    When::default()
                } else {
                    p.when.clone()
                };
                (p.name.clone(), when)
            })
            .collect();
        let tz = TimeZone::system();
        if plans.iter().any(|p| !p.when.at.is_empty()) && !once {
            log::info!(
                "times of day are local time, zone {}",
                tz.iana_name().unwrap_or("from /etc/localtime")
            );
        }
        let saved_in = (!once).then(|| state_dir.to_owned());
        let (schedule, events) = Scheduler::new(whens, tz, saved_in, now);
        Ok(Self {
            workloads: Workloads::spawn(exe, roots, state_dir.join("generated"))?,
            plans: plans.into_iter().map(Arc::new).collect(),
            schedule,
            once,
            last_check_s: i64::MIN,
            events,
        })
    }

    /// Queues the plans that are due at `now` (checked once a wall-clock second).
    pub(super) fn schedule(&mut self, now: Anchor) {
        let now_s = now.wall_unix_us.div_euclid(1_000_000);
        if now_s == self.last_check_s {
            return;
        }
        self.last_check_s = now_s;
        for due in self.schedule.poll(now) {
            let plan = &self.plans[due.index];
            if due.catch_up {
                log::info!(
                    "plan {} is due ({}, missed while the daemon was down): starting it",
                    plan.name,
                    due.trigger_text()
                );
            } else {
                log::info!(
                    "plan {} is due ({}): starting it",
                    plan.name,
                    due.trigger_text()
                );
            }
            if !self.once {
                self.events.push(due.event(&plan.name));
            }
            self.workloads.start(due.index, Arc::clone(plan));
        }
    }

    /// Events to log since the last call.
    pub(super) fn events(&mut self) -> Vec<EventKind> {
        std::mem::take(&mut self.events)
    }

    /// Messages from the workload thread since the last call.
    pub(super) fn messages(&mut self) -> Vec<WorkMsg> {
        let msgs: Vec<WorkMsg> = self.workloads.rx.try_iter().collect();
        for m in &msgs {
            match m {
                WorkMsg::PlanStarted { index, .. } => {
                    self.events.extend(self.schedule.started(*index));
                }
                WorkMsg::PlanDone { index, .. } => self.schedule.finished(*index),
                _ => {}
            }
        }
        msgs
    }

    /// In `once` mode: every plan has run.
    pub(super) fn all_done(&self) -> bool {
        self.once && self.schedule.settled()
    }

    /// Stops the thread (killing a running worker); returns its last messages.
    pub(super) fn stop(self) -> Vec<WorkMsg> {
        self.workloads.stop()
    }
}
