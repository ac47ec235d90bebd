//! Reading a replay trace from an edgewatt log: the power readings of one segment file or
//! of every segment of a state directory, oldest first, read through [`crate::logread`].
//!
//! Readings keep their raw integers (µV, µA, µW) and flags. Monotonic time compares only
//! within a boot (logread's rule): the first reading of each later boot is placed one
//! recorded period after the last reading before it, and the rest of that boot keeps its
//! spacing. What the reader skips (corrupt frames, blocks that do not decode, unreadable
//! segments) is logged with its file and offset, and the readings it could read are played.

use std::path::Path;

use super::replay::ReplaySource;
use super::replay::Row;
use super::PowerError;
use super::PowerReading;
use crate::logread::Filter;
use crate::logread::LogItem;
use crate::logread::LogReader;
use crate::logread::LogSource;
use crate::logread::Payload;
use crate::logread::RecordKind;

/// Readings collected across segments, with the labels of the sources that recorded them.
#[derive(Debug, Default)]
struct Collected {
    rows: Vec<Row>,
    labels: Vec<String>,
    period_us: Option<u64>,
    /// Boot of the last reading.
    boot: Option<u64>,
    /// Added to recorded `mono_us` (in this boot) so that time never goes backwards.
    shift_us: i64,
}

impl Collected {
    fn add(&mut self, boot: u64, label: &str, period_us: u64, r: &PowerReading) {
        if !self.labels.iter().any(|l| l == label) {
            self.labels.push(label.to_owned());
        }
        let period_us = *self.period_us.get_or_insert(period_us.max(1));
        let last = self.rows.last().map(|row| row.t_us);
        if self.boot != Some(boot) {
            self.boot = Some(boot);
            // A new clock: its first reading comes one period after the last one.
            self.shift_us = last.map_or(0, |l| (l + period_us) as i64 - r.mono_us as i64);
        }
        let mut t_us = (r.mono_us as i64).saturating_add(self.shift_us).max(0) as u64;
        if let Some(last) = last.filter(|&l| t_us < l) {
            self.shift_us += (last + period_us - t_us) as i64;
            t_us = last + period_us;
        }
        self.rows.push(Row {
            t_us,
            bus_uv: r.bus_uv,
            current_ua: r.current_ua,
            power_uw: r.power_uw,
            shunt_uv: r.shunt_uv,
            flags: r.flags,
        });
    }

    /// Every power reading of `source`; skips are logged.
    fn read(source: &LogSource, origin: &Path) -> Result<Self, PowerError> {
        let mut reader =
            LogReader::open(source, Filter::kinds(&[RecordKind::Power])).map_err(|e| {
                PowerError::Trace {
                    path: origin.display().to_string(),
                    message: format!("cannot read it as an edgewatt log: {e}"),
                }
            })?;
        let mut c = Self::default();
        for item in &mut reader {
            match item {
                LogItem::Entry(e) => {
                    if let Payload::Power {
                        label,
                        period_us,
                        reading,
                    } = &e.payload
                    {
                        c.add(e.origin.segment.boot, label, *period_us, reading);
                    }
                }
                LogItem::Skipped(s) if s.kind.is_damage() => log::warn!("replay: {s}"),
                LogItem::Skipped(_) | LogItem::Segment(_) => {}
            }
        }
        Ok(c)
    }

    fn finish(self, path: &Path) -> Result<ReplaySource, PowerError> {
        if self.rows.is_empty() {
            return Err(PowerError::Trace {
                path: path.display().to_string(),
                message: "the log holds no power readings (Power records); replay a log \
                          recorded with a power source configured ([power] source), or a \
                          CSV trace"
                    .into(),
            });
        }
        Ok(ReplaySource::from_log(
            self.rows,
            path.display().to_string(),
            self.labels,
            self.period_us.unwrap_or(1_000),
        ))
    }
}

/// One segment file.
pub(super) fn open_segment(path: &Path) -> Result<ReplaySource, PowerError> {
    Collected::read(&LogSource::segment(path), path)?.finish(path)
}

/// Every segment (sealed and open) of a state directory, oldest first.
pub(super) fn open_dir(dir: &Path) -> Result<ReplaySource, PowerError> {
    let source = LogSource::dir(dir);
    if source.segments().is_ok_and(|s| s.is_empty()) {
        return Err(PowerError::Trace {
            path: dir.display().to_string(),
            message: "a directory, but no edgewatt segments (*.ewlog) in it; point \
                      power.replay.path at a state directory, a segment or a CSV trace"
                .into(),
        });
    }
    Collected::read(&source, dir)?.finish(dir)
}

#[cfg(test)]
mod tests;
