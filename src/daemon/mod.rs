//! The daemon loop: tick on absolute deadlines, read, batch samples into blocks, and
//! write them with the events every fsync interval.
//!
//! The tick path only reads files and appends to an in-memory block; file writes and
//! `fdatasync` happen once per `fsync_interval_ms`, so a crash loses at most that much.
//! Store failures (full disk, I/O errors) never stop sampling: the writer keeps the
//! frames queued and retries, and the failure is logged as an event.

mod events;
mod history;
mod notify;
mod power;
mod power_log;
mod runs;
#[cfg(feature = "llama")]
mod schedule;
mod state;
#[cfg(feature = "llama")]
mod workload;

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
use crate::record::SampleBlockBuilder;
use crate::record::SealReason;
use crate::sampler::ProcRole;
use crate::sampler::Roots;
use crate::sampler::Sample;
use crate::sampler::Sampler;
use crate::sampler::SamplerError;
use crate::sampler::Ticker;
use crate::sampler::TickerError;
use crate::sampler::TrackedProc;
use crate::store::SegmentIdent;
use crate::store::StoreError;
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
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    #[error("cannot start the workload thread: {0}")]
    Thread(std::io::Error),
}

/// While writing fails, a `StoreError` event is logged at most this often, µs.
const STORE_ERROR_REPEAT_US: u64 = 60_000_000;

/// What `run` should do besides the config.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Stop cleanly after this long, µs; `None` runs until a signal.
    pub duration_us: Option<u64>,
    /// Plans to run besides the config's `plans`.
    pub plans: Vec<std::path::PathBuf>,
    /// Run every plan once, now, ignoring its `[when]`, print progress, and stop when all
    /// have run (`edgewatt bench`, which then reports from the log). A plan that cannot be
    /// read is then an error, not a logged event.
    pub plans_once: bool,
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
    /// Seq of the first frame this run wrote: its records are those from here on.
    pub first_seq: u64,
}

/// The signal number that asked the daemon to stop (0 = none yet).
pub type StopFlag = AtomicUsize;

fn identity(cfg: &Config, roots: &Roots) -> Result<SegmentIdent, DaemonError> {
    let device = crate::sampler::device_id(roots, Path::new("/etc"), cfg.device_id.as_deref())?;
    let boot = crate::sampler::boot_id(roots).unwrap_or_else(|e| {
        log::warn!("{e}; segments will say boot id \"unknown\"");
        "unknown".to_owned()
    });
    Ok(SegmentIdent::new(device, boot))
}

/// Samples and logs until `stop` holds a signal number or the duration is reached,
/// then flushes and seals the segment.
pub fn run(cfg: &Config, opts: &RunOptions, stop: &StopFlag) -> Result<RunSummary, DaemonError> {
    let roots = cfg.sampler.roots();
    let ident = identity(cfg, &roots)?;
    let device_id = ident.device_id.clone();
    let (writer, recoveries) = Writer::open(store_options(cfg), ident, Anchor::now())?;
    let first_seq = writer.next_seq();
    let sampler_opts = cfg.sampler.options();
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
    let mut d = state::Daemon {
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
        progress: opts.plans_once,
        idle_window: None,
    };
    let upload = start_upload(cfg, &device_id);
    let (tap, absent) = power::PowerTap::start(cfg);
    d.power = tap;
    if let Some(absent) = absent {
        d.event(absent.into());
    }
    for r in recoveries {
        log::warn!(
            "repaired {} left open by a crash: {:?}, {} frames kept, {} bytes dropped",
            r.found.display(),
            r.action,
            r.good_frames,
            r.dropped_bytes
        );
        d.event((&r).into());
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

    #[cfg(feature = "llama")]
    let mut plans = start_plans(cfg, opts, &mut d)?;
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
        if let Some(kind) = events::late_tick(&tick) {
            d.summary.late_ticks += 1;
            d.events.push(Event {
                mono_us: tick.now_us,
                kind,
            });
        }
        d.sampler.read(tick.tick, tick.now_us, &mut sample);
        d.push_sample(&sample);
        d.log_sampler_notices();
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
        #[cfg(feature = "llama")]
        if let Some(p) = &mut plans {
            p.schedule(Anchor::now());
            for msg in p.messages() {
                d.work(msg);
            }
            for kind in p.events() {
                d.event(kind);
            }
            if p.all_done() {
                break "plans done".to_owned();
            }
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
    d.log_sampler_notices();
    #[cfg(feature = "llama")]
    if let Some(p) = plans.take() {
        for msg in p.stop() {
            d.work(msg);
        }
    }
    if let Some(p) = d.power.take() {
        p.stop(&mut d.records);
    }
    if let Some(u) = upload {
        u.stop();
    }
    d.event(EventKind::Stop {
        reason: stop_reason.clone(),
    });
    d.flush(now_us);
    d.summary.stop_reason = stop_reason;
    d.summary.first_seq = first_seq;
    d.summary.last_segment = Some(d.writer.close(SealReason::Shutdown, clock::mono_us())?);
    Ok(d.summary)
}

/// The store options of `cfg`; with `[upload] enabled`, retention deletes only segments
/// the upload manifest has as acknowledged.
fn store_options(cfg: &Config) -> crate::store::StoreOptions {
    let mut opts = cfg.store_options();
    if cfg.upload.enabled {
        let dir = cfg.state_dir.clone();
        opts.retention_hold = crate::store::RetentionHold::new(move |segment| {
            crate::upload::manifest::may_delete(&dir, segment)
        });
    }
    opts
}

/// The upload thread, if `[upload] enabled`; one that cannot start is logged and the
/// daemon samples on (segments wait for the next start, retention keeps them).
fn start_upload(cfg: &Config, device_id: &str) -> Option<crate::upload::UploadThread> {
    match crate::upload::UploadThread::start(&cfg.upload, &cfg.state_dir, device_id) {
        Ok(thread) => thread,
        Err(e) => {
            log::error!("upload: {e}; segments are kept until they can be uploaded");
            None
        }
    }
}

fn signal_name(signal: usize) -> String {
    match signal as i32 {
        libc::SIGTERM => "SIGTERM".to_owned(),
        libc::SIGINT => "SIGINT".to_owned(),
        libc::SIGHUP => "SIGHUP".to_owned(),
        other => format!("signal {other}"),
    }
}

/// Loads the plans of the config and the options and starts the workload thread; `None`
/// without plans. A plan that cannot be read is logged and skipped (or, for `bench`, an
/// error).
#[cfg(feature = "llama")]
fn start_plans(
    cfg: &Config,
    opts: &RunOptions,
    d: &mut state::Daemon,
) -> Result<Option<workload::Plans>, DaemonError> {
    let mut plans = Vec::new();
    for path in cfg.plans.iter().chain(&opts.plans) {
        match crate::plan::Plan::load(path) {
            // The schedule keeps each plan's last start by name.
            Ok(p)
                if !opts.plans_once
                    && plans.iter().any(|q: &crate::plan::Plan| q.name == p.name) =>
            {
                let message = format!(
                    "another plan is named {:?}: the schedule tells plans apart by name; \
                     rename one",
                    p.name
                );
                log::error!("{}: {message}; the plan is skipped", path.display());
                d.event(EventKind::PlanError {
                    plan: path.display().to_string(),
                    message,
                });
            }
            Ok(p) => plans.push(p),
            Err(e) if opts.plans_once => return Err(e.into()),
            Err(e) => {
                log::error!("{e}; the plan is skipped, the daemon goes on");
                d.event(EventKind::PlanError {
                    plan: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        }
    }
    if plans.is_empty() {
        return Ok(None);
    }
    let exe = std::env::current_exe().map_err(DaemonError::Thread)?;
    let roots = cfg.sampler.roots();
    workload::Plans::start(
        exe,
        roots,
        plans,
        opts.plans_once,
        &cfg.state_dir,
        Anchor::now(),
    )
    .map(Some)
    .map_err(DaemonError::Thread)
}
