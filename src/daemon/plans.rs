//! The daemon's plans: when each is due, and the workload thread that runs them.

use std::path::Path;
use std::sync::Arc;

use jiff::tz::TimeZone;

use super::schedule::Scheduler;
use super::workload::ThreadEnv;
use super::workload::WorkMsg;
use super::workload::Workloads;
use crate::clock::Anchor;
use crate::plan::Plan;
use crate::plan::When;
use crate::record::EventKind;

pub(super) struct Plans {
    workloads: Workloads,
    env: ThreadEnv,
    plans: Vec<Arc<Plan>>,
    schedule: Scheduler,
    /// Run each plan once, now, whatever its `[when]` says (`edgewatt bench`).
    once: bool,
    last_check_s: i64,
    /// Events to log: plans due, state file problems.
    events: Vec<EventKind>,
    /// Messages a thread that died had sent, for the next [`Plans::messages`].
    leftover: Vec<WorkMsg>,
}

/// Each plan's name and `[when]` (`once`: due now, whatever it says).
fn whens(plans: &[Plan], once: bool) -> Vec<(String, When)> {
    plans
        .iter()
        .map(|p| {
            let when = if once {
                When::default()
            } else {
                p.when.clone()
            };
            (p.name.clone(), when)
        })
        .collect()
}

fn log_time_zone(plans: &[Plan], tz: &TimeZone) {
    if plans.iter().any(|p| !p.when.at.is_empty()) {
        log::info!(
            "times of day are local time, zone {}",
            tz.iana_name().unwrap_or("from /etc/localtime")
        );
    }
}

impl Plans {
    /// Starts the workload thread. The schedule keeps each plan's last start in
    /// `state_dir` (not in `once` mode, which runs every plan once, now).
    pub(super) fn start(
        env: ThreadEnv,
        plans: Vec<Plan>,
        once: bool,
        state_dir: &Path,
        now: Anchor,
    ) -> std::io::Result<Self> {
        let tz = TimeZone::system();
        if !once {
            log_time_zone(&plans, &tz);
        }
        let saved_in = (!once).then(|| state_dir.to_owned());
        let (schedule, events) = Scheduler::new(whens(&plans, once), tz, saved_in, now);
        Ok(Self {
            workloads: Workloads::spawn(&env)?,
            env,
            plans: plans.into_iter().map(Arc::new).collect(),
            schedule,
            once,
            last_check_s: i64::MIN,
            events,
            leftover: Vec::new(),
        })
    }

    /// The plans are now `plans` (SIGHUP): a plan of the same name keeps its schedule
    /// (last start, running or not); one queued or running finishes as it was.
    pub(super) fn reload(&mut self, plans: Vec<Plan>, now: Anchor) {
        log_time_zone(&plans, &TimeZone::system());
        self.schedule.reload(whens(&plans, self.once), now);
        self.plans = plans.into_iter().map(Arc::new).collect();
        self.last_check_s = i64::MIN;
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
            let missed = if due.catch_up {
                ", missed while the daemon was down"
            } else {
                ""
            };
            log::info!(
                "plan {} is due ({}{missed}): starting it",
                plan.name,
                due.trigger_text()
            );
            if !self.once {
                self.events.push(due.event(&plan.name));
            }
            self.workloads.start(Arc::clone(plan));
        }
    }

    /// Events to log since the last call.
    pub(super) fn events(&mut self) -> Vec<EventKind> {
        std::mem::take(&mut self.events)
    }

    /// Messages from the workload thread since the last call.
    pub(super) fn messages(&mut self) -> Vec<WorkMsg> {
        let mut msgs = std::mem::take(&mut self.leftover);
        msgs.extend(self.workloads.rx.try_iter());
        for m in &msgs {
            match m {
                WorkMsg::PlanStarted { name, .. } => {
                    if let Some(i) = self.schedule.index_of(name) {
                        self.events.extend(self.schedule.started(i));
                    }
                }
                WorkMsg::PlanDone { name } => {
                    if let Some(i) = self.schedule.index_of(name) {
                        self.schedule.finished(i);
                    }
                }
                WorkMsg::Worker(_) | WorkMsg::Run { .. } => {}
            }
        }
        msgs
    }

    /// If the workload thread has died: starts it again and returns why it died. The
    /// plans it had queued or was running are dropped (they are due again by their
    /// `[when]`), and its worker died with it. Its last messages come with the next
    /// [`messages`](Self::messages).
    pub(super) fn watch(&mut self) -> Option<Result<String, (String, std::io::Error)>> {
        let why = self.workloads.died()?;
        self.leftover.extend(self.workloads.rx.try_iter());
        self.leftover.push(WorkMsg::Worker(None));
        self.schedule.abandon();
        Some(match Workloads::spawn(&self.env) {
            Ok(w) => {
                self.workloads = w;
                Ok(why)
            }
            Err(e) => Err((why, e)),
        })
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
