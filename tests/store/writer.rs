//! The writer on a real directory: recovery after a kill, rotation, retention, the lock.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::path::PathBuf;

use edgewatt::record::Frame;
use edgewatt::record::Record;
use edgewatt::record::Seal;
use edgewatt::record::SealReason;
use edgewatt::store::list_segments;
use edgewatt::store::FrameEncoder;
use edgewatt::store::Item;
use edgewatt::store::Recovery;
use edgewatt::store::RecoveryAction;
use edgewatt::store::SegmentReader;
use edgewatt::store::StoreError;
use edgewatt::store::Writer;

use super::*;

fn seal(reason: SealReason, frames: u64, dropped_bytes: u64, mono_us: u64) -> Record {
    Record::Seal(Seal {
        reason,
        frames,
        dropped_bytes,
        mono_us,
    })
}

fn name(dir: &Path, first_seq: u64, suffix: &str) -> PathBuf {
    dir.join(format!("{first_seq:020}{suffix}"))
}

fn frame_len(seq: u64, record: Record) -> u64 {
    let mut enc = FrameEncoder::new();
    enc.encode(&Frame { seq, record }).unwrap().len() as u64
}

/// Bytes of the magic + header of a segment, and of one `event(n)` frame.
fn sizes(first_seq: u64, at_mono_us: u64) -> (u64, u64) {
    let mut enc = FrameEncoder::new();
    let header = edgewatt::store::SegmentHeader {
        format_version: 1,
        device_id: "dev-1".into(),
        boot_id: "boot-a".into(),
        anchor: anchor(at_mono_us),
        first_seq,
        writer: env!("CARGO_PKG_VERSION").into(),
        host: "pi5".into(),
    };
    let h = 9 + enc.encode(&header).unwrap().len() as u64;
    let e = enc
        .encode(&Frame {
            seq: 1,
            record: event(1),
        })
        .unwrap()
        .len() as u64;
    (h, e)
}

#[test]
fn a_killed_writer_is_repaired_sealed_and_seq_continues() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (mut w, rec) = Writer::open(opts(dir), ident(), anchor(1_000)).unwrap();
    assert!(rec.is_empty());
    for n in 0..5 {
        assert_eq!(w.append(&event(n)).unwrap(), n);
    }
    w.sync().unwrap();
    let open = w.active_path().to_path_buf();
    assert_eq!(open, name(dir, 0, ".ewlog.open"));
    // Readable while the writer holds the lock.
    assert_eq!(frames(&open).len(), 5);
    drop(w); // killed: no seal
             // A torn frame: the first half of a frame, no closing 0x00.
    let mut enc = FrameEncoder::new();
    let torn = enc
        .encode(&Frame {
            seq: 5,
            record: event(5),
        })
        .unwrap()
        .to_vec();
    let garbage = &torn[..torn.len() / 2];
    fs::OpenOptions::new()
        .append(true)
        .open(&open)
        .unwrap()
        .write_all(garbage)
        .unwrap();

    let (mut w, rec) = Writer::open(opts(dir), ident(), anchor(50_000)).unwrap();
    let sealed = name(dir, 0, ".ewlog");
    assert_eq!(
        rec,
        vec![Recovery {
            action: RecoveryAction::Sealed,
            found: open.clone(),
            path: sealed.clone(),
            good_frames: 5,
            dropped_bytes: garbage.len() as u64,
        }]
    );
    assert!(!open.exists());
    let mut want: Vec<Frame> = (0..5)
        .map(|n| Frame {
            seq: n,
            record: event(n),
        })
        .collect();
    want.push(Frame {
        seq: 5,
        record: seal(SealReason::Recovered, 5, garbage.len() as u64, 50_000),
    });
    assert_eq!(frames(&sealed), want);
    assert_eq!(w.next_seq(), 6);
    assert_eq!(w.append(&event(6)).unwrap(), 6);
    let second = w.close(SealReason::Shutdown, 60_000).unwrap();
    assert_eq!(second, name(dir, 6, ".ewlog"));
    let reader = SegmentReader::open(&second).unwrap();
    assert_eq!(reader.header().unwrap().first_seq, 6);
    assert_eq!(reader.header().unwrap().anchor, anchor(50_000));
    assert_eq!(
        frames(&second),
        vec![
            Frame {
                seq: 6,
                record: event(6)
            },
            Frame {
                seq: 7,
                record: seal(SealReason::Shutdown, 1, 0, 60_000)
            },
        ]
    );
}

#[test]
fn a_segment_sealed_but_not_renamed_is_only_renamed_and_a_torn_header_is_quarantined() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (mut w, _) = Writer::open(opts(dir), ident(), anchor(1_000)).unwrap();
    w.append(&event(0)).unwrap();
    let sealed = w.close(SealReason::Shutdown, 2_000).unwrap();
    let open = name(dir, 0, ".ewlog.open");
    fs::rename(&sealed, &open).unwrap();
    fs::OpenOptions::new()
        .append(true)
        .open(&open)
        .unwrap()
        .write_all(&[0x07, 0x01, 0x02])
        .unwrap();
    // A crash while creating the next segment left only part of its magic.
    let torn = name(dir, 2, ".ewlog.open");
    fs::write(&torn, b"EDGEW").unwrap();

    let (w, rec) = Writer::open(opts(dir), ident(), anchor(3_000)).unwrap();
    assert_eq!(
        rec,
        vec![
            Recovery {
                action: RecoveryAction::Renamed,
                found: open,
                path: sealed.clone(),
                good_frames: 1,
                dropped_bytes: 3,
            },
            Recovery {
                action: RecoveryAction::Quarantined,
                found: torn,
                path: name(dir, 2, ".ewlog.broken"),
                good_frames: 0,
                dropped_bytes: 5,
            },
        ]
    );
    assert_eq!(frames(&sealed).len(), 2);
    // Past the quarantined name, so no two files share a first seq.
    assert_eq!(w.next_seq(), 3);
    let segs = list_segments(dir).unwrap();
    let paths: Vec<_> = segs.iter().map(|s| (s.path.clone(), s.open)).collect();
    assert_eq!(
        paths,
        vec![(sealed, false), (name(dir, 3, ".ewlog.open"), true)]
    );
}

#[test]
fn rotation_by_size_seals_at_the_first_frame_past_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut o = opts(dir);
    o.segment_max_bytes = 400;
    let (mut w, _) = Writer::open(o, ident(), anchor(0)).unwrap();
    let (h, e) = sizes(0, 0);
    // Frames per segment: the first k with h + k·e ≥ 400.
    let k = (400 - h).div_ceil(e);
    let mut rotations = Vec::new();
    for n in 0..40 {
        w.append(&event(n)).unwrap();
        if let Some(r) = w.maybe_rotate(10, anchor(10)).unwrap() {
            rotations.push(r);
        }
    }
    w.close(SealReason::Shutdown, 20).unwrap();
    let segs = list_segments(dir).unwrap();
    // Each segment: k events and a seal, so it spans k + 1 seqs.
    assert_eq!(rotations.len() as u64, 40 / k);
    assert_eq!(rotations[0].sealed, name(dir, 0, ".ewlog"));
    assert_eq!(rotations[0].opened, name(dir, k + 1, ".ewlog.open"));
    let mut seq = 0;
    for (i, seg) in segs.iter().enumerate() {
        assert_eq!(seg.first_seq, seq);
        let f = frames(&seg.path);
        for (j, frame) in f.iter().enumerate() {
            assert_eq!(frame.seq, seq + j as u64, "contiguous across segments");
        }
        seq += f.len() as u64;
        let last = &f.last().unwrap().record;
        if i + 1 < segs.len() {
            assert_eq!(*last, seal(SealReason::Rotated, k, 0, 10));
            let s = frame_len(seq - 1, seal(SealReason::Rotated, k, 0, 10));
            assert_eq!(seg.len_bytes, h + k * e + s);
        } else {
            assert_eq!(*last, seal(SealReason::Shutdown, 40 % k, 0, 20));
        }
    }
    assert_eq!(seq, 40 + segs.len() as u64);
}

#[test]
fn rotation_by_age_uses_the_monotonic_clock_and_the_new_anchor() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut o = opts(dir);
    o.segment_max_age_s = 10;
    let (mut w, _) = Writer::open(o, ident(), anchor(5_000_000)).unwrap();
    w.append(&event(0)).unwrap();
    assert!(w
        .maybe_rotate(14_999_999, anchor(14_999_999))
        .unwrap()
        .is_none());
    let r = w
        .maybe_rotate(15_000_000, anchor(15_000_000))
        .unwrap()
        .unwrap();
    assert_eq!(r.sealed, name(dir, 0, ".ewlog"));
    assert_eq!(r.opened, name(dir, 2, ".ewlog.open"));
    assert!(r.deleted.is_empty());
    let header = SegmentReader::open(&r.opened)
        .unwrap()
        .header()
        .unwrap()
        .clone();
    assert_eq!((header.first_seq, header.anchor), (2, anchor(15_000_000)));
    assert!(w.maybe_rotate(24_999_999, anchor(0)).unwrap().is_none());
    assert!(w.maybe_rotate(25_000_000, anchor(0)).unwrap().is_some());
}

#[test]
fn retention_deletes_the_oldest_sealed_segments_never_the_active_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (h, e) = sizes(0, 0);
    // Every sealed segment: header, 3 events, seal.
    let sealed_len = h + 3 * e + frame_len(3, seal(SealReason::Rotated, 3, 0, 1));
    let mut o = opts(dir);
    o.retain_bytes = 2 * sealed_len + h;
    let (mut w, _) = Writer::open(o, ident(), anchor(0)).unwrap();
    let mut deleted = Vec::new();
    for round in 0..5 {
        for n in 0..3 {
            w.append(&event(n)).unwrap();
        }
        let r = w.rotate(1, anchor(1)).unwrap();
        assert!(r.retention_error.is_none());
        deleted.push(r.deleted);
        // Sealed so far: round + 1; kept: the newest two.
        let segs = list_segments(dir).unwrap();
        assert_eq!(segs.len(), (round + 1).min(2) + 1);
        assert!(segs.last().unwrap().open);
        assert_eq!(
            segs.iter().map(|s| s.len_bytes).sum::<u64>(),
            segs.len() as u64 * sealed_len - sealed_len + h
        );
    }
    // Segment i starts at seq 4i; the first two rotations deleted nothing.
    let want: Vec<Vec<PathBuf>> = vec![
        vec![],
        vec![],
        vec![name(dir, 0, ".ewlog")],
        vec![name(dir, 4, ".ewlog")],
        vec![name(dir, 8, ".ewlog")],
    ];
    assert_eq!(deleted, want);
    let mut o = opts(dir);
    o.retain_bytes = 0;
    drop(w);
    // On open everything sealed goes, the new active segment stays.
    let (w, rec) = Writer::open(o, ident(), anchor(2)).unwrap();
    assert_eq!(rec.len(), 1);
    let segs = list_segments(dir).unwrap();
    assert_eq!(segs.len(), 1);
    assert_eq!(segs[0].path, w.active_path());
}

#[test]
fn a_second_writer_on_the_same_directory_is_refused_naming_dir_and_pid() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let (w, _) = Writer::open(opts(&dir), ident(), anchor(0)).unwrap();
    let err = Writer::open(opts(&dir), ident(), anchor(1)).unwrap_err();
    let pid = std::process::id().to_string();
    assert!(matches!(&err, StoreError::Locked { dir: d, holder } if *d == dir && *holder == pid));
    let msg = err.to_string();
    assert!(
        msg.contains(&dir.display().to_string()) && msg.contains(&pid),
        "{msg}"
    );
    drop(w);
    let (_w, rec) = Writer::open(opts(&dir), ident(), anchor(2)).unwrap();
    assert_eq!(rec.len(), 1, "the first writer's segment is repaired");
}

#[test]
fn an_unusable_state_directory_is_named_in_the_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    fs::write(&file, b"x").unwrap();
    let dir = file.join("state");
    let err = Writer::open(opts(&dir), ident(), anchor(0)).unwrap_err();
    assert!(matches!(&err, StoreError::DirUnusable { dir: d, .. } if *d == dir));
    assert!(err.to_string().contains(&dir.display().to_string()));
    let mut bad = opts(tmp.path());
    bad.segment_max_bytes = 0;
    let err = Writer::open(bad, ident(), anchor(0)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad store option segment_max_bytes: must be at least 1"
    );
}

#[test]
fn frames_of_a_newer_writer_are_unknown_and_kept_by_recovery() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (mut w, _) = Writer::open(opts(dir), ident(), anchor(0)).unwrap();
    w.append(&event(0)).unwrap();
    let open = w.active_path().to_path_buf();
    drop(w);
    // seq 1, Record index 4 (reserved for Run), 2 payload bytes, CRC, COBS, 0x00.
    let payload = [0x01, 0x04, 0x2a, 0x2b];
    let mut body = payload.to_vec();
    body.extend_from_slice(&crc32c(&payload).to_le_bytes());
    let mut frame = vec![0; cobs::max_encoding_length(body.len())];
    let n = cobs::encode(&body, &mut frame);
    frame.truncate(n);
    frame.push(0);
    let mut f = fs::OpenOptions::new().append(true).open(&open).unwrap();
    f.write_all(&frame).unwrap();
    let before = fs::metadata(&open).unwrap().len();
    let (w, rec) = Writer::open(opts(dir), ident(), anchor(9)).unwrap();
    assert_eq!((rec[0].good_frames, rec[0].dropped_bytes), (2, 0));
    let items = items(&rec[0].path);
    assert_eq!(
        items[1],
        Item::Unknown {
            offset: before - frame.len() as u64,
            len: frame.len() as u64,
            seq: Some(1)
        }
    );
    assert!(matches!(&items[2], Item::Frame { frame, .. } if frame.seq == 2));
    assert_eq!(w.next_seq(), 3);
}

/// CRC-32C, bit by bit, independent of the crate under test.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0x82F6_3B78 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[test]
fn an_empty_open_segment_is_quarantined_at_start_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A crash as the segment was created: the file exists with no byte in it.
    let empty = name(dir, 0, ".ewlog.open");
    fs::write(&empty, b"").unwrap();
    let (w, rec) = Writer::open(opts(dir), ident(), anchor(1_000)).unwrap();
    assert_eq!(
        rec,
        vec![Recovery {
            action: RecoveryAction::Quarantined,
            found: empty,
            path: name(dir, 0, ".ewlog.broken"),
            good_frames: 0,
            dropped_bytes: 0,
        }]
    );
    assert_eq!(w.next_seq(), 1);
}
