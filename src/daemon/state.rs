//! The daemon's state between ticks: the block being filled, events and records waiting
//! for the next flush, the store's health, and what the workload thread reports.

use crate::clock;
use crate::clock::Anchor;
#[cfg(feature = "llama")]
use crate::derive::energy::CooldownEnd;
#[cfg(feature = "llama")]
use crate::derive::Window;
use crate::record::Event;
use crate::record::EventKind;
use crate::record::Record;
use crate::record::SampleBlockBuilder;
#[cfg(feature = "llama")]
use crate::sampler::ProcRole;
use crate::sampler::Sample;
use crate::sampler::Sampler;
#[cfg(feature = "llama")]
use crate::sampler::TrackedProc;
use crate::store::StoreError;
use crate::store::Writer;

use super::power;
use super::RunSummary;
use super::STORE_ERROR_REPEAT_US;

/// The running state between ticks.
pub(super) struct Daemon {
    pub(super) writer: Writer,
    pub(super) sampler: Sampler,
    pub(super) builder: SampleBlockBuilder,
    pub(super) events: Vec<Event>,
    pub(super) fsync_interval_us: u64,
    pub(super) last_flush_us: u64,
    pub(super) failing: bool,
    pub(super) store_error_logged_us: u64,
    pub(super) power: Option<power::PowerTap>,
    /// Samples between key blocks.
    pub(super) key_every: u32,
    pub(super) records: Vec<Record>,
    pub(super) summary: RunSummary,
    /// Print a progress line per finished run (`edgewatt bench`).
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
    pub(super) progress: bool,
    /// The recent samples, the running plan's baseline, the trust threshold.
    pub(super) energy: super::runs::EnergyState,
}

impl Daemon {
    pub(super) fn event(&mut self, kind: EventKind) {
        self.events.push(Event {
            mono_us: clock::mono_us(),
            kind,
        });
    }

    /// Queues what the sampler noticed since the last call as events, at their times.
    pub(super) fn log_sampler_notices(&mut self) {
        let notices = self.sampler.drain_notices().map(|n| Event {
            mono_us: n.mono_us,
            kind: n.kind.into(),
        });
        self.events.extend(notices);
    }

    fn store_result(&mut self, r: Result<(), StoreError>) {
        match r {
            Ok(()) if self.failing => {
                log::info!("writing the log works again; queued records were written");
                self.failing = false;
            }
            Ok(()) => {}
            Err(e) => {
                self.summary.store_errors += 1;
                let now_us = clock::mono_us();
                let first = !self.failing;
                if first {
                    log::error!("{e}; sampling goes on and records are kept in memory");
                    self.failing = true;
                }
                // One event when writing starts failing, then one a minute while it does.
                if first
                    || now_us.saturating_sub(self.store_error_logged_us) >= STORE_ERROR_REPEAT_US
                {
                    self.store_error_logged_us = now_us;
                    let pending_bytes = self.writer.pending_bytes();
                    self.event(EventKind::StoreError {
                        message: e.to_string(),
                        pending_bytes,
                    });
                }
            }
        }
    }

    /// Writes the current block and the queued events, then fsyncs and maybe rotates.
    pub(super) fn flush(&mut self, now_us: u64) {
        self.last_flush_us = now_us;
        self.write_block();
        let mut records = std::mem::take(&mut self.records);
        if let Some(p) = &mut self.power {
            p.drain(&mut records);
        }
        records.extend(self.events.drain(..).map(Record::Event));
        for rec in records.drain(..) {
            let r = self.writer.append(&rec).map(drop);
            self.store_result(r);
        }
        self.records = records;
        let r = self.writer.sync();
        self.store_result(r);
        match self.writer.maybe_rotate(now_us, Anchor::now()) {
            Ok(Some(rot)) => {
                // Every segment starts with a key block, so it can be read on its own.
                self.builder.force_key();
                log::debug!(
                    "sealed {}, writing {}",
                    rot.sealed.display(),
                    rot.opened.display()
                );
                for d in &rot.deleted {
                    log::info!("retention: deleted {}", d.display());
                }
                if let Some(e) = rot.retention_error {
                    log::warn!("retention: {e}");
                }
            }
            Ok(None) => {}
            Err(e) => self.store_result(Err(e)),
        }
    }

    /// Appends the samples collected so far as one block.
    fn write_block(&mut self) {
        let Some(block) = self.builder.finish() else {
            return;
        };
        let dropped_before = self.writer.dropped_frames();
        let r = self.writer.append(&Record::Samples(block));
        if self.writer.dropped_frames() != dropped_before {
            // A full write queue dropped frames: the chain may have lost a link.
            self.builder.force_key();
        }
        match r {
            Ok(seq) => self.builder.committed(seq),
            Err(e) => {
                // Queued under the next seq the writer handed out; continuations need
                // a committed base, so start the next block as a key block.
                self.builder.force_key();
                self.store_result(Err(e));
            }
        }
    }

    pub(super) fn push_sample(&mut self, sample: &Sample) {
        if self.builder.layout() != self.sampler.layout() {
            self.write_block();
            self.builder =
                SampleBlockBuilder::with_key_every(self.sampler.layout().clone(), self.key_every);
        }
        self.energy.recent.push(self.sampler.layout(), sample);
        #[cfg(feature = "llama")]
        self.settle_energy(sample.mono_us, false);
        if let Err(e) = self.builder.push(sample) {
            log::error!("sample of tick {} not logged: {e}", sample.tick);
        } else {
            self.summary.samples += 1;
        }
    }
}

#[cfg(feature = "llama")]
impl Daemon {
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
}

#[cfg(feature = "llama")]
impl Daemon {
    /// Acts on what the workload thread reported.
    pub(super) fn work(&mut self, msg: super::workload::WorkMsg) {
        use super::workload::WorkMsg;
        match msg {
            WorkMsg::Worker(pid) => self.track_worker(pid),
            WorkMsg::Run {
                run,
                index,
                total,
                cooldown,
            } => {
                let end = cooldown.as_ref().map(|(end_us, w)| CooldownEnd {
                    end_us: *end_us,
                    waited_us: w.waited_us,
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
                index: _,
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
