//! The samples table: one row per sample tick, with the machine's CPU % over the interval
//! since the previous sample, RAM used, the hottest zone, the mean clock, the throttling
//! bits, and the mean power of the readings in that interval.
//!
//! Three streaming passes over the log ([`SampleExport`]): where each boot's ticks are,
//! then the power readings, each added to the interval of its boot it falls in, then the
//! samples again, handed on in batches as rows. The power columns are the source with the
//! most readings (the INA219 at 100 Hz over the PMIC at 1 Hz, say). What is held is 8 bytes
//! a tick, 16 more per power source, and one batch of rows (about 1 KB a row).

mod ticks;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use ticks::Pass;
use ticks::Ticks;

use super::Column;
use super::ColumnType;
use super::ExportError;
use super::Format;
use super::TableWriter;
use super::Value;
use super::BATCH_ROWS;
use crate::derive::conditions::freq_khz;
use crate::derive::machine_cpu_pct;
use crate::derive::per_core_sum_cpu_pct;
use crate::derive::ram_used_mb;
use crate::derive::Rate;
use crate::logread::DamageCounts;
use crate::logread::Filter;
use crate::logread::LogError;
use crate::logread::LogItem;
use crate::logread::LogReader;
use crate::logread::LogSource;
use crate::logread::Payload;
use crate::logread::RecordKind;
use crate::logread::Skip;
use crate::record::Sample;

use ColumnType::Float64 as F64;
use ColumnType::Int64;
use ColumnType::Utf8;

/// The columns of the samples table, in order.
pub const SAMPLE_COLUMNS: &[Column] = &[
    Column::new("device_id", Utf8),
    Column::new("boot_id", Utf8),
    Column::new("seq", Int64),
    Column::distinct("tick", Int64),
    Column::distinct("mono_us", Int64),
    Column::distinct("wall_unix_us", Int64),
    Column::new("cpu_pct", F64),
    Column::new("cpu_core_sum_pct", F64),
    Column::new("ram_used_mb", F64),
    Column::new("temp_max_c", F64),
    Column::new("freq_mean_mhz", F64),
    Column::new("throttled_bits", Int64),
    Column::new("power_w", F64),
    Column::new("power_source", Utf8),
    Column::new("power_readings", Int64),
];

fn rate(r: Rate) -> Value {
    match r {
        Rate::Value(v) => Value::float(Some(v)),
        Rate::Gap(_) | Rate::Empty => Value::Null,
    }
}

fn int(v: u64) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

/// The cells of one sample but its power (`prev`: the boot's previous sample).
fn sample_row(e: &crate::logread::Entry, prev: Option<&Sample>) -> Option<Vec<Value>> {
    let Payload::Sample { layout, sample, .. } = &e.payload else {
        return None;
    };
    let seg = e.segment();
    let temp = (0..layout.thermal_zones.len())
        .filter(|&i| sample.is_valid(layout.temp_bit(i)))
        .filter_map(|i| sample.temps_mc.get(i).copied())
        .max();
    let throttled =
        (layout.throttled && sample.is_valid(layout.throttled_bit())).then_some(sample.throttled);
    Some(vec![
        Value::text(seg.device_id()),
        Value::text(seg.boot_id()),
        int(e.origin.seq),
        int(sample.tick),
        int(sample.mono_us),
        Value::int(e.wall.us()),
        prev.map_or(Value::Null, |p| rate(machine_cpu_pct(p, sample))),
        prev.map_or(Value::Null, |p| rate(per_core_sum_cpu_pct(p, sample))),
        Value::float(ram_used_mb(sample)),
        Value::float(temp.map(|mc| mc as f64 / 1000.0)),
        Value::float(freq_khz(layout, sample).map(|k| k / 1000.0)),
        throttled.map_or(Value::Null, int),
    ])
}

/// The samples export of a log, in three streaming passes: [`SampleExport::prepare`] reads
/// where each boot's ticks are (8 bytes a tick) and bins the power readings into them (16
/// bytes a tick and source); [`SampleExport::rows`] reads the samples again and hands the
/// rows on in batches. Its memory is that, not the table's.
///
/// The rows are the samples the first pass saw, in the reader's order: a sample the daemon
/// appends while the export runs is left for the next export, and one that retention
/// deletes in between is missing from this one.
pub struct SampleExport {
    source: LogSource,
    /// What the passes read: the window's, from [`LEAD_US`] before its start.
    filter: Filter,
    /// The window asked for: the samples given as rows.
    window: Filter,
    ticks: Ticks,
    /// The source whose readings fill the power columns, and its bin per tick.
    power: Option<(Arc<str>, Vec<Bin>)>,
    skips: Vec<Skip>,
    damage: DamageCounts,
    /// Samples read twice (a copy of a log in a second source), each given once.
    repeats: u64,
}

/// How far before a window's start the passes read: its first sample's CPU % is over the
/// interval since the sample before it, and its power the readings of that interval, both
/// before the window (10 min: a sample or a reading is never that late after the tick).
pub const LEAD_US: i64 = 600_000_000;

/// The filter of one pass: `filter` for records of `kind` alone.
fn pass(filter: &Filter, kind: RecordKind) -> Filter {
    Filter {
        kinds: vec![kind],
        ..filter.clone()
    }
}

impl SampleExport {
    /// The first two passes over `source` (through `filter`; its kinds are replaced): the
    /// ticks, then the power readings.
    pub fn prepare(source: &LogSource, window: &Filter) -> Result<Self, LogError> {
        let filter = &Filter {
            since_wall_us: window.since_wall_us.map(|s| s.saturating_sub(LEAD_US)),
            ..window.clone()
        };
        let mut skips = Vec::new();
        let mut ticks = Ticks::default();
        let mut boots = Pass::default();
        let mut reader = LogReader::open(source, pass(filter, RecordKind::Sample))?;
        for item in &mut reader {
            match item {
                LogItem::Entry(e) => {
                    if let Payload::Sample { sample, .. } = &e.payload {
                        ticks.push(&boots, sample.mono_us);
                    }
                }
                LogItem::Skipped(s) => skips.push(s),
                LogItem::Segment(seg) => ticks.segment(&mut boots, &seg),
            }
        }
        let damage = *reader.damage();
        let ticks = ticks.sorted();
        let repeats = ticks.repeats();
        let (mut bins, power_skips) = power_bins(source, pass(filter, RecordKind::Power), &ticks)?;
        bins.take_fuller(&repeats);
        // Damage the first pass met (a frame, a header) is met again: told once.
        for skip in power_skips {
            if !skips.contains(&skip) {
                skips.push(skip);
            }
        }
        Ok(Self {
            source: source.clone(),
            filter: filter.clone(),
            window: window.clone(),
            power: bins.main(),
            repeats: repeats.len() as u64,
            ticks,
            skips,
            damage,
        })
    }

    /// What the reader skipped in either pass.
    #[must_use]
    pub fn skips(&self) -> &[Skip] {
        &self.skips
    }

    /// How many samples were read twice (the same device, boot and time in two sources: a
    /// copy of a log): each is one row, from the source read first.
    #[must_use]
    pub const fn repeats(&self) -> u64 {
        self.repeats
    }

    /// The damage the reader counted.
    #[must_use]
    pub const fn damage(&self) -> &DamageCounts {
        &self.damage
    }

    /// The third pass: the rows, [`SAMPLE_COLUMNS`] each, handed to `batch` at most
    /// `batch_rows` at a time, in the reader's order. Returns how many rows there were.
    pub fn rows<E: From<LogError>>(
        self,
        batch_rows: usize,
        mut batch: impl FnMut(Vec<Vec<Value>>) -> Result<(), E>,
    ) -> Result<u64, E> {
        let batch_rows = batch_rows.max(1);
        let mut rows = Vec::with_capacity(batch_rows.min(self.ticks.len));
        let mut count = 0;
        let mut prev: BTreeMap<u64, Box<Sample>> = BTreeMap::new();
        let mut boots = Pass::default();
        // Opened now, not with the first two: a segment sealed since is found by its new name.
        let third = LogReader::open(&self.source, pass(&self.filter, RecordKind::Sample))?;
        let Self {
            ticks,
            mut power,
            window,
            ..
        } = self;
        for item in third {
            let e = match item {
                LogItem::Entry(e) => e,
                LogItem::Segment(seg) => {
                    ticks.enter(&mut boots, &seg);
                    continue;
                }
                LogItem::Skipped(_) => continue,
            };
            let Payload::Sample { sample, .. } = &e.payload else {
                continue;
            };
            let boot = e.segment().boot;
            let Some(at) = ticks.find(&boots, sample.mono_us) else {
                continue;
            };
            if ticks.repeated(&boots, sample.mono_us) {
                // Given from the copy read first; still this copy's previous sample.
                if let Payload::Sample { sample, .. } = e.payload {
                    prev.insert(boot, sample);
                }
                continue;
            }
            // Read before the window: the previous sample of its first.
            let row = window
                .keeps(&e)
                .then(|| sample_row(&e, prev.get(&boot).map(|p| &**p)))
                .flatten();
            if let Some(mut row) = row {
                row.extend(power_cells(&mut power, at));
                rows.push(row);
            }
            if let Payload::Sample { sample, .. } = e.payload {
                prev.insert(boot, sample);
            }
            if rows.len() == batch_rows {
                count += rows.len() as u64;
                batch(std::mem::replace(&mut rows, Vec::with_capacity(batch_rows)))?;
            }
        }
        if !rows.is_empty() {
            count += rows.len() as u64;
            batch(rows)?;
        }
        Ok(count)
    }

    /// The third pass written as a table in `format` to `out` (`path` names it in errors),
    /// a batch of [`BATCH_ROWS`] rows at a time. Returns how many rows there were.
    pub fn write(
        self,
        format: Format,
        out: &mut (dyn std::io::Write + Send),
        path: &Path,
    ) -> Result<u64, ExportError> {
        let mut w = TableWriter::new(SAMPLE_COLUMNS, format, out, path)?;
        let rows = self.rows(BATCH_ROWS, |rows| w.write(&rows))?;
        w.finish()?;
        Ok(rows)
    }
}

/// The power cells of the tick at `at`, taking its bin from `power`: a second sample at the
/// same time (its interval is empty) gets none.
fn power_cells(power: &mut Option<(Arc<str>, Vec<Bin>)>, at: usize) -> [Value; 3] {
    let bin = power
        .as_mut()
        .map(|(l, bins)| (&*l, std::mem::take(&mut bins[at])))
        .filter(|(_, b)| b.1 > 0);
    match bin {
        Some((l, (sum, n))) => [
            Value::float(Some(sum / f64::from(n))),
            Value::text(Some(crate::cost::meter_kind(l)).filter(|k| !k.is_empty())),
            Value::Int(n.into()),
        ],
        None => [Value::Null, Value::Null, Value::Int(0)],
    }
}

/// Per power source label, the Σ W and count of its readings in each tick's interval: a
/// pair per tick and label (sources are one or two), not a map per tick.
struct Bins {
    ticks: usize,
    labels: Vec<(Arc<str>, Vec<Bin>)>,
}

/// Σ W and the count of the readings.
type Bin = (f64, u32);

impl Bins {
    /// For each `(given, repeat)` tick pair (one sample read from two copies of a log), the
    /// given tick's bin is the fuller one: readings are written after the samples they follow
    /// (some in the next segment), so a copy cut at a segment's end holds fewer readings of
    /// its last ticks than the whole log does.
    fn take_fuller(&mut self, pairs: &[(usize, usize)]) {
        for (_, bins) in &mut self.labels {
            for &(given, repeat) in pairs {
                if bins[repeat].1 > bins[given].1 {
                    bins[given] = bins[repeat];
                }
            }
        }
    }

    fn add(&mut self, tick: usize, label: &Arc<str>, watts: f64) {
        let i = match self.labels.iter().position(|(l, _)| l == label) {
            Some(i) => i,
            None => {
                self.labels
                    .push((label.clone(), vec![(0.0, 0); self.ticks]));
                self.labels.len() - 1
            }
        };
        let bin = &mut self.labels[i].1[tick];
        bin.0 += watts;
        bin.1 += 1;
    }

    /// The source with the most readings (of equal counts, the last label in order of
    /// name), with its bins.
    fn main(mut self) -> Option<(Arc<str>, Vec<Bin>)> {
        self.labels.sort_by(|a, b| a.0.cmp(&b.0));
        let count = |bins: &[Bin]| bins.iter().map(|b| u64::from(b.1)).sum::<u64>();
        let (i, _) = self
            .labels
            .iter()
            .enumerate()
            .max_by_key(|(_, (_, bins))| count(bins))?;
        Some(self.labels.swap_remove(i))
    }
}

fn power_bins(
    source: &LogSource,
    filter: Filter,
    ticks: &Ticks,
) -> Result<(Bins, Vec<Skip>), LogError> {
    let mut bins = Bins {
        ticks: ticks.len,
        labels: Vec::new(),
    };
    let mut skips = Vec::new();
    let mut boots = Pass::default();
    for item in LogReader::open(source, filter)? {
        match item {
            LogItem::Entry(e) => {
                let Payload::Power { label, reading, .. } = &e.payload else {
                    continue;
                };
                if !reading.is_valid() {
                    continue;
                }
                if let Some(tick) = ticks.holding(&boots, reading.mono_us) {
                    bins.add(tick, label, reading.power_uw as f64 / 1e6);
                }
            }
            LogItem::Skipped(s) => skips.push(s),
            LogItem::Segment(seg) => ticks.enter(&mut boots, &seg),
        }
    }
    Ok((bins, skips))
}

#[cfg(test)]
mod tests;
