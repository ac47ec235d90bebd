//! `edgewatt status`: the health of a daemon's state directory, running or stopped, read
//! without its lock: whether the daemon runs (its lock), its uptime, the segment it writes,
//! the age of the last sample and power reading, the power sensor's state, each plan's next
//! run and last outcome, disk use against retention, and the unhealthy conditions among
//! them ([`Condition`]).
//!
//! The log is read through [`crate::logread`] ([`scan`]), newest segment first and only as
//! far back as needed; the daemon's own configuration is the one its session logged (the
//! `Config` event), so thresholds and plans are the daemon's, not the caller's; the plans'
//! last starts come from `schedule.json`.

mod health;
mod lock;
mod plans;
mod scan;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::path::PathBuf;

use jiff::tz::TimeZone;
use serde::Serialize;
use thiserror::Error;

pub use health::Condition;
pub use health::ConditionKind;
pub use health::Limits;
pub use lock::lock_state;
pub use lock::DaemonState;
pub use lock::LockState;
pub use plans::next_run;
pub use plans::NextRun;
pub use scan::scan;
pub use scan::Scan;

use crate::clock::Anchor;
use crate::config::Config;
use crate::derive::energy::Figure;
use crate::derive::energy::MinCoverage;
use crate::derive::energy::RunEnergy;
use crate::logread::LogError;
use crate::record::Outcome;

/// Why the status cannot be told (exit status 2).
#[derive(Debug, Error)]
pub enum StatusError {
    #[error(
        "state directory {dir}: {source} (point --state-dir or the config's state_dir at the \
         daemon's directory)"
    )]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {dir}/LOCK: {source}")]
    Lock {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Log(#[from] LogError),
}

/// The daemon and its session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DaemonStatus {
    pub state: DaemonState,
    /// The running daemon's pid, else the last one's.
    pub pid: Option<u32>,
    /// When the last daemon started (its lock's time), Unix s; how long ago.
    pub started_unix_s: Option<i64>,
    pub uptime_s: Option<u64>,
    /// Why and when the last session stopped (its `Stop` event), if it did.
    pub stop_reason: Option<String>,
    pub stopped_unix_s: Option<i64>,
    /// Late ticks and store errors logged in the session.
    pub late_ticks: u64,
    pub store_errors: u64,
}

/// The segment being written (or the last one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentStatus {
    pub path: PathBuf,
    pub bytes: u64,
    pub open: bool,
}

/// The power sensor of the session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensorStatus {
    /// `ok`, `lost`, `absent` or `none` (no source configured).
    pub state: String,
    /// The source's label (from its readings), or the configured source.
    pub source: String,
    pub last_reading_unix_us: Option<i64>,
    pub last_reading_age_s: Option<f64>,
    /// What the last fault or absence said.
    pub message: Option<String>,
}

/// The last run of a plan (or of any).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunStatus {
    pub label: String,
    pub unix_s: Option<i64>,
    /// `ok`, or `failed: …`.
    pub outcome: String,
    /// Its place in its plan's schedule, 1-based, and the schedule's length.
    pub index: u32,
    pub total: u32,
    /// Its net energy, J, or `-` and why not (`None`: no measured energy).
    pub net_energy: Option<String>,
}

/// One plan of the daemon's configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanStatus {
    pub name: String,
    pub path: PathBuf,
    pub last_start_unix_s: Option<i64>,
    /// `None` when the plan file cannot be read (`error` says why).
    pub next: Option<NextRun>,
    pub last_run: Option<RunStatus>,
    pub error: Option<String>,
}

/// Disk use of the log against its retention, and the filesystem's free space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskStatus {
    pub segments: usize,
    pub log_bytes: u64,
    pub retain_bytes: u64,
    pub segment_max_bytes: u64,
    pub fs_available_bytes: Option<u64>,
    pub fs_total_bytes: Option<u64>,
}

/// Everything `edgewatt status` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub state_dir: PathBuf,
    pub now_unix_s: i64,
    pub daemon: DaemonStatus,
    pub segment: Option<SegmentStatus>,
    pub last_sample_unix_us: Option<i64>,
    pub last_sample_age_s: Option<f64>,
    pub sensor: SensorStatus,
    pub plans: Vec<PlanStatus>,
    pub last_run: Option<RunStatus>,
    pub disk: DiskStatus,
    /// Skipped damage in the segments read (empty when none).
    pub damage: String,
    /// The unhealthy conditions; none = healthy.
    pub conditions: Vec<Condition>,
}

impl Status {
    #[must_use]
    pub fn healthy(&self) -> bool {
        self.conditions.is_empty()
    }
}

/// Free and total bytes of the filesystem holding `dir`.
fn fs_space(dir: &Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we own; the path is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let frag = st.f_frsize as u64;
    Some((st.f_bavail as u64 * frag, st.f_blocks as u64 * frag))
}

fn age_s(now_us: i64, at_us: Option<i64>) -> Option<f64> {
    at_us.map(|t| (now_us - t).max(0) as f64 / 1e6)
}

/// A run as shown, its energy checked against `min`.
fn run_status(r: &scan::TimedRun, min: MinCoverage) -> RunStatus {
    let run = &r.run;
    RunStatus {
        label: run.label.clone(),
        unix_s: r.wall_us.map(|us| us.div_euclid(1_000_000)),
        outcome: match &run.outcome {
            Outcome::Ok => "ok".into(),
            Outcome::Failed(e) => format!("failed: {e}"),
        },
        index: run.schedule_index + 1,
        total: run.schedule_len,
        net_energy: RunEnergy::of_run(run).map(|e| match e.figure(Figure::NetJ, min) {
            Ok(j) => format!("{j:.3} J"),
            Err(why) => format!("- ({why})"),
        }),
    }
}

/// The status of `cfg.state_dir` at `now` (`cfg`: the caller's configuration; the
/// daemon's own, logged in its session, takes over where there is one). `tz`: the local
/// time zone of the plans' times of day.
pub fn status(cfg: &Config, now: Anchor, tz: &TimeZone) -> Result<Status, StatusError> {
    let dir = cfg.state_dir.clone();
    let meta = std::fs::metadata(&dir).map_err(|source| StatusError::Dir {
        dir: dir.clone(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(StatusError::Dir {
            dir,
            source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        });
    }
    let lock = lock_state(&dir, &cfg.sampler.proc_root).map_err(|source| StatusError::Lock {
        dir: dir.clone(),
        source,
    })?;
    let saved = crate::daemon::schedule::saved_last_starts(&dir);
    let since_us = saved
        .as_ref()
        .ok()
        .and_then(|m| m.values().min().copied())
        .map(|s| s * 1_000_000);
    let mut found = scan(&dir, since_us)?;
    if found.segments.iter().any(|s| !s.path.exists()) {
        // Sealed (renamed) or deleted by retention while we read: read again.
        found = scan(&dir, since_us)?;
    }
    let daemon_cfg = found
        .session_config
        .as_deref()
        .and_then(|toml| Config::parse(toml, Path::new("(logged config)")).ok())
        .unwrap_or_else(|| cfg.clone());
    let view = health::View {
        now,
        lock: &lock,
        scan: &found,
        cfg: &daemon_cfg,
        saved: saved.as_ref().map_err(String::as_str),
        tz,
        space: fs_space(&dir),
    };
    Ok(view.status(dir))
}
