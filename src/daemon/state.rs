//! The daemon's state between ticks: the block being filled, events and records waiting
//! for the next flush, the store's health, the threads beside the loop.

use crate::clock;
use crate::clock::Anchor;
use crate::clock::StepDetector;
use crate::config::Config;
use crate::record::Event;
use crate::record::EventKind;
use crate::record::Record;
use crate::record::SampleBlockBuilder;
use crate::sampler::Sample;
use crate::sampler::Sampler;
use crate::store::Appended;
use crate::store::AsyncWriter;
use crate::store::StoreError;
use crate::store::StoreReport;

use super::notify::Notifier;
use super::power;
use super::watch::Restart;
use super::RunOptions;
use super::RunSummary;
use super::STORE_ERROR_REPEAT_US;

/// The running state between ticks.
pub(super) struct Daemon {
    /// The configuration in effect (a reload changes its live parts).
    pub(super) cfg: Config,
    pub(super) opts: RunOptions,
    pub(super) store: AsyncWriter,
    pub(super) sampler: Sampler,
    pub(super) builder: SampleBlockBuilder,
    pub(super) events: Vec<Event>,
    pub(super) fsync_interval_us: u64,
    pub(super) last_flush_us: u64,
    pub(super) failing: bool,
    pub(super) store_error_logged_us: u64,
    pub(super) power: Option<power::PowerTap>,
    /// When a dead power reader is started again.
    pub(super) power_restart: Restart,
    /// Samples between key blocks.
    pub(super) key_every: u32,
    pub(super) records: Vec<Record>,
    pub(super) summary: RunSummary,
    pub(super) notifier: Notifier,
    pub(super) steps: StepDetector,
    #[cfg(feature = "llama")]
    pub(super) plans: Option<super::plans::Plans>,
    /// Print a progress line per finished run (`edgewatt bench`).
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
    pub(super) progress: bool,
    /// The recent samples, the running plan's baseline, the trust threshold.
    pub(super) energy: super::runs::EnergyState,
    /// The Prometheus endpoint's side in the daemon (`None`: `[metrics]` off or failed).
    pub(super) metrics: Option<super::publish::Publisher>,
    /// Why the endpoint is not running although `[metrics]` enables it.
    pub(super) metrics_error: Option<String>,
    /// The upload thread (`[upload] enabled`).
    pub(super) upload: Option<crate::upload::UploadThread>,
    /// The nice value the daemon started at: its workload thread and workers keep it
    /// while the sampling thread runs at [`super::SAMPLER_THREAD_NICE`].
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
    pub(super) start_nice: Option<i32>,
    /// The monotonic time of the newest sample pushed, µs, for the workload thread
    /// (`workload::ThreadEnv::sampled_to_us`).
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
    pub(super) sampled_to_us: std::sync::Arc<std::sync::atomic::AtomicU64>,
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

    /// Logs a wall-clock step against the monotonic clock, and re-anchors.
    pub(super) fn check_clock(&mut self, now: Anchor) {
        if let Some((old_offset_us, new_offset_us)) = self.steps.check(now) {
            log::warn!(
                "wall clock stepped by {} ms",
                (new_offset_us - old_offset_us) / 1000
            );
            self.event(EventKind::ClockStep {
                old_offset_us,
                new_offset_us,
                wall_unix_us: self.steps.anchor().wall_unix_us,
            });
        }
    }

    /// What READY and a reload tell systemd.
    pub(super) fn status_line(&self) -> String {
        let metrics = match (&self.metrics, &self.metrics_error) {
            (Some(m), _) => format!("; metrics on {}", m.url()),
            (None, Some(e)) => format!("; {e}"),
            (None, None) => String::new(),
        };
        format!(
            "sampling at {} Hz into {}{metrics}",
            self.cfg.sampler.rate_hz,
            self.cfg.state_dir.display()
        )
    }

    fn store_result(&mut self, r: Result<(), StoreError>) {
        match r {
            Ok(()) if self.failing => {
                log::info!("writing the log works again; queued records are being written");
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
                    let pending_bytes = self.store.status().pending_bytes;
                    self.event(EventKind::StoreError {
                        message: e.to_string(),
                        pending_bytes,
                    });
                }
            }
        }
    }

    /// Hands the current block, the power records and the queued events to the store,
    /// asks for an `fdatasync`, and rotates when due. Never waits on the disk.
    pub(super) fn flush(&mut self, now_us: u64) {
        self.last_flush_us = now_us;
        self.write_block();
        let mut records = std::mem::take(&mut self.records);
        if let Some(p) = &mut self.power {
            p.drain(&mut records);
        }
        records.extend(self.events.drain(..).map(Record::Event));
        for rec in records.drain(..) {
            self.append(&rec);
        }
        self.records = records;
        self.store.sync();
        if self.store.maybe_rotate(now_us, Anchor::now()) {
            // Every segment starts with a key block, so it can be read on its own.
            self.builder.force_key();
        }
        self.store_reports();
        if let Some(m) = &self.metrics {
            let newest = self.power.as_ref().and_then(power::PowerTap::newest_valid);
            let pending_bytes = self.store.status().pending_bytes;
            m.flush(newest, self.summary.store_errors, pending_bytes);
        }
    }

    /// Queues one record; `None` if it could not be encoded.
    fn append(&mut self, rec: &Record) -> Option<Appended> {
        match self.store.append(rec) {
            Ok(a) => {
                if a.dropped_frames > 0 {
                    // The queue dropped older frames: a chain may have lost a link.
                    self.builder.force_key();
                    self.store_result(Err(StoreError::QueueOverflow {
                        max_pending_bytes: self.store_max_pending_bytes(),
                        dropped_frames: a.dropped_frames,
                    }));
                }
                Some(a)
            }
            Err(e) => {
                self.store_result(Err(e));
                None
            }
        }
    }

    fn store_max_pending_bytes(&self) -> usize {
        self.cfg.store_options().max_pending_bytes
    }

    /// What the store's threads reported: the segment opened (and repairs), rotations,
    /// failures and recoveries.
    pub(super) fn store_reports(&mut self) {
        for report in self.store.reports() {
            match report {
                StoreReport::Opened { path, recoveries } => {
                    log::debug!("writing {}", path.display());
                    for r in recoveries {
                        log::warn!(
                            "repaired {} left open by a crash: {:?}, {} frames kept, {} bytes \
                             dropped",
                            r.found.display(),
                            r.action,
                            r.good_frames,
                            r.dropped_bytes
                        );
                        self.event((&r).into());
                    }
                }
                StoreReport::Rotated(rot) => {
                    log::debug!(
                        "sealed {}, writing {}",
                        rot.sealed.display(),
                        rot.opened.display()
                    );
                    for d in &rot.deleted {
                        log::info!("retention: deleted {}", d.display());
                    }
                    for e in rot.retention_error.iter().chain(&rot.rename_error) {
                        log::warn!("rotation: {e}");
                    }
                }
                StoreReport::Failed(e) => self.store_result(Err(e)),
                StoreReport::Resumed => self.store_result(Ok(())),
            }
        }
    }

    /// Queues the samples collected so far as one block.
    fn write_block(&mut self) {
        let Some(block) = self.builder.finish() else {
            return;
        };
        match self.append(&Record::Samples(block)) {
            Some(a) if a.dropped_frames == 0 => self.builder.committed(a.seq),
            // Continuations need a committed base: the next block is a key block.
            _ => self.builder.force_key(),
        }
    }

    pub(super) fn push_sample(&mut self, sample: &Sample) {
        if self.builder.layout() != self.sampler.layout() {
            self.write_block();
            self.builder =
                SampleBlockBuilder::with_key_every(self.sampler.layout().clone(), self.key_every);
        }
        self.energy.recent.push(self.sampler.layout(), sample);
        self.sampled_to_us
            .store(sample.mono_us, std::sync::atomic::Ordering::SeqCst);
        #[cfg(feature = "llama")]
        self.settle_energy(sample.mono_us, false);
        if let Err(e) = self.builder.push(sample) {
            log::error!("sample of tick {} not logged: {e}", sample.tick);
        } else {
            self.summary.samples += 1;
        }
    }
}
