//! A recorded power trace played back on a clock, for tests and machines without sensors.
//!
//! CSV, one reading per line: `mono_us,bus_uv,current_ua,power_uw` (integers; `bus_uv` and
//! `current_ua` may be empty). An optional header line starting with `mono_us`, blank lines
//! and `#` comments are skipped. The first reading is played at the first poll; later ones
//! keep their spacing, so the readings' `mono_us` are the playback clock's.

use std::path::Path;

use super::PowerError;
use super::PowerReading;
use super::PowerSource;
use super::SourceId;

const NAME: &str = "replay";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Row {
    t_us: u64,
    bus_uv: Option<i64>,
    current_ua: Option<i64>,
    power_uw: i64,
}

/// A trace as a [`PowerSource`].
#[derive(Debug, Clone)]
pub struct ReplaySource {
    rows: Vec<Row>,
    next: usize,
    start_us: Option<u64>,
    origin: String,
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
            period_us,
        })
    }

    pub fn open(path: &Path) -> Result<Self, PowerError> {
        let text = std::fs::read_to_string(path).map_err(|source| PowerError::Io {
            path: path.display().to_string(),
            source,
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
        format!(
            "replay of {} ({} readings, recorded values, not measured now)",
            self.origin,
            self.rows.len()
        )
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
            shunt_uv: None,
            flags: 0,
        }))
    }
}
