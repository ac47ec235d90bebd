//! What the daemon shows on the Prometheus endpoint (`[metrics]`): once a tick the
//! sample's few numbers, at every flush the newest power reading and the store's health,
//! and each finished run. The server answers scrapes on its own thread.
//!
//! The upload thread shows its backlog and last error after each pass
//! ([`upload_pass`], on a clone of [`Publisher::metrics`]); without an uploader the
//! upload metrics are absent.

use crate::derive::energy::Figure;
use crate::derive::energy::MinCoverage;
use crate::derive::energy::RunEnergy;
use crate::metrics::Labelled;
use crate::metrics::LastRun;
use crate::metrics::Metrics;
use crate::metrics::MetricsConfig;
use crate::metrics::PowerNow;
use crate::metrics::RunJoules;
use crate::metrics::Server;
use crate::metrics::UploadStatus;
use crate::power::PowerReading;
use crate::record::Outcome;
use crate::record::Run;
use crate::sampler::group;
use crate::sampler::Sample;
use crate::sampler::SampleLayout;

/// The CPU busy share is measured over windows this long, µs.
const CPU_WINDOW_US: u64 = 1_000_000;

/// CPU ticks at the start of the current busy-share window.
#[derive(Debug, Clone, Copy)]
struct CpuMark {
    busy: u64,
    total: u64,
    mono_us: u64,
}

pub(super) struct Publisher {
    /// The snapshot the server shows (clone it to report from another thread).
    pub(super) metrics: Metrics,
    server: Server,
    cpu_from: Option<CpuMark>,
}

impl Publisher {
    /// Starts the server if `[metrics]` is enabled (`Ok(None)` if not).
    pub(super) fn start(
        cfg: &MetricsConfig,
    ) -> Result<Option<Self>, crate::metrics::server::MetricsError> {
        if !cfg.enabled {
            return Ok(None);
        }
        let metrics = Metrics::new();
        let server = Server::start(cfg.listen, metrics.clone())?;
        let addr = server.local_addr();
        if !addr.ip().is_loopback() {
            log::warn!(
                "metrics: listening on {addr}, not loopback: the board's readings are open to \
                 its network"
            );
        }
        Ok(Some(Self {
            metrics,
            server,
            cpu_from: None,
        }))
    }

    /// Where the endpoint is, for the status line.
    pub(super) fn url(&self) -> String {
        format!("http://{}/metrics", self.server.local_addr())
    }

    /// The busy share since the window's start, once the window is a second long; the
    /// window then starts again. `None` while the window runs or CPU ticks are unread.
    fn cpu_busy(&mut self, sample: &Sample) -> Option<Option<f64>> {
        let Some(cpu) = sample.cpu.first().filter(|_| sample.is_valid(group::CPU)) else {
            self.cpu_from = None;
            return Some(None);
        };
        let now = CpuMark {
            busy: cpu.busy(),
            total: cpu.total(),
            mono_us: sample.mono_us,
        };
        let Some(from) = self.cpu_from else {
            self.cpu_from = Some(now);
            return None;
        };
        if now.mono_us.saturating_sub(from.mono_us) < CPU_WINDOW_US {
            return None;
        }
        self.cpu_from = Some(now);
        let total = now.total.checked_sub(from.total).filter(|&t| t > 0)?;
        let busy = now.busy.saturating_sub(from.busy);
        Some(Some((busy as f64 / total as f64).min(1.0)))
    }

    /// Publishes one tick's sample; `read_errors`: the reads of this tick that failed.
    pub(super) fn tick(
        &mut self,
        sample: &Sample,
        layout: &SampleLayout,
        read_errors: usize,
        ticks: u64,
        late_ticks: u64,
    ) {
        let busy = self.cpu_busy(sample);
        self.metrics.update(|s| {
            s.ticks_total = ticks;
            s.late_ticks_total = late_ticks;
            s.read_errors_total += read_errors as u64;
            if let Some(busy) = busy {
                s.cpu_busy_ratio = busy;
            }
            s.mem_available_kb = sample.is_valid(group::MEM).then_some(sample.mem.available);
            sync(&mut s.temps_mc, &layout.thermal_zones, |i| {
                sample
                    .is_valid(layout.temp_bit(i))
                    .then(|| sample.temps_mc.get(i).copied())
                    .flatten()
            });
            sync(&mut s.freqs_khz, &layout.cpufreq, |i| {
                sample
                    .is_valid(layout.freq_bit(i))
                    .then(|| sample.freqs_khz.get(i).map(|&f| f as i64))
                    .flatten()
            });
            s.throttled = (layout.throttled && sample.is_valid(layout.throttled_bit()))
                .then_some(sample.throttled);
        });
    }

    /// Publishes what a flush learnt: the newest valid power reading (if any came) and
    /// the store's health.
    pub(super) fn flush(
        &self,
        newest_power: Option<PowerReading>,
        store_errors: u64,
        pending_bytes: u64,
    ) {
        self.metrics.update(|s| {
            if let Some(r) = newest_power {
                s.power = Some(PowerNow {
                    source: r.source.name(),
                    power_uw: r.power_uw,
                    mono_us: r.mono_us,
                });
            }
            s.store_errors_total = store_errors;
            s.store_pending_bytes = pending_bytes;
        });
    }

    /// The power source is gone (stopped, or replaced by a reload that has none).
    pub(super) fn no_power(&self) {
        self.metrics.update(|s| s.power = None);
    }

    /// Publishes a finished run; `source`: the wire name of the power source that measured
    /// its energy.
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
    pub(super) fn run(&self, run: &Run, source: Option<&str>, min: MinCoverage) {
        let ok = matches!(run.outcome, Outcome::Ok);
        let energy = RunEnergy::of_run(run)
            .zip(source)
            .filter(|(e, _)| e.run.covered_us > 0)
            .map(|(e, source)| joules(&e, source, min));
        self.metrics.update(|s| {
            if ok {
                s.runs_ok_total += 1;
                s.last_run = Some(LastRun {
                    prefill_tokens_per_s: run.prefill_tokens_per_s(),
                    decode_tokens_per_s: run.decode_tokens_per_s(),
                    energy,
                });
            } else {
                s.runs_failed_total += 1;
            }
        });
    }

    pub(super) fn stop(self) {
        self.server.stop();
    }
}

/// The run's J/token figures; one that cannot be trusted (coverage under `min`, no
/// baseline for a net figure) is left out, never shown.
fn joules(e: &RunEnergy, source: &str, min: MinCoverage) -> RunJoules {
    let figure = |f: Figure| e.figure(f, min).ok();
    RunJoules {
        source: source.to_owned(),
        decode_gross_j_per_token: figure(Figure::GrossJPerGeneratedToken),
        decode_net_j_per_token: figure(Figure::NetJPerGeneratedToken),
        prefill_gross_j_per_token: figure(Figure::GrossJPerPromptToken),
        prefill_net_j_per_token: figure(Figure::NetJPerPromptToken),
        coverage_ratio: e.run.coverage(),
    }
}

/// Sets `items` to `names` with `value(i)`; the names are copied only when they changed.
fn sync(items: &mut Vec<Labelled>, names: &[String], value: impl Fn(usize) -> Option<i64>) {
    if items.len() != names.len() || items.iter().zip(names).any(|(l, n)| l.name != *n) {
        *items = names
            .iter()
            .map(|n| Labelled {
                name: n.clone(),
                value: None,
            })
            .collect();
    }
    for (i, item) in items.iter_mut().enumerate() {
        item.value = value(i);
    }
}

/// Shows an upload pass: the backlog after it (the one before, when the pass ended before
/// it could list the segments) and its error (`None`: the pass went through).
pub(super) fn upload_pass(metrics: &Metrics, report: &crate::upload::PassReport) {
    metrics.update(|s| {
        let before = s.upload.take().unwrap_or_default();
        let (segments, bytes) = if report.backlog_known {
            (report.pending as u64, report.pending_bytes)
        } else {
            (before.backlog_segments, before.backlog_bytes)
        };
        s.upload = Some(UploadStatus {
            backlog_segments: segments,
            backlog_bytes: bytes,
            last_error: report.error.as_ref().map(ToString::to_string),
        });
    });
}

/// Shows why the uploader did not start, with the backlog it leaves (read from the
/// state directory and the manifest).
pub(super) fn upload_not_started(
    metrics: &Metrics,
    state_dir: &std::path::Path,
    why: &crate::upload::UploadError,
) {
    let (segments, bytes, error) = match crate::upload::backlog(state_dir) {
        Ok((n, bytes)) => (n as u64, bytes, why.to_string()),
        Err(e) => (0, 0, format!("{why}; the backlog cannot be read: {e}")),
    };
    metrics.set_upload(UploadStatus {
        backlog_segments: segments,
        backlog_bytes: bytes,
        last_error: Some(error),
    });
}
