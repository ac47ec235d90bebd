//! A recorded power trace played back on a clock, for tests and machines without sensors.
//!
//! A trace is either
//! - CSV, one reading per line: `mono_us,bus_uv,current_ua,power_uw` (integers; `bus_uv` and
//!   `current_ua` may be empty). An optional header line starting with `mono_us`, blank lines
//!   and `#` comments are skipped; or
//! - an edgewatt log: one segment file (`*.ewlog`, `*.ewlog.open`) or a state directory (all
//!   its segments in order), whose Power records are played with their raw integers and
//!   flags (read by the private `replay_log` module).
//!
//! [`ReplaySource::open`] tells them apart by content: a directory is a state directory, a
//! file starting with the segment magic is a segment, anything else is read as CSV.
//! The first reading is played at the first poll; later ones keep their spacing (relative
//! to the trace's first reading), so the readings' `mono_us` are the playback clock's.

use std::path::Path;
use std::path::PathBuf;

use serde::Deserialize;
use serde::Serialize;

use super::config::BadValue;
use super::registry::Detect;
use super::registry::SourceKind;
use super::PowerConfig;
use super::PowerError;
use super::PowerReading;
use super::PowerSource;
use super::SourceId;

const NAME: &str = SourceId::Replay.name();

/// Replay in the power registry: never tried by `auto`; `sensors` shows it when a trace is
/// configured; `config check` opens the trace.
pub const KIND: SourceKind = SourceKind {
    id: SourceId::Replay,
    detect: Detect::WhenConfigured(|cfg| cfg.replay.path.is_some()),
    measures: "a recorded trace (CSV, an edgewatt segment or state directory), played back on \
               the clock",
    misses: "whatever the recording missed; nothing is measured now",
    open: |cfg| {
        let path = cfg.replay_path().map_err(PowerError::BadValue)?;
        ReplaySource::open(path).map(|s| Box::new(s) as _)
    },
    check: |cfg, chosen| {
        if chosen {
            cfg.replay_path().map(drop)
        } else {
            Ok(())
        }
    },
    file_key: Some("replay.path"),
};

/// `[power.replay]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplayConfig {
    /// A CSV trace `mono_us,bus_uv,current_ua,power_uw`, an edgewatt segment file
    /// (`*.ewlog`) or a state directory (see [`self`]).
    pub path: Option<PathBuf>,
}

impl PowerConfig {
    /// The trace `source = "replay"` plays, or the error saying it is missing.
    pub fn replay_path(&self) -> Result<&Path, BadValue> {
        self.replay.path.as_deref().ok_or_else(|| BadValue {
            key: "source",
            message: "\"replay\" needs power.replay.path: a CSV trace, an edgewatt segment \
                      (*.ewlog) or a state directory"
                .into(),
        })
    }
}

/// One reading of a trace, at `t_us` on the recording's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Row {
    pub t_us: u64,
    pub bus_uv: Option<i64>,
    pub current_ua: Option<i64>,
    pub power_uw: i64,
    pub shunt_uv: Option<i64>,
    pub flags: u32,
}

/// A trace as a [`PowerSource`].
#[derive(Debug, Clone)]
pub struct ReplaySource {
    rows: Vec<Row>,
    next: usize,
    start_us: Option<u64>,
    origin: String,
    /// Labels of the sources that recorded a log (empty for CSV).
    recorded_by: Vec<String>,
    period_us: u64,
}

fn parse_row(line: &str) -> Result<Row, String> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let [t, bus, current, power] = fields[..] else {
        return Err(format!("expected 4 fields, found {}", fields.len()));
    };
    let int = |s: &str, what: &str| {
        s.parse::<i64>()
            .map_err(|e| format!("{what} {s:?} is not an integer: {e}"))
    };
    let opt = |s: &str, what: &str| {
        if s.is_empty() {
            Ok(None)
        } else {
            int(s, what).map(Some)
        }
    };
    Ok(Row {
        t_us: t
            .parse::<u64>()
            .map_err(|e| format!("mono_us {t:?} is not an integer: {e}"))?,
        bus_uv: opt(bus, "bus_uv")?,
        current_ua: opt(current, "current_ua")?,
        power_uw: int(power, "power_uw")?,
        shunt_uv: None,
        flags: 0,
    })
}

impl ReplaySource {
    /// Parses a trace; `origin` (a path) goes into the label.
    pub fn from_csv(text: &str, origin: impl Into<String>) -> Result<Self, PowerError> {
        let mut rows = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("mono_us") {
                continue;
            }
            let row = parse_row(line).map_err(|message| PowerError::Parse {
                source_name: NAME,
                line: index + 1,
                text: raw.to_string(),
                message,
            })?;
            if rows.last().is_some_and(|prev: &Row| row.t_us < prev.t_us) {
                return Err(PowerError::Parse {
                    source_name: NAME,
                    line: index + 1,
                    text: raw.to_string(),
                    message: "mono_us goes backwards".into(),
                });
            }
            rows.push(row);
        }
        if rows.is_empty() {
            return Err(PowerError::Config(format!(
                "replay trace {} has no readings",
                origin.into()
            )));
        }
        let period_us = rows
            .windows(2)
            .map(|w| w[1].t_us - w[0].t_us)
            .filter(|&d| d > 0)
            .min()
            .unwrap_or(1_000);
        Ok(Self {
            rows,
            next: 0,
            start_us: None,
            origin: origin.into(),
            recorded_by: Vec::new(),
            period_us,
        })
    }

    /// A trace read from an edgewatt log; `rows` must not be empty.
    pub(super) fn from_log(
        rows: Vec<Row>,
        origin: String,
        recorded_by: Vec<String>,
        period_us: u64,
    ) -> Self {
        Self {
            rows,
            next: 0,
            start_us: None,
            origin,
            recorded_by,
            period_us: period_us.max(1),
        }
    }

    /// Opens a CSV trace, a segment file or a state directory (told apart by content).
    pub fn open(path: &Path) -> Result<Self, PowerError> {
        if path.is_dir() {
            return super::replay_log::open_dir(path);
        }
        let bytes = std::fs::read(path).map_err(|source| PowerError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if bytes.starts_with(&crate::store::MAGIC) {
            return super::replay_log::open_segment(path);
        }
        let text = String::from_utf8(bytes).map_err(|_| PowerError::Trace {
            path: path.display().to_string(),
            message: "neither a CSV trace (it is not text), an edgewatt segment (*.ewlog) \
                      nor a state directory; point power.replay.path at one of those"
                .into(),
        })?;
        Self::from_csv(&text, path.display().to_string())
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl PowerSource for ReplaySource {
    fn id(&self) -> SourceId {
        SourceId::Replay
    }

    fn label(&self) -> String {
        if self.recorded_by.is_empty() {
            format!(
                "replay of {} ({} readings, recorded values, not measured now)",
                self.origin,
                self.rows.len()
            )
        } else {
            format!(
                "replay of {} ({} readings recorded by {}; not measured now)",
                self.origin,
                self.rows.len(),
                self.recorded_by.join(" | ")
            )
        }
    }

    fn period_us(&self) -> u64 {
        self.period_us
    }

    fn poll(&mut self, now_us: u64) -> Result<Option<PowerReading>, PowerError> {
        let Some(row) = self.rows.get(self.next) else {
            return Err(PowerError::Ended { source_name: NAME });
        };
        let start = *self.start_us.get_or_insert(now_us);
        let due = start + (row.t_us - self.rows[0].t_us);
        if now_us < due {
            return Ok(None);
        }
        self.next += 1;
        Ok(Some(PowerReading {
            mono_us: due,
            source: SourceId::Replay,
            bus_uv: row.bus_uv,
            current_ua: row.current_ua,
            power_uw: row.power_uw,
            shunt_uv: row.shunt_uv,
            flags: row.flags,
        }))
    }
}
