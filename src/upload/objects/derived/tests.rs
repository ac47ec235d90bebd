use std::path::Path;
use std::path::PathBuf;

use super::*;
use crate::cost::CostLog;
use crate::export::read_table;
use crate::export::Value;
use crate::export::RUN_COLUMNS;
use crate::logread::Filter;
use crate::logread::LogSource;
use crate::record::Record;
use crate::store::Item;
use crate::store::SegmentIdent;
use crate::store::SegmentReader;
use crate::store::Writer;
use crate::synth::calib::spread;
use crate::synth::calib::PowerTruth;
use crate::synth::calib::SynthLog;

const TRUTH: PowerTruth = PowerTruth {
    idle_w: 3.2,
    cpu_w_per_pct: 0.038,
    ram_w_per_mb: 0.0015,
    cpu_ghz_w_per_pct_ghz: 0.0,
};

/// A synthetic log of 8 runs written again into `dir` in two segments: the samples, power
/// and plan events in the first, the Run records (written as runs end) in the second, so
/// every run of the second needs the first as context. Returns the two sealed segments.
fn two_segments(dir: &Path) -> [PathBuf; 2] {
    let sealed = rewritten(dir, 1);
    [sealed[0].clone(), sealed[1].clone()]
}

/// The synthetic log of 8 runs written again into `dir`: the frames before the first Run
/// record in `parts` segments of as many frames, the Run records in the last. Returns the
/// sealed segments, oldest first.
fn rewritten(dir: &Path, parts: usize) -> Vec<PathBuf> {
    let synth = tempfile::tempdir().unwrap();
    crate::synth::calib::write(synth.path(), &SynthLog::new(TRUTH, spread(8, false))).unwrap();
    let one = list_segments(synth.path()).unwrap().remove(0).path;
    let reader = SegmentReader::open(&one).unwrap();
    let h = reader.header().unwrap().clone();
    let ident = SegmentIdent {
        device_id: h.device_id.clone(),
        boot_id: h.boot_id.clone(),
        host: h.host.clone(),
    };
    let opts = crate::config::StoreConfig::default().options(dir.to_path_buf());
    let (mut w, _) = Writer::open(opts, ident, h.anchor).unwrap();
    let frames: Vec<Record> = reader
        .items()
        .filter_map(|item| match item {
            Item::Frame { frame, .. } => Some(frame.record),
            _ => None,
        })
        .filter(|r| !matches!(r, Record::Seal(_)))
        .collect();
    let before_runs = frames
        .iter()
        .position(|r| matches!(r, Record::Run(_)))
        .unwrap();
    let part = before_runs.div_ceil(parts);
    let mut runs = false;
    for (i, record) in frames.into_iter().enumerate() {
        let first_run = matches!(record, Record::Run(_)) && !runs;
        if first_run || (!runs && i > 0 && i % part == 0) {
            w.rotate(h.anchor.mono_us, h.anchor).unwrap();
        }
        runs |= first_run;
        w.append(&record).unwrap();
    }
    w.close(crate::record::SealReason::Shutdown, h.anchor.mono_us)
        .unwrap();
    let sealed: Vec<PathBuf> = list_segments(dir)
        .unwrap()
        .into_iter()
        .filter(|s| !s.open)
        .map(|s| s.path)
        .collect();
    assert_eq!(sealed.len(), parts + 1, "{sealed:?}");
    sealed
}

/// The rows of the runs (not the idle lead-ins) of the whole directory, estimated, as
/// `edgewatt export runs` gives them.
fn whole_runs(dir: &Path) -> Vec<Vec<Value>> {
    let mut all = CostLog::read(
        &LogSource::dir(dir),
        Filter::default(),
        CostOptions::default(),
    )
    .unwrap()
    .rows;
    all.retain(|r| r.kind == crate::cost::RowKind::Run);
    crate::estimate::apply(&mut all, &Calibrations::board_average());
    run_table(&all).rows
}

fn runs_of(seg: &Path, tmp: &Path) -> (Vec<u8>, crate::export::Table) {
    let seg = Segment::open(seg, "unused").unwrap();
    let objects = parquet_objects(&seg, &seg.partition("p")).unwrap();
    let Source::Bytes(bytes) = &objects[0].source else {
        panic!("made in memory")
    };
    assert!(objects[0].key.ends_with(".runs.parquet"));
    let path = tmp.join(format!("{}.runs.parquet", seg.name));
    std::fs::write(&path, bytes).unwrap();
    (bytes.clone(), read_table(&path, &RUN_COLUMNS).unwrap())
}

fn column<'a>(t: &'a crate::export::Table, name: &str) -> Vec<&'a Value> {
    let j = t.column(name).unwrap();
    t.rows.iter().map(|r| &r[j]).collect()
}

#[test]
fn each_row_is_in_the_segment_of_its_record_with_the_previous_one_as_context() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let [first, second] = two_segments(&dir);
    let (_, t1) = runs_of(&first, tmp.path());
    let (bytes, t2) = runs_of(&second, tmp.path());
    assert!(column(&t1, "kind")
        .iter()
        .all(|k| **k == Value::Text("idle".into())));
    assert_eq!(
        t1.rows.len(),
        2,
        "the two plans' lead-ins: their PlanStart is there"
    );
    assert_eq!(
        t2.rows.len(),
        8,
        "the eight runs: their Run records are there"
    );

    // Together: the export of the whole directory, every figure the same.
    let mut all = CostLog::read(
        &LogSource::dir(&dir),
        Filter::default(),
        CostOptions::default(),
    )
    .unwrap()
    .rows;
    crate::estimate::apply(&mut all, &Calibrations::board_average());
    let mut both = t1.rows.clone();
    both.extend(t2.rows.clone());
    assert_eq!(both, run_table(&all).rows);
    assert!(column(&t2, "flagged")
        .iter()
        .all(|f| **f == Value::Bool(false)));

    // The same bytes on every call.
    assert_eq!(runs_of(&second, tmp.path()).0, bytes);
}

#[test]
fn runs_whose_samples_and_lead_in_are_segments_back_read_back_to_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    // Four segments: the first plan's lead-in and its first runs' samples in the first,
    // the rest of the samples in the next two, the Run records in the last.
    let sealed = rewritten(&dir, 3);
    let (_, t) = runs_of(&sealed[3], tmp.path());
    assert_eq!(
        t.rows.len(),
        8,
        "the eight runs: their Run records are there"
    );
    assert_eq!(
        t.rows,
        whole_runs(&dir),
        "every figure the whole directory's"
    );
    assert!(column(&t, "flagged")
        .iter()
        .all(|f| **f == Value::Bool(false)));
    assert!(column(&t, "baseline_is_lead_in")
        .iter()
        .all(|f| **f == Value::Bool(true)));

    // Read with the segment before alone, the first runs lose their samples and their
    // plan's lead-in: the context is what makes the rows right.
    let short = rows_of_last_segment(&sealed[2..], 1, CostOptions::default())
        .unwrap()
        .rows;
    assert_eq!(short.len(), 8);
    assert!(short.iter().any(|r| !r.trust.usage), "{short:?}");
    // At most `max_before` back: the same rows with the first segment out of reach.
    let capped = rows_of_last_segment(&sealed, 2, CostOptions::default())
        .unwrap()
        .rows;
    assert!(capped.iter().any(|r| !r.trust.usage));
    let all = rows_of_last_segment(&sealed, 3, CostOptions::default())
        .unwrap()
        .rows;
    assert!(all.iter().all(|r| r.trust.usage));
}

/// A segment whose rows read only the one before it reads no further: an older file, here
/// one that is not a segment at all, is never opened.
#[test]
fn the_context_reaches_no_further_than_the_rows_read() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let [first, second] = two_segments(&dir);
    let junk = tmp.path().join("00000000000000000000.ewlog");
    std::fs::write(&junk, b"not a segment at all").unwrap();
    let files = [junk, first, second];
    let log = rows_of_last_segment(&files, MAX_CONTEXT_SEGMENTS, CostOptions::default()).unwrap();
    assert_eq!(log.rows.len(), 8);
    assert!(log.rows.iter().all(|r| r.trust.usage), "{:?}", log.rows);
    assert!(!log.damage.is_damaged(), "{:?}", log.skips);
}

#[test]
fn without_the_previous_segment_runs_are_flagged_never_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let [first, second] = two_segments(&dir);
    std::fs::remove_file(&first).unwrap();
    let (_, t) = runs_of(&second, tmp.path());
    assert_eq!(t.rows.len(), 8);
    for (name, want) in [
        ("flagged", Value::Bool(true)),
        ("usage_trusted", Value::Bool(false)),
        ("cpu_auc_pct_s", Value::Null),
        ("estimate_gross_j", Value::Null),
    ] {
        assert!(
            column(&t, name).iter().all(|v| **v == want),
            "{name}: {:?}",
            column(&t, name)
        );
    }
    let reasons = column(&t, "untrusted_reasons");
    assert!(
        reasons
            .iter()
            .all(|r| r.as_str().is_some_and(|s| s.contains("no samples"))),
        "{reasons:?}"
    );
}

#[test]
fn a_segment_without_runs_has_a_runs_file_with_the_schema_and_no_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let ident = SegmentIdent {
        device_id: "pi".into(),
        boot_id: "b".into(),
        host: "h".into(),
    };
    let anchor = crate::clock::Anchor {
        mono_us: 5,
        wall_unix_us: 1_750_000_000_000_000,
    };
    let opts = crate::config::StoreConfig::default().options(dir.clone());
    let (w, _) = Writer::open(opts, ident, anchor).unwrap();
    w.close(crate::record::SealReason::Shutdown, 10).unwrap();
    let seg = list_segments(&dir).unwrap().remove(0).path;
    let (_, t) = runs_of(&seg, tmp.path());
    assert_eq!(t.columns, *RUN_COLUMNS);
    assert!(t.rows.is_empty());
}
