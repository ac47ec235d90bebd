use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::record::Event;
use crate::record::EventKind;
use crate::store::list_segments;
use crate::store::Item;
use crate::store::SegmentReader;
use crate::store::Writer;

const CLOSE_WITHIN: Duration = Duration::from_secs(60);

fn opts(dir: &Path) -> StoreOptions {
    crate::config::StoreConfig::default().options(dir.to_path_buf())
}

fn ident() -> SegmentIdent {
    SegmentIdent {
        device_id: "dev".into(),
        boot_id: "boot".into(),
        host: "pi".into(),
    }
}

fn anchor(mono_us: u64) -> Anchor {
    Anchor {
        mono_us,
        wall_unix_us: 1_700_000_000_000_000 + mono_us as i64,
    }
}

fn event(n: u64) -> Record {
    Record::Event(Event {
        mono_us: 1_000 + n,
        kind: EventKind::Stop {
            reason: format!("event {n}"),
        },
    })
}

/// Every frame of the directory: (seq, record), in file order.
fn frames(dir: &Path) -> Vec<(u64, Record)> {
    let mut out = Vec::new();
    for seg in list_segments(dir).unwrap() {
        let r = SegmentReader::open(&seg.path).unwrap();
        for item in r.items() {
            match item {
                Item::Frame { frame, .. } => out.push((frame.seq, frame.record)),
                other => panic!("{}: {other:?}", seg.path.display()),
            }
        }
    }
    out
}

fn seal_reason(r: &Record) -> Option<SealReason> {
    match r {
        Record::Seal(s) => Some(s.reason),
        _ => None,
    }
}

#[test]
fn frames_are_written_in_order_rotated_by_size_and_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.segment_max_bytes = 60;
    let mut w = AsyncWriter::start(o, ident(), anchor(0)).unwrap();
    assert_eq!(w.next_seq(), 0);
    let mut rotations = 0;
    for n in 0..10 {
        let a = w.append(&event(n)).unwrap();
        assert_eq!(a.dropped_frames, 0);
        w.sync();
        if w.maybe_rotate(n, anchor(n)) {
            rotations += 1;
        }
    }
    let sealed = w.close(SealReason::Shutdown, 99, CLOSE_WITHIN).unwrap();
    assert!(sealed.to_string_lossy().ends_with(".ewlog"), "{sealed:?}");
    let got = frames(dir.path());
    let seqs: Vec<u64> = got.iter().map(|f| f.0).collect();
    assert_eq!(
        seqs,
        (0..got.len() as u64).collect::<Vec<_>>(),
        "contiguous"
    );
    let events: Vec<&Record> = got
        .iter()
        .map(|f| &f.1)
        .filter(|r| seal_reason(r).is_none())
        .collect();
    assert_eq!(
        events,
        (0..10)
            .map(event)
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>()
    );
    let seals: Vec<SealReason> = got.iter().filter_map(|f| seal_reason(&f.1)).collect();
    assert!(rotations >= 2, "{rotations} rotations");
    assert_eq!(seals.len(), rotations + 1);
    assert!(seals[..rotations].iter().all(|r| *r == SealReason::Rotated));
    assert_eq!(seals[rotations], SealReason::Shutdown);
    assert_eq!(list_segments(dir.path()).unwrap().len(), rotations + 1);
}

#[test]
fn reports_say_the_segment_opened_and_each_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.segment_max_bytes = 1;
    let mut w = AsyncWriter::start(o, ident(), anchor(0)).unwrap();
    w.append(&event(0)).unwrap();
    assert!(w.maybe_rotate(1, anchor(1)));
    w.append(&event(1)).unwrap();
    // Both reports are sent before the close is done.
    let status = w.status();
    let reports_rx = std::mem::replace(&mut w.reports, mpsc::channel().1);
    w.close(SealReason::Shutdown, 2, CLOSE_WITHIN).unwrap();
    let reports: Vec<StoreReport> = reports_rx.try_iter().collect();
    assert!(status.dropped_frames == 0);
    match &reports[..] {
        [StoreReport::Opened { recoveries, .. }, StoreReport::Rotated(rot)] => {
            assert!(recoveries.is_empty());
            assert!(rot.rename_error.is_none() && rot.retention_error.is_none());
        }
        other => panic!("{other:?}"),
    }
}

/// A crash left a segment open with a torn frame at its end: the seqs the writer hands
/// out before repairing it are the ones that follow the repair.
#[test]
fn seqs_are_known_before_a_crashed_segment_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let (mut old, _) = Writer::open(opts(dir.path()), ident(), anchor(0)).unwrap();
    for n in 0..3 {
        old.append(&event(n)).unwrap();
    }
    let open = old.active_path().to_owned();
    drop(old); // as a crash would: the segment stays open
    std::fs::OpenOptions::new()
        .append(true)
        .open(&open)
        .unwrap()
        .write_all(&[0x05, 0x11, 0x22])
        .unwrap();
    let mut w = AsyncWriter::start(opts(dir.path()), ident(), anchor(10)).unwrap();
    // Frames 0..=2, then the repair's seal (3): the new segment starts at 4.
    assert_eq!(w.next_seq(), 4);
    assert_eq!(w.append(&event(7)).unwrap().seq, 4);
    w.close(SealReason::Shutdown, 11, CLOSE_WITHIN).unwrap();
    let got = frames(dir.path());
    let seqs: Vec<u64> = got.iter().map(|f| f.0).collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4, 5]);
    assert_eq!(seal_reason(&got[3].1), Some(SealReason::Recovered));
    assert_eq!(got[4].1, event(7));
}

/// For every kind of directory a crash can leave, the seq predicted before the repair is
/// the one found after it.
#[test]
fn the_predicted_next_seq_is_the_one_after_repair() {
    type Damage = fn(&Path, &Path);
    let cases: [(&str, Damage); 5] = [
        ("clean", |_, _| {}),
        ("torn tail", |_, open| append(open, &[0x07, 1, 2])),
        ("sealed, not renamed", |_, open| {
            let bytes = std::fs::read(open).unwrap();
            std::fs::write(open, &bytes[..bytes.len() / 2]).unwrap();
        }),
        ("header only", |dir, _| {
            let (w, _) = Writer::open(opts(dir), ident(), anchor(5)).unwrap();
            drop(w);
        }),
        ("torn header", |dir, _| {
            let next = crate::store::recover::next_seq(dir).unwrap();
            let name = format!("{:020}.ewlog.open", next + 5);
            std::fs::write(dir.join(name), b"EDGEW").unwrap();
        }),
    ];
    for (what, damage) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _) = Writer::open(opts(dir.path()), ident(), anchor(0)).unwrap();
        for n in 0..4 {
            w.append(&event(n)).unwrap();
        }
        let open = w.active_path().to_owned();
        drop(w);
        damage(dir.path(), &open);
        let predicted = crate::store::recover::next_seq(dir.path()).unwrap();
        crate::store::recover::recover_open_segments(dir.path(), 9).unwrap();
        let after = crate::store::recover::next_seq(dir.path()).unwrap();
        assert_eq!(predicted, after, "{what}");
    }
}

fn append(path: &Path, bytes: &[u8]) {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

#[test]
fn a_locked_directory_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let w = AsyncWriter::start(opts(dir.path()), ident(), anchor(0)).unwrap();
    let err = AsyncWriter::start(opts(dir.path()), ident(), anchor(1)).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    w.close(SealReason::Shutdown, 2, CLOSE_WITHIN).unwrap();
}
