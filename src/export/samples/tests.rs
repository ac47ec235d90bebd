//! The samples export: the power columns' source, batches, and a log that changes between
//! the passes.

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

/// A log of `runs` synthetic runs (`seed`: its noise) in `dir`, with the INA219 alone.
fn synth(dir: &std::path::Path, runs: usize, seed: u64) {
    let truth = PowerTruth {
        idle_w: 3.0,
        cpu_w_per_pct: 0.04,
        ram_w_per_mb: 0.002,
        cpu_ghz_w_per_pct_ghz: 0.0,
    };
    let mut log = SynthLog::new(truth, spread(runs, false));
    log.noise = 0.05;
    log.seed = seed;
    crate::synth::calib::write(dir, &log).unwrap();
}

fn rows_of(export: SampleExport, batch_rows: usize) -> (Vec<Vec<Value>>, Vec<usize>) {
    let (mut rows, mut sizes) = (Vec::new(), Vec::new());
    let count = export
        .rows(batch_rows, |batch| {
            sizes.push(batch.len());
            rows.extend(batch);
            Ok::<_, LogError>(())
        })
        .unwrap();
    assert_eq!(count, rows.len() as u64);
    (rows, sizes)
}

/// The rows come in batches of the size asked (the last one shorter), and are the rows of
/// the table read whole.
#[test]
fn the_rows_come_in_batches_and_are_the_whole_table() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 3, 1);
    let source = LogSource::dir(dir.path());
    let (whole, _, _) = sample_table(&source, &Filter::default()).unwrap();
    let n = whole.rows.len();
    assert!(n > 20, "{n} rows");
    let with_power = whole.rows.iter().filter(|r| r[12] != Value::Null).count();
    assert!(with_power * 10 >= n * 9, "{with_power} of {n} with power");
    let export = SampleExport::prepare(&source, &Filter::default()).unwrap();
    let (rows, sizes) = rows_of(export, 7);
    assert_eq!(rows, whole.rows);
    assert!(
        sizes[..sizes.len() - 1].iter().all(|&s| s == 7),
        "{sizes:?}"
    );
    assert_eq!(sizes.iter().sum::<usize>(), n);
}

/// Samples written after the first pass (here: a second state directory filled in
/// between) are left for the next export, and the rows the first pass saw keep their power.
#[test]
fn samples_logged_after_the_first_pass_are_left_out() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    synth(a.path(), 3, 1);
    let (alone, _, _) = sample_table(&LogSource::dir(a.path()), &Filter::default()).unwrap();
    let source = LogSource::dirs([a.path().to_path_buf(), b.path().to_path_buf()]);
    let export = SampleExport::prepare(&source, &Filter::default()).unwrap();
    synth(b.path(), 3, 1);
    let (rows, _) = rows_of(export, 1000);
    assert_eq!(rows.len(), alone.rows.len());
    assert!(
        rows == alone.rows,
        "the rows are those of the first directory alone"
    );
}

/// The boots of the two directories as one log; the second directory's rows are the same
/// whether or not the first's segments are deleted (as retention would) between the passes:
/// a boot is found again by its name, not by the reader's count of boots.
#[test]
fn a_segment_deleted_between_the_passes_does_not_move_the_power() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    synth(a.path(), 3, 1);
    synth(b.path(), 3, 2);
    let power =
        |rows: &[Vec<Value>]| -> Vec<Value> { rows.iter().map(|r| r[12].clone()).collect() };
    let (want, _, _) = sample_table(&LogSource::dir(b.path()), &Filter::default()).unwrap();
    let (other, _, _) = sample_table(&LogSource::dir(a.path()), &Filter::default()).unwrap();
    assert_ne!(
        power(&other.rows),
        power(&want.rows),
        "the two logs' power differs"
    );
    let source = LogSource::dirs([a.path().to_path_buf(), b.path().to_path_buf()]);
    let export = SampleExport::prepare(&source, &Filter::default()).unwrap();
    for seg in std::fs::read_dir(a.path()).unwrap() {
        std::fs::remove_file(seg.unwrap().path()).unwrap();
    }
    let (rows, _) = rows_of(export, 1000);
    assert_eq!(rows.len(), want.rows.len());
    let moved = power(&rows)
        .iter()
        .zip(power(&want.rows))
        .filter(|(got, want)| *got != want)
        .count();
    assert_eq!(moved, 0, "rows whose power is not their own");
}
