//! The samples table: one row per sample tick, with the machine's CPU % over the interval
//! since the previous sample, RAM used, the hottest zone, the mean clock, the throttling
//! bits, and the mean power of the readings in that interval.
//!
//! Two passes over the log, each streaming: the samples (kept as rows: a tick is ~100 bytes
//! here, so a month at 1 Hz is a few hundred MB of memory at worst), then the power
//! readings, each added to the interval of its boot it falls in. The power columns are the
//! source with the most readings (the INA219 at 100 Hz over the PMIC at 1 Hz, say).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Column;
use super::ColumnType;
use super::Table;
use super::Value;
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

const fn col(name: &'static str, ty: ColumnType) -> Column {
    Column { name, ty }
}

/// The columns of the samples table, in order.
pub const SAMPLE_COLUMNS: &[Column] = &[
    col("device_id", Utf8),
    col("boot_id", Utf8),
    col("seq", Int64),
    col("tick", Int64),
    col("mono_us", Int64),
    col("wall_unix_us", Int64),
    col("cpu_pct", F64),
    col("cpu_core_sum_pct", F64),
    col("ram_used_mb", F64),
    col("temp_max_c", F64),
    col("freq_mean_mhz", F64),
    col("throttled_bits", Int64),
    col("power_w", F64),
    col("power_source", Utf8),
    col("power_readings", Int64),
];
/// Where the power columns start.
const POWER: usize = 12;

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

/// The samples table of `source` (through `filter`; its kinds are replaced), and what the
/// reader skipped in either pass.
pub fn sample_table(
    source: &LogSource,
    filter: &Filter,
) -> Result<(Table, Vec<Skip>, DamageCounts), LogError> {
    let mut table = Table::new(SAMPLE_COLUMNS);
    let mut skips = Vec::new();
    // Per boot: (mono_us, row index) of its samples, in time order.
    let mut ticks: BTreeMap<u64, Vec<(u64, usize)>> = BTreeMap::new();
    let mut prev: BTreeMap<u64, Sample> = BTreeMap::new();
    let pass = |kind| Filter {
        kinds: vec![kind],
        ..filter.clone()
    };
    let mut reader = LogReader::open(source, pass(RecordKind::Sample))?;
    for item in &mut reader {
        match item {
            LogItem::Entry(e) => {
                let Payload::Sample { sample, .. } = &e.payload else {
                    continue;
                };
                let boot = e.segment().boot;
                if let Some(row) = sample_row(&e, prev.get(&boot)) {
                    ticks
                        .entry(boot)
                        .or_default()
                        .push((sample.mono_us, table.rows.len()));
                    table.rows.push(row);
                    prev.insert(boot, (**sample).clone());
                }
            }
            LogItem::Skipped(s) => skips.push(s),
            LogItem::Segment(_) => {}
        }
    }
    let damage = *reader.damage();
    for t in ticks.values_mut() {
        t.sort_unstable();
    }
    let (power, power_skips) = power_bins(source, pass(RecordKind::Power), &ticks)?;
    skips.extend(power_skips);
    add_power(&mut table, &power);
    Ok((table, skips, damage))
}

/// Per row: per source label, Σ W and count of the readings in its interval.
type Bins = BTreeMap<usize, BTreeMap<Arc<str>, (f64, u32)>>;

fn power_bins(
    source: &LogSource,
    filter: Filter,
    ticks: &BTreeMap<u64, Vec<(u64, usize)>>,
) -> Result<(Bins, Vec<Skip>), LogError> {
    let mut bins = Bins::new();
    let mut skips = Vec::new();
    for item in LogReader::open(source, filter)? {
        match item {
            LogItem::Entry(e) => {
                let Payload::Power { label, reading, .. } = &e.payload else {
                    continue;
                };
                let Some(t) = ticks.get(&e.segment().boot) else {
                    continue;
                };
                // The first sample at or after the reading: its interval holds it.
                let i = t.partition_point(|(m, _)| *m < reading.mono_us);
                if !reading.is_valid() || i == 0 || i == t.len() {
                    continue;
                }
                let b = bins
                    .entry(t[i].1)
                    .or_default()
                    .entry(label.clone())
                    .or_default();
                b.0 += reading.power_uw as f64 / 1e6;
                b.1 += 1;
            }
            LogItem::Skipped(s) => skips.push(s),
            LogItem::Segment(_) => {}
        }
    }
    Ok((bins, skips))
}

/// Fills the power columns from the source with the most readings.
fn add_power(table: &mut Table, bins: &Bins) {
    let mut counts: BTreeMap<&Arc<str>, u64> = BTreeMap::new();
    for per_label in bins.values() {
        for (l, (_, n)) in per_label {
            *counts.entry(l).or_default() += u64::from(*n);
        }
    }
    let main = counts.iter().max_by_key(|(_, n)| **n).map(|(l, _)| *l);
    for (i, row) in table.rows.iter_mut().enumerate() {
        let bin = main.and_then(|l| bins.get(&i)?.get(l).map(|b| (l, b)));
        row.extend(match bin {
            Some((l, (sum, n))) => [
                Value::float(Some(sum / f64::from(*n))),
                Value::text(l.split_whitespace().next()),
                Value::Int((*n).into()),
            ],
            None => [Value::Null, Value::Null, Value::Int(0)],
        });
        debug_assert_eq!(row.len(), POWER + 3);
    }
}
