//! What the daemon does with the workload thread's messages: track the worker, log the
//! plans' starts, add the measured energy to each finished run and log it.

use crate::clock::Anchor;
use crate::derive::Window;
use crate::record::Event;
use crate::record::EventKind;
use crate::record::Record;
use crate::record::Run;
use crate::sampler::ProcRole;
use crate::sampler::TrackedProc;

use super::state::Daemon;
use super::workload::WorkMsg;

impl Daemon {
    /// Queues the plans due now and takes the workload thread's news. Returns true in
    /// `bench` mode once every plan has run.
    pub(super) fn plans_tick(&mut self) -> bool {
        let Some(p) = &mut self.plans else {
            return false;
        };
        p.schedule(Anchor::now());
        let msgs = p.messages();
        let events = p.events();
        let done = p.all_done();
        for msg in msgs {
            self.work(msg);
        }
        for kind in events {
            self.event(kind);
        }
        done
    }

    /// Tracks the llama.cpp worker (or stops tracking it): the layout changes, so the
    /// next sample starts a new block.
    pub(super) fn track_worker(&mut self, worker: Option<u32>) {
        let mut procs = vec![TrackedProc {
            pid: std::process::id(),
            role: ProcRole::Daemon,
        }];
        procs.extend(worker.map(|pid| TrackedProc {
            pid,
            role: ProcRole::Worker,
        }));
        if let Err(e) = self.sampler.set_procs(procs) {
            log::error!("cannot track the worker: {e}");
        }
    }

    /// A run ended: adds its place in the schedule, its plan's idle lead-in, how its
    /// cooldown ended (capped: see `runs::energy_of`) and its measured energy, and queues
    /// it for the log.
    pub(super) fn finish_run(
        &mut self,
        mut run: Run,
        index: usize,
        total: usize,
        cooldown_capped: bool,
    ) {
        run.schedule_index = u32::try_from(index).unwrap_or(u32::MAX);
        run.schedule_len = u32::try_from(total).unwrap_or(u32::MAX);
        run.cooldown_capped = cooldown_capped;
        run.idle_lead_in = self.idle_window.map(Into::into);
        if let Some(p) = &mut self.power {
            p.drain(&mut self.records);
            let idle = self.idle_window;
            run.energy = super::runs::energy_of(
                &run,
                cooldown_capped,
                idle,
                p.history(),
                p.label(),
                p.period_us(),
            )
            .map(|e| (&e).into());
        }
        if self.progress {
            eprintln!("{}", super::runs::progress_line(&run, index, total));
        }
        log::info!(
            "run {} ({}) ended: {:?}",
            run.run_id,
            run.label,
            run.outcome
        );
        self.records.push(Record::Run(Box::new(run)));
    }

    /// Acts on what the workload thread reported.
    pub(super) fn work(&mut self, msg: WorkMsg) {
        match msg {
            WorkMsg::Worker(pid) => self.track_worker(pid),
            WorkMsg::Run {
                run,
                index,
                total,
                cooldown,
            } => {
                let capped = cooldown.as_ref().is_some_and(|(_, w)| w.capped);
                if let Some((mono_us, w)) = cooldown {
                    if w.capped {
                        log::warn!(
                            "run {} ({}) started after the cooldown cap of {} ms: busy {:?} % \
                             (baseline {:?} %), SoC {:?} m°C",
                            run.run_id,
                            run.label,
                            w.waited_us / 1000,
                            w.busy_pct,
                            w.baseline_busy_pct,
                            w.temp_mc
                        );
                    }
                    self.events.push(Event {
                        mono_us,
                        kind: EventKind::Cooldown {
                            run_id: run.run_id,
                            label: run.label.clone(),
                            waited_us: w.waited_us,
                            capped: w.capped,
                            baseline_busy_pct: w.baseline_busy_pct,
                            busy_pct: w.busy_pct,
                            temp_mc: w.temp_mc,
                        },
                    });
                }
                self.finish_run(*run, index, total, capped);
            }
            WorkMsg::PlanStarted {
                name,
                idle_from_us,
                idle_to_us,
            } => {
                self.idle_window = Some(Window::spanning(idle_from_us, idle_to_us));
                self.event(EventKind::PlanStart {
                    plan: name,
                    idle_from_us,
                    idle_to_us,
                });
            }
            WorkMsg::PlanDone { name, .. } => log::info!("plan {name}: every run has ended"),
        }
    }
}
