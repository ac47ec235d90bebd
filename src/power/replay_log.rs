//! Reading a replay trace from an edgewatt log: the Power records of one segment file or of
//! every segment of a state directory, oldest first.
//!
//! Readings keep their raw integers (µV, µA, µW) and flags. Monotonic time restarts with
//! each boot: a reading earlier than the one before it (a later boot's segment) is placed
//! one recorded period after it, and the rest of that boot keeps its spacing. Corrupt
//! frames and blocks that do not decode are skipped (and logged), as `dump` does.

use std::path::Path;

use super::replay::ReplaySource;
use super::replay::Row;
use super::PowerError;
use crate::record::Record;
use crate::store::list_segments;
use crate::store::Item;
use crate::store::SegmentReader;

/// Readings collected across segments, with the labels of the sources that recorded them.
#[derive(Debug, Default)]
struct Collected {
    rows: Vec<Row>,
    labels: Vec<String>,
    period_us: Option<u64>,
    /// Added to recorded `mono_us` so that time never goes backwards.
    shift_us: u64,
}

impl Collected {
    fn add_segment(&mut self, seg: &SegmentReader) {
        for item in seg.items() {
            let Item::Frame { frame, offset, .. } = item else {
                continue;
            };
            let Record::Power(block) = frame.record else {
                continue;
            };
            let readings = match block.decode() {
                Ok(r) => r,
                Err(e) => {
                    log::warn!(
                        "replay: power block at {}:{offset} skipped: {e}",
                        seg.path().display()
                    );
                    continue;
                }
            };
            if !self.labels.contains(&block.label) {
                self.labels.push(block.label.clone());
            }
            let period_us = *self.period_us.get_or_insert(block.period_us.max(1));
            for r in readings {
                let mut t_us = r.mono_us.saturating_add(self.shift_us);
                if let Some(last) = self.rows.last().map(|row| row.t_us) {
                    if t_us < last {
                        self.shift_us += last + period_us - t_us;
                        t_us = last + period_us;
                    }
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
        }
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

fn store_error(path: &Path, e: &crate::store::StoreError) -> PowerError {
    PowerError::Trace {
        path: path.display().to_string(),
        message: format!("cannot read it as an edgewatt log: {e}"),
    }
}

/// One segment file, already read into `bytes`.
pub(super) fn open_segment(path: &Path, bytes: Vec<u8>) -> Result<ReplaySource, PowerError> {
    let seg = SegmentReader::from_bytes(path, bytes).map_err(|e| store_error(path, &e))?;
    let mut c = Collected::default();
    c.add_segment(&seg);
    c.finish(path)
}

/// Every segment (sealed and open) of a state directory, oldest first.
pub(super) fn open_dir(dir: &Path) -> Result<ReplaySource, PowerError> {
    let segments = list_segments(dir).map_err(|e| store_error(dir, &e))?;
    if segments.is_empty() {
        return Err(PowerError::Trace {
            path: dir.display().to_string(),
            message: "a directory, but no edgewatt segments (*.ewlog) in it; point \
                      power.replay.path at a state directory, a segment or a CSV trace"
                .into(),
        });
    }
    let mut c = Collected::default();
    for info in segments {
        let seg = SegmentReader::open(&info.path).map_err(|e| store_error(&info.path, &e))?;
        c.add_segment(&seg);
    }
    c.finish(dir)
}

#[cfg(test)]
mod tests;
