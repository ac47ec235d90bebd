//! The samples table: one row per sample tick, with the machine's CPU % over the interval
//! since the previous sample, RAM used, the hottest zone, the mean clock, the throttling
//! bits, and the mean power of the readings in that interval.
//!
//! Two passes over the log, each streaming: the samples (kept as rows of cells), then the
//! power readings, each added to the interval of its boot it falls in. The power columns
//! are the source with the most readings (the INA219 at 100 Hz over the PMIC at 1 Hz, say).
//!
//! The table is held whole before it is written: about 1 KB of memory a tick (measured:
//! 1 million ticks, 0.96–1.00 GB peak RSS whatever the format). That is a day at 10 Hz on a
//! Pi with 1 GB; export a longer log in parts (`--since`/`--until`).

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
    let rows = table.rows.len();
    let (power, power_skips) = power_bins(source, pass(RecordKind::Power), &ticks, rows)?;
    skips.extend(power_skips);
    add_power(&mut table, &power);
    Ok((table, skips, damage))
}

/// Per power source label, the Σ W and count of its readings in each row's interval: a
/// pair per row and label (sources are one or two), not a map per row.
struct Bins {
    rows: usize,
    labels: Vec<(Arc<str>, Vec<Bin>)>,
}

/// Σ W and the count of the readings.
type Bin = (f64, u32);

impl Bins {
    fn add(&mut self, row: usize, label: &Arc<str>, watts: f64) {
        let i = match self.labels.iter().position(|(l, _)| l == label) {
            Some(i) => i,
            None => {
                self.labels.push((label.clone(), vec![(0.0, 0); self.rows]));
                self.labels.len() - 1
            }
        };
        let bin = &mut self.labels[i].1[row];
        bin.0 += watts;
        bin.1 += 1;
    }
}

fn power_bins(
    source: &LogSource,
    filter: Filter,
    ticks: &BTreeMap<u64, Vec<(u64, usize)>>,
    rows: usize,
) -> Result<(Bins, Vec<Skip>), LogError> {
    let mut bins = Bins {
        rows,
        labels: Vec::new(),
    };
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
                bins.add(t[i].1, label, reading.power_uw as f64 / 1e6);
            }
            LogItem::Skipped(s) => skips.push(s),
            LogItem::Segment(_) => {}
        }
    }
    Ok((bins, skips))
}

/// Fills the power columns from the source with the most readings (of equal counts, the
/// last label in order of name).
fn add_power(table: &mut Table, bins: &Bins) {
    let mut counts: Vec<(&Arc<str>, u64, &[Bin])> = bins
        .labels
        .iter()
        .map(|(l, per_row)| {
            (
                l,
                per_row.iter().map(|b| u64::from(b.1)).sum(),
                &per_row[..],
            )
        })
        .collect();
    counts.sort_by(|a, b| a.0.cmp(b.0));
    let main = counts.iter().max_by_key(|(_, n, _)| *n);
    for (i, row) in table.rows.iter_mut().enumerate() {
        let bin = main.and_then(|(l, _, per_row)| Some((l, per_row.get(i).filter(|b| b.1 > 0)?)));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::calib::spread;
    use crate::synth::calib::PowerTruth;
    use crate::synth::calib::SynthLog;

    /// With an INA219 and the PMIC both logged, as many readings each (the synthetic PMIC
    /// mirrors the INA219), the power columns are those of one source, the last by name
    /// of those with the most readings: the PMIC's. Every sample interval holds readings.
    #[test]
    fn the_power_columns_are_one_source_the_last_by_name_of_equal_counts() {
        let truth = PowerTruth {
            idle_w: 3.0,
            cpu_w_per_pct: 0.04,
            ram_w_per_mb: 0.002,
            cpu_ghz_w_per_pct_ghz: 0.0,
        };
        let mut log = SynthLog::new(truth, spread(4, false));
        log.pmic = Some((1.1, 0.5));
        let dir = tempfile::tempdir().unwrap();
        crate::synth::calib::write(dir.path(), &log).unwrap();
        let (table, _, _) = sample_table(&LogSource::dir(dir.path()), &Filter::default()).unwrap();
        let source = table.column("power_source").unwrap();
        let readings = table.column("power_readings").unwrap();
        let mut with_power = 0;
        for row in &table.rows {
            match row[source].as_str() {
                Some(s) => {
                    assert_eq!(s, "pmic");
                    assert!(row[readings].as_i64().unwrap() >= 1, "{row:?}");
                    with_power += 1;
                }
                None => assert_eq!(row[readings].as_i64(), Some(0)),
            }
        }
        assert!(
            with_power * 10 >= table.rows.len() * 9,
            "{with_power} of {}",
            table.rows.len()
        );
    }
}
