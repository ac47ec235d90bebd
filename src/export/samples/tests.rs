//! The samples export: the power columns' source, batches, and a log that changes between
//! the passes.

use super::*;
use crate::export::Table;
use crate::synth::calib::spread;
use crate::synth::calib::PowerTruth;
use crate::synth::calib::SynthLog;

/// The samples table of `source` (through `filter`; its kinds are replaced) held whole,
/// and what the reader skipped in either pass. (what the export streams).
fn sample_table(
    source: &LogSource,
    filter: &Filter,
) -> Result<(Table, Vec<Skip>, DamageCounts), LogError> {
    let mut export = SampleExport::prepare(source, filter)?;
    let (skips, damage) = (std::mem::take(&mut export.skips), export.damage);
    let mut table = Table::new(SAMPLE_COLUMNS);
    export.rows(usize::MAX, |rows| {
        table.rows.extend(rows);
        Ok::<_, LogError>(())
    })?;
    Ok((table, skips, damage))
}

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

/// One daemon session in `dir`: a segment of device "pi-1" and `boot` anchored at
/// `anchor_us`, with `n` samples every 100 ms from `start_us` and a PMIC reading of `watts`
/// every 10 ms over them and 100 ms either side.
fn session(dir: &std::path::Path, boot: &str, anchor_us: u64, start_us: u64, n: usize, watts: f64) {
    let w = open_session(dir, boot, anchor_us, start_us, n, watts);
    w.close(crate::record::SealReason::Shutdown, start_us + 100_000_000)
        .unwrap();
}

/// [`session`]'s segment left open (the daemon still writing it).
fn open_session(
    dir: &std::path::Path,
    boot: &str,
    anchor_us: u64,
    start_us: u64,
    n: usize,
    watts: f64,
) -> crate::store::Writer {
    use crate::power::PowerReading;
    use crate::power::SourceId;
    use crate::record::PowerBlockBuilder;
    use crate::record::Record;
    use crate::record::SampleBlockBuilder;
    let layout = crate::synth::pi5_layout();
    let mut samples = crate::synth::trace(&layout, n, 1);
    let mut block = SampleBlockBuilder::new(layout);
    for (i, s) in samples.iter_mut().enumerate() {
        s.mono_us = start_us + i as u64 * 100_000;
        block.push(s).unwrap();
    }
    let mut power = PowerBlockBuilder::new(SourceId::Pmic, "pmic rails", 10_000);
    for i in 0..(n as u64 + 1) * 10 {
        // From 95 ms before the first sample to 95 ms after the last.
        let t = start_us + 5_000 + i * 10_000 - 100_000;
        power
            .push(&PowerReading::power_only(
                t,
                SourceId::Pmic,
                (watts * 1e6) as i64,
            ))
            .unwrap();
    }
    let opts = crate::config::StoreConfig::default().options(dir.to_path_buf());
    let ident = crate::store::SegmentIdent {
        device_id: "pi-1".into(),
        boot_id: boot.into(),
        host: "pi".into(),
    };
    let anchor = crate::clock::Anchor {
        mono_us: anchor_us,
        wall_unix_us: 1_700_000_000_000_000 + anchor_us as i64,
    };
    let (mut w, _) = crate::store::Writer::open(opts, ident, anchor).unwrap();
    w.append(&Record::Samples(block.finish().unwrap())).unwrap();
    w.append(&Record::Power(power.finish().unwrap())).unwrap();
    w
}

/// Two boots both called "unknown" (the boot id could not be read) in one directory, the
/// second with a clock that restarted (its anchor is earlier), their samples at overlapping
/// monotonic times: the reader counts two boots, and each boot's samples get the power
/// of its own readings (4 W, then 6 W), never the other clock's.
#[test]
fn two_boots_of_one_name_keep_their_own_power() {
    const S: u64 = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    session(dir.path(), "unknown", 10 * S, 10 * S, 20, 4.0);
    session(dir.path(), "unknown", 5 * S, 10 * S + 50_000, 20, 6.0);
    let (table, _, _) = sample_table(&LogSource::dir(dir.path()), &Filter::default()).unwrap();
    assert_eq!(table.rows.len(), 40);
    let power = table.column("power_w").unwrap();
    let readings = table.column("power_readings").unwrap();
    for (i, row) in table.rows.iter().enumerate() {
        let (want_w, first) = if i < 20 { (4.0, 0) } else { (6.0, 20) };
        if i == first {
            assert_eq!(row[power], Value::Null, "row {i}: the boot's first sample");
            continue;
        }
        assert_eq!(row[readings].as_i64(), Some(10), "row {i}: {row:?}");
        let w = row[power].as_f64().unwrap();
        assert!((w - want_w).abs() < 1e-9, "row {i}: {w} W, want {want_w}");
    }
}

/// A segment the daemon seals between the passes (renamed from `.ewlog.open` to `.ewlog`)
/// is found again: its rows are all there, with their power.
#[test]
fn a_segment_sealed_between_the_passes_keeps_its_rows() {
    const S: u64 = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let w = open_session(dir.path(), "b", 10 * S, 10 * S, 20, 4.0);
    let source = LogSource::dir(dir.path());
    let (want, _, _) = sample_table(&source, &Filter::default()).unwrap();
    assert_eq!(want.rows.len(), 20);
    let export = SampleExport::prepare(&source, &Filter::default()).unwrap();
    let open = w
        .close(crate::record::SealReason::Shutdown, 12 * S)
        .unwrap();
    assert!(!open.to_string_lossy().ends_with(crate::store::OPEN_SUFFIX));
    let (rows, _) = rows_of(export, 1000);
    assert_eq!(rows, want.rows);
}

/// Three segments of one boot, the middle one's header damaged: the reader counts three
/// boots (nothing proves the middle one's clock), so the third segment's first sample has
/// no power, as before the export streamed, rather than the readings since the first
/// segment's last sample, 4 s before.
#[test]
fn a_damaged_segment_between_two_of_one_boot_keeps_them_apart() {
    const S: u64 = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    session(dir.path(), "b", 10 * S, 10 * S, 20, 4.0);
    session(dir.path(), "b", 13 * S, 13 * S, 20, 5.0);
    session(dir.path(), "b", 16 * S, 16 * S + 40_000, 20, 6.0);
    let mut segs: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(crate::store::SEALED_SUFFIX))
        .collect();
    segs.sort();
    let mut bytes = std::fs::read(&segs[1]).unwrap();
    bytes[20] ^= 1; // inside the header's anchor
    std::fs::write(&segs[1], bytes).unwrap();
    let (table, skips, damage) =
        sample_table(&LogSource::dir(dir.path()), &Filter::default()).unwrap();
    assert_eq!(damage.damaged_headers, 1);
    // Met by both passes that read every segment, told once.
    assert_eq!(skips.len(), 1, "{skips:?}");
    assert_eq!(table.rows.len(), 60);
    let power = table.column("power_w").unwrap();
    let readings = table.column("power_readings").unwrap();
    for (i, row) in table.rows.iter().enumerate() {
        if i % 20 == 0 {
            assert_eq!(row[power], Value::Null, "row {i}: a boot's first sample");
            assert_eq!(row[readings].as_i64(), Some(0), "row {i}");
        } else {
            assert_eq!(row[readings].as_i64(), Some(10), "row {i}: {row:?}");
        }
    }
}

/// A directory given twice is read twice, as two copies of one log: each sample is one
/// row, the first copy's, power and all (its power the directory's alone, not the readings
/// of both copies in the first copy's rows).
#[test]
fn a_directory_given_twice_gives_each_sample_once() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 3, 1);
    let (alone, _, _) = sample_table(&LogSource::dir(dir.path()), &Filter::default()).unwrap();
    let twice = LogSource::dirs([dir.path().to_path_buf(), dir.path().to_path_buf()]);
    let export = SampleExport::prepare(&twice, &Filter::default()).unwrap();
    assert_eq!(export.repeats(), alone.rows.len() as u64);
    let (table, _, _) = sample_table(&twice, &Filter::default()).unwrap();
    assert!(
        table.rows == alone.rows,
        "each sample once, as the directory alone"
    );
}

/// A copy of a boot's first segment read beside the whole boot, either first: the rows
/// are the whole boot's, each once (samples read twice were two rows each); the CPU % of
/// the first sample after the copy ends from the sample before it, and the power of the
/// copy's last ticks from every reading of them, some of which the daemon wrote in the next
/// segment (rev-j: the copy read first gave its last ticks fewer readings).
#[test]
fn a_partial_copy_beside_the_whole_log_gives_each_sample_once() {
    use crate::power::PowerReading;
    use crate::power::SourceId;
    use crate::record::PowerBlockBuilder;
    use crate::record::Record;
    use crate::record::SampleBlockBuilder;
    const S: u64 = 1_000_000;
    let whole = tempfile::tempdir().unwrap();
    // One boot's 40 samples, 20 in each of two segments.
    let layout = crate::synth::pi5_layout();
    let mut samples = crate::synth::trace(&layout, 40, 1);
    for (i, s) in samples.iter_mut().enumerate() {
        s.mono_us = 10 * S + i as u64 * 100_000;
    }
    let opts = crate::config::StoreConfig::default().options(whole.path().to_path_buf());
    let ident = crate::store::SegmentIdent {
        device_id: "pi-1".into(),
        boot_id: "b".into(),
        host: "pi".into(),
    };
    let anchor = |mono_us: u64| crate::clock::Anchor {
        mono_us,
        wall_unix_us: 1_700_000_000_000_000 + mono_us as i64,
    };
    // A PMIC reading every 10 ms at 4 W, then 5 W; those from the 18th sample's interval
    // on written with the second segment.
    let readings = |from_us: u64, to_us: u64| {
        let mut power = PowerBlockBuilder::new(SourceId::Pmic, "pmic rails", 10_000);
        for t in (from_us..to_us).step_by(10_000) {
            let uw = if t < 12 * S { 4_000_000 } else { 5_000_000 };
            let r = PowerReading::power_only(t + 5_000, SourceId::Pmic, uw);
            power.push(&r).unwrap();
        }
        Record::Power(power.finish().unwrap())
    };
    let (mut w, _) = crate::store::Writer::open(opts, ident, anchor(10 * S)).unwrap();
    for (k, part) in samples.chunks(20).enumerate() {
        if k > 0 {
            w.rotate(part[0].mono_us, anchor(part[0].mono_us)).unwrap();
        }
        let mut block = SampleBlockBuilder::new(layout.clone());
        part.iter().for_each(|s| block.push(s).unwrap());
        w.append(&Record::Samples(block.finish().unwrap())).unwrap();
        let (from_us, to_us) = [(10 * S, 11_700_000), (11_700_000, 14 * S)][k];
        w.append(&readings(from_us, to_us)).unwrap();
    }
    w.close(crate::record::SealReason::Shutdown, 20 * S)
        .unwrap();
    let mut segs: Vec<_> = (std::fs::read_dir(whole.path()).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    segs.sort();
    let part = tempfile::tempdir().unwrap();
    std::fs::copy(&segs[0], part.path().join(segs[0].file_name().unwrap())).unwrap();
    let (want, _, _) = sample_table(&LogSource::dir(whole.path()), &Filter::default()).unwrap();
    assert_eq!(want.rows.len(), 40);
    let cpu = want.column("cpu_pct").unwrap();
    assert!(want.rows[20][cpu] != Value::Null, "{:?}", want.rows[20]);
    let n = want.column("power_readings").unwrap();
    assert!(
        want.rows[1..].iter().all(|r| r[n] == Value::Int(10)),
        "{want:?}"
    );
    let (p, w) = (part.path().to_path_buf(), whole.path().to_path_buf());
    for dirs in [[p.clone(), w.clone()], [w, p]] {
        let source = LogSource::dirs(dirs);
        let export = SampleExport::prepare(&source, &Filter::default()).unwrap();
        assert_eq!(export.repeats(), 20);
        let (table, _, _) = sample_table(&source, &Filter::default()).unwrap();
        assert!(table.rows == want.rows, "{:?}", table.rows);
    }
}
