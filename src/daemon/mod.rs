//! The daemon loop: tick on absolute deadlines, read, batch samples into blocks, and hand
//! them with the events to the store every fsync interval.
//!
//! The sampling thread never waits on the disk: it encodes frames into the store's
//! bounded queue, and the store's own threads write, `fdatasync` and rotate
//! ([`crate::store::AsyncWriter`]). Store failures (full disk, I/O errors, a segment that
//! cannot be opened at start-up) never stop sampling: the frames stay queued and are
//! retried, and the failure is logged as an event.
//!
//! Signals: SIGTERM and SIGINT stop (promptly, also during a cooldown wait or a worker
//! start); SIGHUP reloads the configuration and plans (`daemon/reload.rs`). The threads
//! beside the sampling loop are watched (`daemon/watch.rs`): a dead power reader or
//! workload thread is logged and started again; a dead store writer ends the daemon with
//! an error, for systemd to restart it.
//!
//! With `[metrics]` enabled, the loop copies a few numbers of each tick into the Prometheus
//! endpoint's snapshot (`daemon/publish.rs`); the server runs on a thread of its own.

mod baseline;
mod events;
mod history;
mod notify;
#[cfg(feature = "llama")]
mod plans;
mod power;
mod power_log;
mod publish;
mod reload;
mod runs;
pub(crate) mod schedule;
mod start;
mod state;
mod watch;
#[cfg(feature = "llama")]
mod work;
#[cfg(feature = "llama")]
mod workload;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use thiserror::Error;

pub use reload::ConfigSource;

use crate::clock;
use crate::clock::Anchor;
use crate::config::Config;
use crate::power::PowerError;
use crate::power::PowerSource;
use crate::record::Event;
use crate::sampler::Sample;
use crate::sampler::SamplerError;
use crate::sampler::Ticker;
use crate::sampler::TickerError;
use crate::store::StoreError;

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

/// Opens the power source (instead of the config's `[power]`).
pub type OpenPower =
    Arc<dyn Fn() -> Result<Option<Box<dyn PowerSource>>, PowerError> + Send + Sync>;

/// Called on the workload thread as each plan is taken up, before its idle lead-in.
pub type PlanHook = Arc<dyn Fn(&crate::plan::Plan) + Send + Sync>;

/// What `run` should do besides the config.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Stop cleanly after this long, µs; `None` runs until a signal.
    pub duration_us: Option<u64>,
    /// Plans to run besides the config's `plans`.
    pub plans: Vec<PathBuf>,
    /// Run every plan once, now, ignoring its `[when]`, print progress, and stop when all
    /// have run (`edgewatt bench`, which then reports from the log). A plan that cannot be
    /// read is then an error, not a logged event.
    pub plans_once: bool,
    /// Where the configuration came from: SIGHUP reads it again. `None`: no reload.
    pub config_source: Option<ConfigSource>,
    /// Opens the power source instead of the config's `[power]`, at start, after its
    /// thread died, and at a reload (tests give a fault-injecting source here).
    pub power_source: Option<OpenPower>,
    /// The worker executable (default: this one, `edgewatt worker`).
    pub worker_exe: Option<PathBuf>,
    /// Called on the workload thread as each plan is taken up (tests inject faults here).
    pub on_plan_start: Option<PlanHook>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("duration_us", &self.duration_us)
            .field("plans", &self.plans)
            .field("plans_once", &self.plans_once)
            .field("config_source", &self.config_source)
            .field("power_source", &self.power_source.as_ref().map(|_| "…"))
            .field("worker_exe", &self.worker_exe)
            .field("on_plan_start", &self.on_plan_start.as_ref().map(|_| "…"))
            .finish()
    }
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
    /// `fdatasync` calls on the store's sync thread, and the longest, µs.
    pub syncs: u64,
    pub max_sync_us: u64,
}

/// The signal number that asked the daemon to stop (0 = none yet).
pub type StopFlag = AtomicUsize;

/// What the signal handlers set, and the daemon reads once a tick.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    pub stop: Arc<StopFlag>,
    /// SIGHUP: reload the configuration and plans.
    pub reload: Arc<AtomicBool>,
}

/// How long the store may take to write what is queued and seal the segment at a stop:
/// well inside systemd's `TimeoutStopSec` (30 s in the shipped unit).
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Samples and logs until a stop signal or the duration, then flushes and seals the
/// segment.
pub fn run(cfg: &Config, opts: &RunOptions, signals: &Signals) -> Result<RunSummary, DaemonError> {
    let mut d = state::Daemon::start(cfg, opts)?;
    raise_sampling_thread();
    let stop_reason = sample_until_stopped(&mut d, opts, signals)?;
    d.shutdown(stop_reason)
}

/// The nice value the sampling thread asks for once the daemon's other threads are
/// started: above llama.cpp's threads (the workers keep the daemon's starting nice), so a
/// worker saturating every core does not make ticks late. The same rule and limit as the
/// power reader's ([`crate::power::reader::POWER_THREAD_NICE`]): the unit's `LimitNICE=`.
pub const SAMPLER_THREAD_NICE: i32 = -10;

/// Raises this (the sampling) thread to [`SAMPLER_THREAD_NICE`] (never lowers it); where
/// that is not allowed, it samples at the daemon's nice and says so.
fn raise_sampling_thread() {
    match crate::power::reader::raise_thread_priority(SAMPLER_THREAD_NICE) {
        Ok(now) => log::debug!("sampling thread at nice {now}"),
        Err(e) => log::warn!(
            "cannot set the sampling thread's nice to {SAMPLER_THREAD_NICE} ({e}); ticks \
             may be late while llama.cpp uses every core (allow it with \
             LimitNICE={SAMPLER_THREAD_NICE} in the unit)"
        ),
    }
}

/// The sampling loop; returns why it stopped. An error: a thread the daemon cannot do
/// without died.
fn sample_until_stopped(
    d: &mut state::Daemon,
    opts: &RunOptions,
    signals: &Signals,
) -> Result<String, DaemonError> {
    let start_us = clock::mono_us();
    let mut ticker = Ticker::new(d.cfg.sampler.interval_us(), start_us)?;
    let mut sample = Sample::default();
    loop {
        let tick = ticker.wait();
        d.summary.ticks += 1;
        if let Some(kind) = events::late_tick(&tick) {
            d.summary.late_ticks += 1;
            d.events.push(Event {
                mono_us: tick.now_us,
                kind,
            });
        }
        let read_errors = d.sampler.read(tick.tick, tick.now_us, &mut sample).len();
        d.push_sample(&sample);
        if let Some(m) = &mut d.metrics {
            let (ticks, late) = (d.summary.ticks, d.summary.late_ticks);
            m.tick(&sample, d.sampler.layout(), read_errors, ticks, late);
        }
        d.log_sampler_notices();
        d.check_clock(Anchor::now());
        #[cfg(feature = "llama")]
        if d.plans_tick() {
            return Ok("plans done".to_owned());
        }
        if tick.now_us.saturating_sub(d.last_flush_us) >= d.fsync_interval_us {
            d.flush(tick.now_us);
            d.watch(tick.now_us)?;
        }
        d.notifier.progress(tick.now_us);
        match signals.stop.load(Ordering::Relaxed) {
            0 => {}
            signal => return Ok(signal_name(signal)),
        }
        if signals.reload.swap(false, Ordering::Relaxed) {
            d.reload();
        }
        if opts
            .duration_us
            .is_some_and(|dur| tick.now_us.saturating_sub(start_us) >= dur)
        {
            return Ok("duration reached".to_owned());
        }
    }
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
/// daemon samples on (segments wait for the next start, retention keeps them). With the
/// metrics endpoint on, it shows each pass's backlog and error, or why the uploader did
/// not start.
fn start_upload(
    cfg: &Config,
    device_id: &str,
    metrics: Option<crate::metrics::Metrics>,
) -> Option<crate::upload::UploadThread> {
    let shown = metrics.clone();
    let on_pass = move |report: &crate::upload::PassReport| {
        if let Some(m) = &shown {
            publish::upload_pass(m, report);
        }
    };
    match crate::upload::UploadThread::start(&cfg.upload, &cfg.state_dir, device_id, on_pass) {
        Ok(thread) => thread,
        Err(e) => {
            log::error!("upload: {e}; segments are kept until they can be uploaded");
            if let Some(m) = &metrics {
                publish::upload_not_started(m, &cfg.state_dir, &e);
            }
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
