//! Damaged headers, corrupt, unknown and torn frames, lost chains: each skip named with its
//! file and offset, counted, and never misread.

use super::*;
use crate::record::SampleBlock;
use crate::store::CorruptReason;
use crate::store::FrameEncoder;
use crate::store::HeaderDamage;

#[test]
fn a_damaged_header_loses_device_boot_and_wall_until_a_clock_step() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // An intact segment of the same boot before it: its anchor is not borrowed.
    session(dir, "pi", "b", S, &[event(2 * S, 0)]);
    let step_offset = WALL0 + 3_600_000_000;
    let damaged = session(
        dir,
        "pi",
        "b",
        200 * S,
        &[
            key_block(&samples(201 * S, 5, 1)),
            event(202 * S, 1),
            clock_step(203 * S, step_offset),
            event(204 * S, 2),
        ],
    );
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes[20] ^= 1; // inside the header's anchor
    std::fs::write(&damaged, &bytes).unwrap();
    let body = frame_spans(&damaged)[0].0;

    let (items, damage) = read_all(&LogSource::dir(dir), Filter::default());
    assert_eq!(damage.damaged_headers, 1);
    assert!(damage.is_damaged());
    let header_skip = skips(&items)[0];
    assert_eq!(
        (&header_skip.path, header_skip.offset, header_skip.len),
        (&damaged, 0, body)
    );
    assert_eq!(
        header_skip.kind,
        SkipKind::Header(HeaderDamage::Frame(CorruptReason::Crc))
    );
    let metas = segments(&items);
    assert_eq!((metas[0].boot, metas[1].boot), (0, 1), "a boot of its own");
    assert_eq!(metas[1].device_id(), None);

    let no_anchor = Wall::Unknown(WallUnknown::NoAnchor(HeaderDamage::Frame(
        CorruptReason::Crc,
    )));
    let walls: Vec<(Option<u64>, Wall)> = entries(&items)
        .iter()
        .filter(|e| e.segment().boot == 1)
        .map(|e| (e.mono_us, e.wall))
        .collect();
    let mut want: Vec<(Option<u64>, Wall)> = (0..5)
        .map(|i| (Some(201 * S + i * 100_000), no_anchor))
        .collect();
    want.push((Some(202 * S), no_anchor));
    for t in [203 * S, 204 * S, 300 * S] {
        want.push((Some(t), Wall::At(step_offset + t as i64)));
    }
    assert_eq!(walls, want, "samples, event, step, event, seal");

    // A device filter cannot place the damaged segment: left out, its damage reported.
    let only_pi = Filter {
        devices: vec!["pi".into()],
        ..Filter::default()
    };
    let (items, damage) = read_all(&LogSource::dir(dir), only_pi);
    assert_eq!(entries(&items).len(), 2);
    assert_eq!(damage.damaged_headers, 1);
}

/// Writes events 0..5 into one segment, flips a byte inside frame 1 and splices a frame of
/// an unknown record type (variant 99) in after frame 2.
#[test]
fn corrupt_and_unknown_frames_are_skipped_at_their_offsets() {
    let tmp = tempfile::tempdir().unwrap();
    let recs: Vec<Record> = (0..5).map(|i| event((2 + i) * S, i)).collect();
    let path = session(tmp.path(), "pi", "b", S, &recs);
    let spans = frame_spans(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    let (f1, f1_len) = spans[1];
    bytes[(f1 + 2) as usize] ^= 0x10;
    let newer = FrameEncoder::new()
        .encode(&(1_000u64, 99u32, 7u8))
        .unwrap()
        .to_vec();
    let at = (spans[2].0 + spans[2].1) as usize;
    bytes.splice(at..at, newer.iter().copied());
    std::fs::write(&path, &bytes).unwrap();

    let (items, damage) = read_all(&LogSource::segment(&path), Filter::default());
    let got: Vec<(u64, Option<u64>, &SkipKind)> = skips(&items)
        .iter()
        .map(|s| (s.offset, s.seq, &s.kind))
        .collect();
    assert_eq!(
        got,
        [
            (f1, None, &SkipKind::Corrupt(CorruptReason::Crc)),
            (at as u64, Some(1_000), &SkipKind::Unknown)
        ]
    );
    assert_eq!(skips(&items)[0].len, f1_len);
    assert!(skips(&items)[0]
        .to_string()
        .contains(&format!("corrupt bytes at offset {f1} skipped")));
    assert_eq!((damage.corrupt_frames, damage.unknown_frames), (1, 1));
    let seqs: Vec<u64> = entries(&items).iter().map(|e| e.origin.seq).collect();
    assert_eq!(seqs, [0, 2, 3, 4, 5], "every other frame, the seal last");

    // An unknown frame alone is not damage: a newer writer's record.
    let clean = tmp.path().join("newer");
    let path = session(&clean, "pi", "b", S, &recs);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.splice(at..at, newer.iter().copied());
    std::fs::write(&path, &bytes).unwrap();
    let (_, damage) = read_all(&LogSource::dir(&clean), Filter::default());
    assert_eq!(damage.unknown_frames, 1);
    assert!(!damage.is_damaged());
}

/// Key blocks every 30 samples, blocks of 10: K C C K C. The first key block is corrupt:
/// its two continuations are lost with it, the next key block reads again.
#[test]
fn a_lost_key_block_takes_its_chain_and_nothing_more() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = crate::config::StoreConfig::default().options(tmp.path().to_path_buf());
    let (mut w, _) = Writer::open(opts, ident("pi", "b"), anchor(S)).unwrap();
    let all = samples(2 * S, 50, 3);
    let mut b = SampleBlockBuilder::with_key_every(layout(), 30);
    for chunk in all.chunks(10) {
        for s in chunk {
            b.push(s).unwrap();
        }
        let block = b.finish().unwrap();
        let seq = w.append(&Record::Samples(block)).unwrap();
        b.committed(seq);
    }
    let path = w.close(SealReason::Shutdown, 10 * S).unwrap();
    let spans = frame_spans(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[(spans[0].0 + 5) as usize] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();

    let (items, damage) = read_all(&LogSource::dir(tmp.path()), Filter::default());
    let kinds: Vec<(u64, &SkipKind)> = skips(&items).iter().map(|s| (s.offset, &s.kind)).collect();
    let lost = |base_seq| SkipKind::Block {
        kind: BlockKind::Sample,
        why: BlockSkip::LostChain { base_seq },
        records: 10,
    };
    assert_eq!(
        kinds,
        [
            (spans[0].0, &SkipKind::Corrupt(CorruptReason::Crc)),
            (spans[1].0, &lost(0)),
            (spans[2].0, &lost(1)),
        ]
    );
    assert!(skips(&items)[1]
        .to_string()
        .contains("unreadable up to the next key block"));
    assert_eq!((damage.lost_chain_blocks, damage.samples_skipped), (2, 20));
    let read: Vec<(&Sample, u64)> = entries(&items)
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::Sample {
                sample, key_offset, ..
            } => Some((&**sample, *key_offset)),
            _ => None,
        })
        .collect();
    let want: Vec<(&Sample, u64)> = all[30..].iter().map(|s| (s, spans[3].0)).collect();
    assert_eq!(
        read, want,
        "samples 30..50, decoded from the second key block"
    );
}

#[test]
fn an_open_segments_unterminated_tail_is_not_damage_but_a_sealed_ones_is() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("live");
    let opts = crate::config::StoreConfig::default().options(dir.clone());
    let (mut w, _) = Writer::open(opts, ident("pi", "b"), anchor(S)).unwrap();
    w.append(&event(2 * S, 0)).unwrap();
    w.sync().unwrap();
    let open = w.active_path().to_path_buf();
    let mut bytes = std::fs::read(&open).unwrap();
    bytes.extend_from_slice(&[0x05, 0x01, 0x02]); // a frame being written
    std::fs::write(&open, &bytes).unwrap();

    let (items, damage) = read_all(&LogSource::dir(&dir), Filter::default());
    assert!(segments(&items)[0].open);
    assert_eq!(entries(&items).len(), 1);
    assert_eq!(skips(&items)[0].kind, SkipKind::LiveTail);
    assert_eq!(skips(&items)[0].offset, bytes.len() as u64 - 3);
    assert_eq!(damage.live_tail_bytes, 3);
    assert!(
        !damage.is_damaged(),
        "a live daemon's directory reads clean"
    );
    drop(w);

    // The same bytes as a sealed segment: cut short, damage. So is one cut at a frame
    // boundary, which has no torn piece to show but no seal either.
    let sealed = tmp.path().join("00000000000000000000.ewlog");
    std::fs::write(&sealed, &bytes).unwrap();
    let (items, damage) = read_all(&LogSource::segment(&sealed), Filter::default());
    // Cut inside a frame: the torn piece, and the truncation (rev-c: only the torn piece
    // was told, "31 corrupt bytes", for half a segment gone).
    let kinds: Vec<SkipKind> = skips(&items).iter().map(|s| s.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            SkipKind::Corrupt(CorruptReason::Unterminated),
            SkipKind::Truncated
        ]
    );
    assert!(damage.is_damaged());
    assert_eq!(damage.truncated_segments, 1);
    std::fs::write(&sealed, &bytes[..bytes.len() - 3]).unwrap();
    let (items, damage) = read_all(&LogSource::segment(&sealed), Filter::default());
    assert_eq!(skips(&items)[0].kind, SkipKind::Truncated);
    assert_eq!(damage.truncated_segments, 1);

    // Torn bytes after the seal: a segment sealed whole, junk after it, no cut (rev-d).
    let whole = tmp.path().join("whole");
    std::fs::create_dir(&whole).unwrap();
    let path = session(&whole, "pi", "b", S, &[event(2 * S, 0)]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0x05, 0x01, 0x02]);
    std::fs::write(&path, &bytes).unwrap();
    let (items, damage) = read_all(&LogSource::segment(&path), Filter::default());
    let kinds: Vec<SkipKind> = skips(&items).iter().map(|s| s.kind.clone()).collect();
    assert_eq!(kinds, [SkipKind::Corrupt(CorruptReason::Unterminated)]);
    assert_eq!(damage.truncated_segments, 0);
}

#[test]
fn blocks_of_a_newer_codec_are_skipped_as_newer_and_bad_power_blocks_as_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let Record::Samples(block) = key_block(&samples(2 * S, 4, 1)) else {
        unreachable!()
    };
    let newer = Record::Samples(SampleBlock { codec: 9, ..block });
    let Record::Power(mut bad) = power(&[2 * S, 3 * S]) else {
        unreachable!()
    };
    bad.data.truncate(2);
    session(tmp.path(), "pi", "b", S, &[newer, Record::Power(bad)]);
    let (items, damage) = read_all(&LogSource::dir(tmp.path()), Filter::default());
    assert_eq!(damage.newer_blocks, 1);
    assert_eq!(damage.undecodable_blocks, 1);
    assert_eq!(
        (damage.samples_skipped, damage.power_readings_skipped),
        (4, 2)
    );
    assert!(damage.is_damaged());
    assert_eq!(entries(&items).len(), 1, "the seal");
    // Left out by the filter, blocks are not decoded and so not reported.
    let (_, damage) = read_all(
        &LogSource::dir(tmp.path()),
        Filter::kinds(&[RecordKind::Seal]),
    );
    assert_eq!(damage, DamageCounts::default());
}

/// With a first seq (one daemon session), a corrupt piece is reported only if it may be
/// one of the frames asked for: the seq of the next intact frame places it (a piece that
/// cannot be placed is reported).
#[test]
fn a_first_seq_places_corrupt_pieces_by_the_next_intact_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let recs: Vec<Record> = (0..6).map(|i| event((2 + i) * S, i)).collect();
    let path = session(tmp.path(), "pi", "b", S, &recs);
    let spans = frame_spans(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    for f in [1, 3] {
        bytes[(spans[f].0 + 2) as usize] ^= 0x10;
    }
    std::fs::write(&path, &bytes).unwrap();
    let from_3 = Filter {
        min_seq: Some(3),
        ..Filter::default()
    };
    let (items, damage) = read_all(&LogSource::dir(tmp.path()), from_3);
    let at: Vec<u64> = skips(&items).iter().map(|s| s.offset).collect();
    assert_eq!(
        at,
        [spans[3].0],
        "seq 2 comes before the session, seq 3 is in it"
    );
    assert_eq!(damage.corrupt_frames, 1);
    let seqs: Vec<u64> = entries(&items).iter().map(|e| e.origin.seq).collect();
    assert_eq!(seqs, [4, 5, 6]);
}

/// A frame of a kind the reader does not want is checked but not decoded: one that would
/// not decode (a sample, power or run variant with junk after it) is reported by the
/// readers that want its kind, once also when the index reads blocks and records on two
/// threads, and not by a reader that wants other kinds only.
#[test]
fn an_undecodable_frame_is_reported_by_the_readers_that_want_its_kind() {
    let all = [
        RecordKind::Sample,
        RecordKind::Power,
        RecordKind::Event,
        RecordKind::Run,
    ];
    for (variant, kind) in [
        (0u32, RecordKind::Sample),
        (3, RecordKind::Power),
        (5, RecordKind::Run),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let mut recs: Vec<Record> = (0..3).map(|i| event((2 + i) * S, i)).collect();
        recs.push(key_block(&samples(6 * S, 10, 1)));
        recs.push(power(&[7 * S, 8 * S]));
        let path = session(tmp.path(), "pi", "b", S, &recs);
        let spans = frame_spans(&path);
        let mut bytes = std::fs::read(&path).unwrap();
        let bad = FrameEncoder::new()
            .encode(&(1_000u64, variant, 7u8))
            .unwrap()
            .to_vec();
        let at = (spans[2].0 + spans[2].1) as usize;
        bytes.splice(at..at, bad.iter().copied());
        std::fs::write(&path, &bytes).unwrap();
        let source = LogSource::segment(&path);
        let unknown = |filter: Filter| read_all(&source, filter).1.unknown_frames;
        assert_eq!(unknown(Filter::default()), 1, "{kind:?}");
        assert_eq!(unknown(Filter::kinds(&[kind])), 1, "{kind:?}");
        assert_eq!(unknown(Filter::kinds(&[RecordKind::Event])), 0, "{kind:?}");
        let index = LogIndex::build(&source, Filter::kinds(&all)).unwrap();
        let skipped: Vec<&SkipKind> = index.skips().iter().map(|s| &s.kind).collect();
        assert_eq!(skipped, [&SkipKind::Unknown], "{kind:?}");
        let (one, _) = LogIndex::build_one(&source, Filter::kinds(&all)).unwrap();
        assert_eq!(
            index.skips(),
            one.skips(),
            "{kind:?}: two threads as one reader"
        );
        assert_eq!(index.damage(), one.damage(), "{kind:?}");
    }
}
