//! Starting and stopping the daemon: the store, the sampler, the power reader, the plans,
//! READY; and at the end the orderly stop that seals the segment.

use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;

use super::notify::Notifier;
use super::power::PowerTap;
use super::state::Daemon;
use super::watch::Restart;
use super::DaemonError;
use super::RunOptions;
use super::RunSummary;
use super::CLOSE_TIMEOUT;
use crate::clock;
use crate::clock::Anchor;
use crate::clock::StepDetector;
use crate::config::Config;
use crate::plan::Plan;
use crate::record::EventKind;
use crate::record::SampleBlockBuilder;
use crate::record::SealReason;
use crate::sampler::ProcRole;
use crate::sampler::Roots;
use crate::sampler::Sampler;
use crate::sampler::TrackedProc;
use crate::store::AsyncWriter;
use crate::store::SegmentIdent;

/// At start-up, READY waits this long at most for the start event to be on disk; a disk
/// that refuses writes (full) gets READY anyway, with the failure in its status.
const READY_WAIT: Duration = Duration::from_secs(5);

fn identity(cfg: &Config, roots: &Roots) -> Result<SegmentIdent, DaemonError> {
    let device = crate::sampler::device_id(roots, Path::new("/etc"), cfg.device_id.as_deref())?;
    let boot = crate::sampler::boot_id(roots).unwrap_or_else(|e| {
        log::warn!("{e}; segments will say boot id \"unknown\"");
        "unknown".to_owned()
    });
    Ok(SegmentIdent::new(device, boot))
}

fn sampler(cfg: &Config, roots: Roots) -> Result<Sampler, DaemonError> {
    let opts = cfg.sampler.options();
    let me = TrackedProc {
        pid: std::process::id(),
        role: ProcRole::Daemon,
    };
    Ok(Sampler::with_options(roots, vec![me], opts)?)
}

impl Daemon {
    /// Opens the store (a disk that refuses writes is retried, not an error), starts the
    /// sampler, the power reader and the plans, logs the start, and says READY.
    pub(super) fn start(cfg: &Config, opts: &RunOptions) -> Result<Self, DaemonError> {
        let roots = cfg.sampler.roots();
        let ident = identity(cfg, &roots)?;
        let device_id = ident.device_id.clone();
        let store = AsyncWriter::start(super::store_options(cfg), ident, Anchor::now())?;
        let sampler = sampler(cfg, roots)?;
        let key_every = cfg
            .store
            .key_block_interval_s
            .saturating_mul(u64::from(cfg.sampler.rate_hz));
        let key_every = u32::try_from(key_every).unwrap_or(u32::MAX);
        let now_us = clock::mono_us();
        let mut d = Self {
            builder: SampleBlockBuilder::with_key_every(sampler.layout().clone(), key_every),
            key_every,
            summary: RunSummary {
                first_seq: store.next_seq(),
                ..RunSummary::default()
            },
            store,
            sampler,
            events: Vec::new(),
            fsync_interval_us: cfg.store.fsync_interval_ms * 1000,
            last_flush_us: now_us,
            failing: false,
            store_error_logged_us: 0,
            power: None,
            power_restart: Restart::new(now_us),
            records: Vec::new(),
            notifier: Notifier::new(),
            steps: StepDetector::new(Anchor::now(), cfg.clock.step_threshold_ms as i64 * 1000),
            #[cfg(feature = "llama")]
            plans: None,
            progress: opts.plans_once,
            energy: super::runs::EnergyState::new(cfg),
            metrics: None,
            metrics_error: None,
            upload: None,
            start_nice: crate::power::reader::thread_nice().ok(),
            sampled_to_us: std::sync::Arc::default(),
            cfg: cfg.clone(),
            opts: opts.clone(),
        };
        match super::publish::Publisher::start(&cfg.metrics) {
            Ok(m) => d.metrics = m,
            Err(e) => {
                log::error!("{e}; sampling and logging go on without the endpoint");
                d.metrics_error = Some(e.to_string());
            }
        }
        let (tap, absent) = PowerTap::start(cfg, opts.power_source.as_ref());
        d.power = tap;
        if let Some(absent) = absent {
            d.event(absent.into());
        }
        let metrics = d.metrics.as_ref().map(|p| p.metrics.clone());
        d.upload = super::start_upload(cfg, &device_id, metrics);
        d.log_start();
        #[cfg(feature = "llama")]
        d.start_plans()?;
        let status = d.status_line();
        d.notifier.ready(&status);
        Ok(d)
    }

    /// Logs the start and the configuration, and waits (at most [`READY_WAIT`]) until
    /// they are on disk: READY means logging works, unless the disk refuses.
    fn log_start(&mut self) {
        self.event(EventKind::Start {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            interval_us: self.cfg.sampler.interval_us(),
        });
        self.event(EventKind::Config {
            toml: self.cfg.to_toml(),
        });
        self.flush(clock::mono_us());
        let last_seq = self.store.next_seq().saturating_sub(1);
        if !self.store.wait_written(last_seq, READY_WAIT) {
            log::warn!(
                "the log is not written yet after {} s: sampling goes on, records are kept \
                 in memory and retried",
                READY_WAIT.as_secs()
            );
        }
        self.store_reports();
    }

    /// Stops the plans (killing a running worker) and the power reader, logs the stop,
    /// and has the store write everything and seal the segment.
    pub(super) fn shutdown(mut self, stop_reason: String) -> Result<RunSummary, DaemonError> {
        self.notifier.stopping();
        let now_us = clock::mono_us();
        self.sampler.flush_cost(now_us);
        self.log_sampler_notices();
        #[cfg(feature = "llama")]
        if let Some(p) = self.plans.take() {
            for msg in p.stop() {
                self.work(msg);
            }
        }
        self.stop_power();
        if let Some(u) = self.upload.take() {
            u.stop();
        }
        self.event(EventKind::Stop {
            reason: stop_reason.clone(),
        });
        self.flush(now_us);
        self.summary.stop_reason = stop_reason;
        let syncs = self.store.status().syncs;
        (self.summary.syncs, self.summary.max_sync_us) = (syncs.syncs, syncs.max_us);
        let sealed = self
            .store
            .close(SealReason::Shutdown, clock::mono_us(), CLOSE_TIMEOUT)?;
        self.summary.last_segment = Some(sealed);
        // After the seal: a scrape being answered (at most its 5 s) never delays it.
        if let Some(m) = self.metrics.take() {
            m.stop();
        }
        Ok(self.summary)
    }
}

/// A plan file that cannot be used: why, naming it.
pub(super) struct PlanProblem {
    pub(super) path: PathBuf,
    pub(super) message: String,
    /// The file's error (`None`: a second plan of a name); `bench` stops on it.
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
    pub(super) error: Option<crate::plan::PlanError>,
}

/// Reads the plan files; a file that cannot be read, or a second plan of a name (the
/// schedule tells plans apart by name), is a problem instead.
pub(super) fn read_plans<'a>(
    paths: impl Iterator<Item = &'a PathBuf>,
) -> (Vec<Plan>, Vec<PlanProblem>) {
    let (mut plans, mut problems) = (Vec::<Plan>::new(), Vec::new());
    for path in paths {
        match Plan::load(path) {
            Ok(p) if plans.iter().any(|q| q.name == p.name) => problems.push(PlanProblem {
                path: path.clone(),
                message: format!(
                    "another plan is named {:?}: the schedule tells plans apart by name; \
                     rename one",
                    p.name
                ),
                error: None,
            }),
            Ok(p) => plans.push(p),
            Err(e) => problems.push(PlanProblem {
                path: path.clone(),
                message: e.to_string(),
                error: Some(e),
            }),
        }
    }
    (plans, problems)
}

#[cfg(feature = "llama")]
impl Daemon {
    /// Loads the plans of the config and the options and starts the workload thread
    /// (none without plans). A plan that cannot be read is logged and skipped (or, for
    /// `bench`, an error).
    fn start_plans(&mut self) -> Result<(), DaemonError> {
        let paths: Vec<PathBuf> = self
            .cfg
            .plans
            .iter()
            .chain(&self.opts.plans)
            .cloned()
            .collect();
        let (plans, problems) = read_plans(paths.iter());
        for p in problems {
            match p.error {
                Some(e) if self.opts.plans_once => return Err(e.into()),
                _ => {
                    log::error!("{}: {}; the plan is skipped", p.path.display(), p.message);
                    self.event(EventKind::PlanError {
                        plan: p.path.display().to_string(),
                        message: p.message,
                    });
                }
            }
        }
        self.plans = self.spawn_plans(plans)?;
        Ok(())
    }

    /// The workload thread for `plans`; `None` without plans.
    pub(super) fn spawn_plans(
        &self,
        plans: Vec<Plan>,
    ) -> Result<Option<super::plans::Plans>, DaemonError> {
        if plans.is_empty() {
            return Ok(None);
        }
        let exe = match &self.opts.worker_exe {
            Some(exe) => exe.clone(),
            None => std::env::current_exe().map_err(DaemonError::Thread)?,
        };
        let env = super::workload::ThreadEnv {
            exe,
            roots: self.cfg.sampler.roots(),
            generated_dir: self.cfg.state_dir.join("generated"),
            on_plan_start: self.opts.on_plan_start.clone(),
            nice: self.start_nice,
            sampled_to_us: std::sync::Arc::clone(&self.sampled_to_us),
        };
        let once = self.opts.plans_once;
        super::plans::Plans::start(env, plans, once, &self.cfg.state_dir, Anchor::now())
            .map(Some)
            .map_err(DaemonError::Thread)
    }
}
