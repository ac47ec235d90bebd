//! A segment truncated at any byte, or with flipped bits, yields every intact frame,
//! misreads none, and never panics.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use edgewatt::record::Frame;
use edgewatt::record::Record;
use edgewatt::record::Seal;
use edgewatt::record::SealReason;
use edgewatt::store::fuzzing;
use edgewatt::store::CorruptReason;
use edgewatt::store::FrameEncoder;
use edgewatt::store::HeaderDamage;
use edgewatt::store::Item;
use edgewatt::store::Recovery;
use edgewatt::store::RecoveryAction;
use edgewatt::store::SegmentHeader;
use edgewatt::store::SegmentReader;
use edgewatt::store::StoreError;
use edgewatt::store::Writer;
use edgewatt::synth::Rng;
use proptest::prelude::*;

use super::*;

/// A sealed segment of events and sample blocks, and where each frame is in it.
struct Written {
    bytes: Vec<u8>,
    header: SegmentHeader,
    body_offset: usize,
    /// (offset, length with the closing 0x00, frame)
    frames: Vec<(usize, usize, Frame)>,
}

fn write_segment() -> &'static Written {
    static WRITTEN: OnceLock<Written> = OnceLock::new();
    WRITTEN.get_or_init(write_new_segment)
}

fn write_new_segment() -> Written {
    let tmp = tempfile::tempdir().unwrap();
    let (mut w, _) = Writer::open(opts(tmp.path()), ident(), anchor(1_000)).unwrap();
    let records = [
        event(0),
        samples(50, 1),
        event(2),
        samples(7, 2),
        event(4),
        event(5),
        samples(1, 3),
        event(7),
    ];
    for r in &records {
        w.append(r).unwrap();
    }
    let sealed = w.close(SealReason::Shutdown, 9_000_000).unwrap();
    let bytes = std::fs::read(&sealed).unwrap();

    let mut enc = FrameEncoder::new();
    let header = SegmentReader::open(&sealed)
        .unwrap()
        .header()
        .unwrap()
        .clone();
    let body_offset = 9 + enc.encode(&header).unwrap().len();
    let seal = Record::Seal(Seal {
        reason: SealReason::Shutdown,
        frames: 8,
        dropped_bytes: 0,
        mono_us: 9_000_000,
    });
    let mut frames = Vec::new();
    let mut at = body_offset;
    for (seq, record) in records.into_iter().chain([seal]).enumerate() {
        let frame = Frame {
            seq: seq as u64,
            record,
        };
        let len = enc.encode(&frame).unwrap().len();
        frames.push((at, len, frame));
        at += len;
    }
    assert_eq!(at, bytes.len(), "frames tile the file exactly");
    Written {
        bytes,
        header,
        body_offset,
        frames,
    }
}

fn read(bytes: &[u8]) -> Result<Vec<Item>, StoreError> {
    SegmentReader::from_bytes(Path::new("damaged"), bytes.to_vec()).map(|r| r.items().collect())
}

fn frame_item(&(offset, len, ref frame): &(usize, usize, Frame)) -> Item {
    Item::Frame {
        offset: offset as u64,
        len: len as u64,
        frame: frame.clone(),
    }
}

#[test]
fn an_intact_segment_reads_back_exactly() {
    let w = write_segment();
    let expected: Vec<Item> = w.frames.iter().map(frame_item).collect();
    assert_eq!(read(&w.bytes).unwrap(), expected);
}

#[test]
fn every_truncation_point_yields_exactly_the_frames_before_it() {
    let w = write_segment();
    for t in 0..=w.bytes.len() {
        let reader = SegmentReader::from_bytes(Path::new("cut"), w.bytes[..t].to_vec()).unwrap();
        let result: Vec<Item> = reader.items().collect();
        if t < w.body_offset {
            // Cut inside magic or header: no header, nothing after it.
            assert_eq!(reader.header(), None, "cut at {t}");
            let damage = if t == 0 {
                HeaderDamage::Empty
            } else if t < 9 {
                HeaderDamage::Magic
            } else {
                HeaderDamage::Frame(CorruptReason::Unterminated)
            };
            assert_eq!(reader.header_damage(), Some(damage), "cut at {t}");
            assert_eq!(result, vec![], "cut at {t}");
            continue;
        }
        assert_eq!(reader.header(), Some(&w.header), "cut at {t}");
        let mut expected: Vec<Item> = w
            .frames
            .iter()
            .filter(|(off, len, _)| off + len <= t)
            .map(frame_item)
            .collect();
        let whole_end = expected.last().map_or(w.body_offset, |i| i.end() as usize);
        if t > whole_end {
            expected.push(Item::Corrupt {
                offset: whole_end as u64,
                len: (t - whole_end) as u64,
                reason: CorruptReason::Unterminated,
            });
        }
        assert_eq!(result, expected, "cut at {t}");
    }
}

/// The reviewer's case: one flipped bit in the header (byte 20, inside the anchor) loses
/// the header — device, boot, anchor — and nothing else.
#[test]
fn a_flipped_bit_in_the_header_loses_only_the_header() {
    let w = write_segment();
    let all: Vec<Item> = w.frames.iter().map(frame_item).collect();
    for (at, bit, damage) in [
        (20, 0, Some(HeaderDamage::Frame(CorruptReason::Crc))),
        (9, 3, Some(HeaderDamage::Frame(CorruptReason::Cobs))),
        (
            w.body_offset - 2,
            7,
            Some(HeaderDamage::Frame(CorruptReason::Crc)),
        ),
        // The magic's 0x00: the header frame cannot be found.
        (8, 0, Some(HeaderDamage::Magic)),
        // A letter of the magic: the header frame is still found, and its CRC holds.
        (2, 5, None),
    ] {
        let (damaged, _) = flip(&w.bytes, &[(at, bit)]);
        let reader = SegmentReader::from_bytes(Path::new("damaged"), damaged).unwrap();
        assert_eq!(reader.header_damage(), damage, "flip at {at}");
        assert_eq!(reader.header().is_none(), damage.is_some(), "flip at {at}");
        assert_eq!(reader.body_offset(), w.body_offset as u64, "flip at {at}");
        assert_eq!(reader.items().collect::<Vec<_>>(), all, "flip at {at}");
    }
    // The header's closing 0x00 merges it with the first frame: that frame goes too.
    let (damaged, _) = flip(&w.bytes, &[(w.body_offset - 1, 0)]);
    let got: Vec<Item> = read(&damaged)
        .unwrap()
        .into_iter()
        .filter(Item::is_intact)
        .collect();
    assert_eq!(got, all[1..].to_vec());
}

/// Flips `flips` (byte offset, bit) in a copy of `bytes`; returns it and the changed offsets.
fn flip(bytes: &[u8], flips: &[(usize, u8)]) -> (Vec<u8>, BTreeSet<usize>) {
    let mut out = bytes.to_vec();
    for &(at, bit) in flips {
        out[at] ^= 1 << bit;
    }
    let changed = (0..out.len()).filter(|&i| out[i] != bytes[i]).collect();
    (out, changed)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn bit_flips_lose_only_the_frames_they_touch(
        picks in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..6),
        in_header in any::<bool>(),
    ) {
        let w = write_segment();
        // Half the cases aim one flip at magic and header, which are a small target.
        let mut flips: Vec<(usize, u8)> =
            picks.iter().map(|(i, b)| (i.index(w.bytes.len()), *b)).collect();
        if in_header {
            flips[0].0 %= w.body_offset;
        }
        let (damaged, changed) = flip(&w.bytes, &flips);
        // A frame survives when neither its bytes nor the 0x00 before it changed.
        let expected: Vec<Item> = w
            .frames
            .iter()
            .filter(|(off, len, _)| changed.range(off - 1..off + len).next().is_none())
            .map(frame_item)
            .collect();
        let reader = SegmentReader::from_bytes(Path::new("damaged"), damaged).unwrap();
        let got: Vec<Item> = reader.items().filter(Item::is_intact).collect();
        prop_assert_eq!(got, expected);
        // The header survives unless its frame or the magic's 0x00 changed (its letters
        // are not needed); a damaged header is never misread.
        let header_touched = changed.range(8..w.body_offset).next().is_some();
        prop_assert_eq!(reader.header().is_none(), header_touched);
        if let Some(h) = reader.header() {
            prop_assert_eq!(h, &w.header);
        }
    }
}

/// The body of the cargo-fuzz target, on stable Rust, over seeded inputs: random bytes
/// and mutations (flips, cuts, splices, insertions) of a real segment.
#[test]
fn fuzz_body_over_seeded_inputs() {
    let w = write_segment();
    // Reader: 9 frames; scan from offset 0: the magic is one corrupt item, the header
    // payload is CRC-valid but no record (Unknown), then the 9 frames.
    assert_eq!(fuzzing::decode_segment(&w.bytes), 9 + 1 + 9);
    let mut rng = Rng::new(2026);
    for case in 0..4000u64 {
        let input = match case % 5 {
            0 => (0..rng.below(600)).map(|_| rng.below(256) as u8).collect(),
            1 => {
                let mut b = w.bytes.clone();
                for _ in 0..=rng.below(8) {
                    let at = rng.below(b.len() as u64) as usize;
                    b[at] ^= 1 << rng.below(8);
                }
                b
            }
            2 => w.bytes[..rng.below(w.bytes.len() as u64) as usize].to_vec(),
            3 => {
                let (a, b) = (
                    rng.below(w.bytes.len() as u64),
                    rng.below(w.bytes.len() as u64),
                );
                let mut out = w.bytes[..a.min(b) as usize].to_vec();
                out.extend_from_slice(&w.bytes[a.max(b) as usize..]);
                out
            }
            _ => {
                let mut b = w.bytes.clone();
                let at = rng.below(b.len() as u64) as usize;
                let junk: Vec<u8> = (0..rng.below(40)).map(|_| rng.below(256) as u8).collect();
                b.splice(at..at, junk);
                b
            }
        };
        let intact = fuzzing::decode_segment(&input);
        assert!(intact <= 2 * input.len(), "case {case}");
    }
}

/// Recovery at start keeps the frames of an open segment whose header is damaged: it is
/// truncated after its last intact frame and sealed like any other, not quarantined.
#[test]
fn recovery_seals_a_segment_with_a_damaged_header_and_keeps_its_frames() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (mut w, _) = Writer::open(opts(dir), ident(), anchor(1_000)).unwrap();
    for n in 0..3 {
        w.append(&event(n)).unwrap();
    }
    w.sync().unwrap();
    let open = w.active_path().to_path_buf();
    drop(w); // killed: no seal
    let mut bytes = std::fs::read(&open).unwrap();
    bytes[20] ^= 1; // inside the header's anchor
    bytes.extend_from_slice(&[0x05, 0x01]); // a torn frame
    std::fs::write(&open, &bytes).unwrap();

    let (w, rec) = Writer::open(opts(dir), ident(), anchor(50_000)).unwrap();
    let sealed = dir.join(format!("{:020}.ewlog", 0));
    assert_eq!(
        rec,
        vec![Recovery {
            action: RecoveryAction::Sealed,
            found: open,
            path: sealed.clone(),
            good_frames: 3,
            dropped_bytes: 2,
        }]
    );
    let reader = SegmentReader::open(&sealed).unwrap();
    assert_eq!(
        reader.header_damage(),
        Some(HeaderDamage::Frame(CorruptReason::Crc))
    );
    let mut want: Vec<Frame> = (0..3)
        .map(|n| Frame {
            seq: n,
            record: event(n),
        })
        .collect();
    want.push(Frame {
        seq: 3,
        record: Record::Seal(Seal {
            reason: SealReason::Recovered,
            frames: 3,
            dropped_bytes: 2,
            mono_us: 50_000,
        }),
    });
    assert_eq!(frames(&sealed), want);
    assert_eq!(
        w.next_seq(),
        4,
        "seq resumes after the damaged segment's frames"
    );
}
