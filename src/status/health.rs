//! From what was read to what is shown, and which of it is unhealthy.

use std::path::PathBuf;

use jiff::tz::TimeZone;
use serde::Serialize;

use super::plans::next_run;
use super::run_status;
use super::scan::Scan;
use super::DaemonState;
use super::DaemonStatus;
use super::DiskStatus;
use super::LockState;
use super::PlanStatus;
use super::SegmentStatus;
use super::SensorStatus;
use super::Status;
use crate::clock::Anchor;
use crate::config::Config;
use crate::power::registry::SourceChoice;
use crate::record::EventKind;

/// Something monitoring should hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionKind {
    /// The daemon is not running.
    NotRunning,
    /// A running daemon's last sample on disk is older than [`Limits::stale_us`].
    StaleSamples,
    /// The power sensor failed and gives no readings, or its readings stopped.
    SensorLost,
    /// The configured power sensor was not there when the daemon started.
    SensorAbsent,
    /// The state directory's filesystem has less room than one segment.
    DiskFull,
    /// The log is larger than retention keeps it (retention is not keeping up).
    OverRetention,
    /// `schedule.json` or a plan file cannot be read.
    StateFile,
}

/// An unhealthy condition and what it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    pub kind: ConditionKind,
    pub message: String,
}

/// Thresholds, from the daemon's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Samples (and power readings) reach the disk once an fsync interval: older than
    /// three intervals (at least 10 s) on a running daemon is stale, µs.
    pub stale_us: i64,
}

impl Limits {
    #[must_use]
    pub fn of(cfg: &Config) -> Self {
        let fsync_us = cfg.store.fsync_interval_ms.saturating_mul(1000) as i64;
        Self {
            stale_us: fsync_us.saturating_mul(3).max(10_000_000),
        }
    }
}

/// Everything the status is made from.
pub(super) struct View<'a> {
    pub(super) now: Anchor,
    pub(super) lock: &'a LockState,
    pub(super) scan: &'a Scan,
    /// The daemon's configuration (its session's logged one, else the caller's).
    pub(super) cfg: &'a Config,
    pub(super) saved: Result<&'a std::collections::BTreeMap<String, i64>, &'a str>,
    pub(super) tz: &'a TimeZone,
    pub(super) space: Option<(u64, u64)>,
}

fn secs(us: i64) -> i64 {
    us.div_euclid(1_000_000)
}

impl View<'_> {
    fn running(&self) -> bool {
        self.lock.state == DaemonState::Running
    }

    fn events(&self) -> impl Iterator<Item = &super::scan::TimedEvent> {
        self.scan.events.iter()
    }

    fn daemon(&self) -> DaemonStatus {
        let now_us = self.now.wall_unix_us;
        let stop = self.events().find_map(|e| match &e.kind {
            EventKind::Stop { reason } => Some((reason.clone(), e.wall_us)),
            _ => None,
        });
        let count = |f: fn(&EventKind) -> bool| self.events().filter(|e| f(&e.kind)).count();
        DaemonStatus {
            state: self.lock.state,
            pid: self.lock.pid,
            started_unix_s: self.lock.started_unix_us.map(secs),
            uptime_s: self
                .lock
                .started_unix_us
                .filter(|_| self.running())
                .map(|s| u64::try_from(secs(now_us - s)).unwrap_or(0)),
            stop_reason: stop.as_ref().map(|s| s.0.clone()),
            stopped_unix_s: stop.and_then(|s| s.1).map(secs),
            late_ticks: count(|k| matches!(k, EventKind::SamplerLate { .. })) as u64,
            store_errors: count(|k| matches!(k, EventKind::StoreError { .. })) as u64,
        }
    }

    fn sensor(&self) -> SensorStatus {
        let now_us = self.now.wall_unix_us;
        let choice = self.cfg.power.source;
        let last = self.scan.last_power.as_ref();
        let mut s = SensorStatus {
            state: "ok".into(),
            source: last.map_or_else(|| choice.name().to_owned(), |(_, l)| l.clone()),
            last_reading_unix_us: last.map(|(t, _)| *t),
            last_reading_age_s: super::age_s(now_us, last.map(|(t, _)| *t)),
            message: None,
        };
        let newest = self.events().find(|e| {
            matches!(
                e.kind,
                EventKind::SensorAbsent { .. }
                    | EventKind::PowerFault { .. }
                    | EventKind::PowerRecovered { .. }
            )
        });
        let reading_after = |t: Option<i64>| last.is_some_and(|(r, _)| t.is_some_and(|t| *r > t));
        match newest.map(|e| (&e.kind, e.wall_us)) {
            Some((EventKind::SensorAbsent { message, .. }, _)) if last.is_none() => {
                s.state = "absent".into();
                s.message = Some(message.clone());
            }
            Some((EventKind::PowerFault { message, .. }, t)) if !reading_after(t) => {
                s.state = "lost".into();
                s.message = Some(message.clone());
            }
            _ if last.is_none() => {
                s.state = "none".into();
                if choice == SourceChoice::None {
                    s.message = Some("no power source configured: estimates only".into());
                }
            }
            _ if self.running()
                && last.is_some_and(|(t, _)| now_us - t > Limits::of(self.cfg).stale_us) =>
            {
                s.state = "lost".into();
                s.message = Some("its readings stopped".into());
            }
            _ => {}
        }
        s
    }

    fn plans(&self) -> Vec<PlanStatus> {
        let now_s = secs(self.now.wall_unix_us);
        let daemon_start_s = self
            .lock
            .started_unix_us
            .filter(|_| self.running())
            .map(secs);
        let min = self.cfg.energy.min_coverage();
        self.cfg
            .plans
            .iter()
            .map(|path| match crate::plan::Plan::load(path) {
                Ok(plan) => {
                    let last = self.saved.ok().and_then(|m| m.get(&plan.name).copied());
                    PlanStatus {
                        next: Some(next_run(&plan.when, last, daemon_start_s, now_s, self.tz)),
                        last_run: self
                            .scan
                            .plan_runs
                            .get(&plan.name)
                            .map(|r| run_status(r, min)),
                        name: plan.name,
                        path: path.clone(),
                        last_start_unix_s: last,
                        error: None,
                    }
                }
                Err(e) => PlanStatus {
                    name: path.display().to_string(),
                    path: path.clone(),
                    last_start_unix_s: None,
                    next: None,
                    last_run: None,
                    error: Some(e.to_string()),
                },
            })
            .collect()
    }

    fn disk(&self) -> DiskStatus {
        DiskStatus {
            segments: self.scan.segments.len(),
            log_bytes: self.scan.segments.iter().map(|s| s.len_bytes).sum(),
            retain_bytes: self.cfg.store.retain_bytes,
            segment_max_bytes: self.cfg.store.segment_max_bytes,
            fs_available_bytes: self.space.map(|s| s.0),
            fs_total_bytes: self.space.map(|s| s.1),
        }
    }

    /// The status, conditions included.
    pub(super) fn status(&self, state_dir: PathBuf) -> Status {
        let now_us = self.now.wall_unix_us;
        let min = self.cfg.energy.min_coverage();
        let mut st = Status {
            state_dir,
            now_unix_s: secs(now_us),
            daemon: self.daemon(),
            segment: self.scan.segments.last().map(|s| SegmentStatus {
                path: s.path.clone(),
                bytes: s.len_bytes,
                open: s.open,
            }),
            last_sample_unix_us: self.scan.last_sample_us,
            last_sample_age_s: super::age_s(now_us, self.scan.last_sample_us),
            sensor: self.sensor(),
            plans: self.plans(),
            last_run: self
                .scan
                .last_run
                .as_ref()
                .map(|r| super::run_status(r, min)),
            disk: self.disk(),
            damage: if self.scan.damage.is_damaged() {
                self.scan.damage.damage_text()
            } else {
                String::new()
            },
            conditions: Vec::new(),
        };
        st.conditions = self.conditions(&st);
        st
    }

    fn conditions(&self, st: &Status) -> Vec<Condition> {
        let mut out = Vec::new();
        out.extend(self.daemon_condition(st));
        out.extend(sensor_condition(&st.sensor));
        out.extend(disk_conditions(&st.disk));
        if let Err(why) = self.saved {
            out.push(Condition {
                kind: ConditionKind::StateFile,
                message: why.to_owned(),
            });
        }
        for p in &st.plans {
            if let Some(why) = &p.error {
                out.push(Condition {
                    kind: ConditionKind::StateFile,
                    message: format!("plan {}: {why}", p.path.display()),
                });
            }
        }
        out
    }

    /// Not running, or running with samples that stopped reaching the log.
    fn daemon_condition(&self, st: &Status) -> Option<Condition> {
        let stale = Limits::of(self.cfg).stale_us;
        let (kind, message) = match st.daemon.state {
            DaemonState::Running => {
                let since = st.last_sample_unix_us.or(self.lock.started_unix_us);
                let age = since.map_or(0, |t| self.now.wall_unix_us - t);
                if age <= stale {
                    return None;
                }
                let what = if st.last_sample_unix_us.is_some() {
                    "the last sample logged"
                } else {
                    "no sample logged since the start,"
                };
                (
                    ConditionKind::StaleSamples,
                    format!(
                        "{what} {:.0} s ago (more than {} s): the sampling loop or the log is \
                         stuck",
                        age as f64 / 1e6,
                        stale / 1_000_000
                    ),
                )
            }
            DaemonState::Stopped => (
                ConditionKind::NotRunning,
                match &st.daemon.stop_reason {
                    Some(r) => format!("the daemon is not running (it stopped: {r})"),
                    None => "the daemon is not running (it did not stop cleanly)".into(),
                },
            ),
            DaemonState::NeverStarted => (
                ConditionKind::NotRunning,
                "no daemon has run on this state directory".into(),
            ),
        };
        Some(Condition { kind, message })
    }
}

/// A lost or absent power sensor.
fn sensor_condition(sensor: &SensorStatus) -> Option<Condition> {
    let why = sensor.message.clone().unwrap_or_default();
    let (kind, message) = match sensor.state.as_str() {
        "lost" => (
            ConditionKind::SensorLost,
            format!("power sensor lost: {why}"),
        ),
        "absent" => (
            ConditionKind::SensorAbsent,
            format!("power sensor absent: {why}"),
        ),
        _ => return None,
    };
    Some(Condition { kind, message })
}

/// Less room than one segment; a log larger than retention keeps it.
fn disk_conditions(disk: &DiskStatus) -> Vec<Condition> {
    let mut out = Vec::new();
    if let Some(free) = disk
        .fs_available_bytes
        .filter(|&a| a < disk.segment_max_bytes)
    {
        out.push(Condition {
            kind: ConditionKind::DiskFull,
            message: format!(
                "disk full: {free} bytes free, less than one segment ({} bytes)",
                disk.segment_max_bytes
            ),
        });
    }
    if disk.log_bytes > disk.retain_bytes.saturating_add(disk.segment_max_bytes) {
        out.push(Condition {
            kind: ConditionKind::OverRetention,
            message: format!(
                "the log holds {} bytes, more than retention keeps ({} bytes and one segment)",
                disk.log_bytes, disk.retain_bytes
            ),
        });
    }
    out
}
