//! The daemon loop: tick on absolute deadlines, read, batch samples into blocks, and
//! write them with the events every fsync interval.
//!
//! The tick path only reads files and appends to an in-memory block; file writes and
//! `fdatasync` happen once per `fsync_interval_ms`, so a crash loses at most that much.
//! Store failures (full disk, I/O errors) never stop sampling: the writer keeps the
//! frames queued and retries, and the failure is logged as an event.

mod notify;
mod power;

use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;

use thiserror::Error;

use crate::clock;
use crate::clock::Anchor;
use crate::clock::StepDetector;
use crate::config::Config;
use crate::record::Event;
use crate::record::EventKind;
use crate::record::Record;
use crate::record::SampleBlockBuilder;
use crate::record::SealReason;
use crate::sampler::ProcRole;
use crate::sampler::Roots;
use crate::sampler::Sample;
use crate::sampler::Sampler;
use crate::sampler::SamplerError;
use crate::sampler::SamplerOptions;
use crate::sampler::Ticker;
use crate::sampler::TickerError;
use crate::sampler::TrackedProc;
use crate::store::SegmentIdent;
use crate::store::StoreError;
use crate::store::StoreOptions;
use crate::store::Writer;

#[derive(Debug, Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sampler(#[from] SamplerError),
    #[error(transparent)]
    Ticker(#[from] TickerError),
    #[error("device id: {0}")]
    Identity(#[from] crate::sampler::IdentityError),
}

/// While writing fails, a `StoreError` event is logged at most this often, µs.
const STORE_ERROR_REPEAT_US: u64 = 60_000_000;

/// What `run` should do besides the config.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stop cleanly after this long, µs; `None` runs until a signal.
    pub duration_us: Option<u64>,
}

/// What a finished run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub ticks: u64,
    pub late_ticks: u64,
    pub samples: u64,
    pub store_errors: u64,
    pub stop_reason: String,
    pub last_segment: Option<std::path::PathBuf>,
}

/// The signal number that asked the daemon to stop (0 = none yet).
pub type StopFlag = AtomicUsize;

fn store_options(cfg: &Config) -> StoreOptions {
    let mut o = StoreOptions::new(cfg.state_dir.clone());
    o.segment_max_bytes = cfg.store.segment_max_bytes;
    o.segment_max_age_s = cfg.store.segment_max_age_s;
    o.fsync_interval_ms = cfg.store.fsync_interval_ms;
    o.retain_bytes = cfg.store.retain_bytes;
    o
}

fn identity(cfg: &Config, roots: &Roots) -> Result<SegmentIdent, DaemonError> {
    let device = crate::sampler::device_id(roots, Path::new("/etc"), cfg.device_id.as_deref())?;
    let boot = crate::sampler::boot_id(roots).unwrap_or_else(|e| {
        log::warn!("{e}; segments will say boot id \"unknown\"");
        "unknown".to_owned()
    });
    Ok(SegmentIdent::new(device, boot))
}

/// The running state between ticks.
struct Daemon {
    writer: Writer,
    sampler: Sampler,
    builder: SampleBlockBuilder,
    events: Vec<Event>,
    fsync_interval_us: u64,
    last_flush_us: u64,
    failing: bool,
    store_error_logged_us: u64,
    power: Option<power::PowerTap>,
    /// Samples between key blocks.
    key_every: u32,
    records: Vec<Record>,
    summary: RunSummary,
}

impl Daemon {
    fn event(&mut self, kind: EventKind) {
        self.events.push(Event {
            mono_us: clock::mono_us(),
            kind,
        });
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
    fn flush(&mut self, now_us: u64) {
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

    fn push_sample(&mut self, sample: &Sample) {
        if self.builder.layout() != self.sampler.layout() {
            self.write_block();
            self.builder =
                SampleBlockBuilder::with_key_every(self.sampler.layout().clone(), self.key_every);
        }
        if let Err(e) = self.builder.push(sample) {
            log::error!("sample of tick {} not logged: {e}", sample.tick);
        } else {
            self.summary.samples += 1;
        }
    }
}

/// Samples and logs until `stop` holds a signal number or the duration is reached,
/// then flushes and seals the segment.
pub fn run(cfg: &Config, opts: &RunOptions, stop: &StopFlag) -> Result<RunSummary, DaemonError> {
    let roots = Roots::new(&cfg.sampler.proc_root, &cfg.sampler.sys_root);
    let ident = identity(cfg, &roots)?;
    let (writer, recoveries) = Writer::open(store_options(cfg), ident, Anchor::now())?;
    let sampler_opts = SamplerOptions {
        cost_every_us: cfg.sampler.cost_report_interval_s * 1_000_000,
        ..SamplerOptions::default()
    };
    let me = TrackedProc {
        pid: std::process::id(),
        role: ProcRole::Daemon,
    };
    let sampler = Sampler::with_options(roots, vec![me], sampler_opts)?;
    let interval_us = cfg.sampler.interval_us();
    let key_every = cfg
        .store
        .key_block_interval_s
        .saturating_mul(u64::from(cfg.sampler.rate_hz));
    let key_every = u32::try_from(key_every).unwrap_or(u32::MAX);
    let mut d = Daemon {
        builder: SampleBlockBuilder::with_key_every(sampler.layout().clone(), key_every),
        key_every,
        writer,
        sampler,
        events: Vec::new(),
        fsync_interval_us: cfg.store.fsync_interval_ms * 1000,
        last_flush_us: clock::mono_us(),
        failing: false,
        store_error_logged_us: 0,
        power: None,
        records: Vec::new(),
        summary: RunSummary::default(),
    };
    let (tap, absent) = power::PowerTap::start(cfg);
    d.power = tap;
    d.events.extend(absent);
    for r in recoveries {
        log::warn!(
            "repaired {} left open by a crash: {:?}, {} frames kept, {} bytes dropped",
            r.found.display(),
            r.action,
            r.good_frames,
            r.dropped_bytes
        );
        d.event(EventKind::Recovered {
            segment: r.path.display().to_string(),
            good_frames: r.good_frames,
            dropped_bytes: r.dropped_bytes,
        });
    }
    d.event(EventKind::Start {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        pid: std::process::id(),
        interval_us,
    });
    d.event(EventKind::Config {
        toml: cfg.to_toml(),
    });
    d.flush(clock::mono_us());

    let mut notifier = notify::Notifier::new();
    notifier.ready(&format!(
        "sampling at {} Hz into {}",
        cfg.sampler.rate_hz,
        cfg.state_dir.display()
    ));
    let start_us = clock::mono_us();
    let mut ticker = Ticker::new(interval_us, start_us)?;
    let mut steps = StepDetector::new(Anchor::now(), cfg.clock.step_threshold_ms as i64 * 1000);
    let mut sample = Sample::default();
    let stop_reason = loop {
        let tick = ticker.wait();
        d.summary.ticks += 1;
        if let Some(kind) = tick.late_event() {
            d.summary.late_ticks += 1;
            d.events.push(Event {
                mono_us: tick.now_us,
                kind,
            });
        }
        d.sampler.read(tick.tick, tick.now_us, &mut sample);
        d.push_sample(&sample);
        let sampler_events: Vec<Event> = d.sampler.drain_events().collect();
        d.events.extend(sampler_events);
        if let Some((old_offset_us, new_offset_us)) = steps.check(Anchor::now()) {
            log::warn!(
                "wall clock stepped by {} ms",
                (new_offset_us - old_offset_us) / 1000
            );
            d.event(EventKind::ClockStep {
                old_offset_us,
                new_offset_us,
                wall_unix_us: steps.anchor().wall_unix_us,
            });
        }
        if tick.now_us.saturating_sub(d.last_flush_us) >= d.fsync_interval_us {
            d.flush(tick.now_us);
        }
        notifier.progress(tick.now_us);
        match stop.load(Ordering::Relaxed) {
            0 => {}
            signal => break signal_name(signal),
        }
        if opts
            .duration_us
            .is_some_and(|dur| tick.now_us.saturating_sub(start_us) >= dur)
        {
            break "duration reached".to_owned();
        }
    };
    notifier.stopping();
    let now_us = clock::mono_us();
    d.sampler.flush_cost(now_us);
    let cost: Vec<Event> = d.sampler.drain_events().collect();
    d.events.extend(cost);
    if let Some(p) = d.power.take() {
        p.stop(&mut d.records);
    }
    d.event(EventKind::Stop {
        reason: stop_reason.clone(),
    });
    d.flush(now_us);
    d.summary.stop_reason = stop_reason;
    d.summary.last_segment = Some(d.writer.close(SealReason::Shutdown, clock::mono_us())?);
    Ok(d.summary)
}

fn signal_name(signal: usize) -> String {
    match signal as i32 {
        libc::SIGTERM => "SIGTERM".to_owned(),
        libc::SIGINT => "SIGINT".to_owned(),
        libc::SIGHUP => "SIGHUP".to_owned(),
        other => format!("signal {other}"),
    }
}
