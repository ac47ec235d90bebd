//! What the daemon does with the workload thread's messages: track the worker, log the
//! plans' starts, hand each finished run to `runs.rs` (its energy, then the log).

use crate::clock::Anchor;
use crate::derive::energy::CooldownEnd;
use crate::derive::Window;
use crate::record::Event;
use crate::record::EventKind;
use crate::sampler::ProcRole;
use crate::sampler::TrackedProc;

use super::state::Daemon;
use super::workload::WorkMsg;

impl Daemon {
    /// Queues the plans due now and takes the workload thread's news. Returns true in
    /// `bench` mode once every plan has run and every run's energy is logged.
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
        done && self.energy.settled()
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

    /// Acts on what the workload thread reported.
    pub(super) fn work(&mut self, msg: WorkMsg) {
        match msg {
            WorkMsg::CpuBackend(Ok(b)) => {
                log::info!("llama.cpp CPU backend: {b}");
                self.event(EventKind::CpuBackend {
                    variant: b.variant,
                    library: b.path.display().to_string(),
                    features: b.features,
                });
            }
            WorkMsg::CpuBackend(Err(e)) => {
                log::error!("no llama.cpp CPU backend, runs will fail: {e}");
                self.event(EventKind::CpuBackendError {
                    message: e.to_string(),
                });
            }
            WorkMsg::Worker(pid) => self.track_worker(pid),
            WorkMsg::Run {
                run,
                index,
                total,
                cooldown,
            } => {
                let end = cooldown.as_ref().map(|(end_us, w)| CooldownEnd {
                    end_us: *end_us,
                    quiet_us: w.quiet_us,
                    capped: w.capped,
                });
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
                self.finish_run(*run, index, total, end);
            }
            WorkMsg::PlanStarted {
                name,
                idle_from_us,
                idle_to_us,
                keep_power_us,
            } => self.plan_started(
                name,
                Window::spanning(idle_from_us, idle_to_us),
                keep_power_us,
            ),
            WorkMsg::PlanDone { name, .. } => log::info!("plan {name}: every run has ended"),
        }
    }
}
