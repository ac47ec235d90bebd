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
use edgewatt::store::Item;
use edgewatt::store::SegmentReader;
use edgewatt::store::StoreError;
use edgewatt::store::Writer;
use edgewatt::synth::Rng;
use proptest::prelude::*;

use super::*;

/// A sealed segment of events and sample blocks, and where each frame is in it.
struct Written {
    bytes: Vec<u8>,
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
    let header = SegmentReader::open(&sealed).unwrap().header().clone();
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
        let result = read(&w.bytes[..t]);
        if t < w.body_offset {
            assert!(
                matches!(
                    result,
                    Err(StoreError::BadMagic { .. } | StoreError::BadHeader { .. })
                ),
                "cut at {t} inside the header: {result:?}"
            );
            continue;
        }
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
        assert_eq!(result.unwrap(), expected, "cut at {t}");
    }
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
        picks in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..6)
    ) {
        let w = write_segment();
        let body = w.body_offset..w.bytes.len();
        let flips: Vec<(usize, u8)> =
            picks.iter().map(|(i, b)| (body.start + i.index(body.len()), *b)).collect();
        let (damaged, changed) = flip(&w.bytes, &flips);
        // A frame survives when neither its bytes nor the 0x00 before it changed.
        let expected: Vec<Item> = w
            .frames
            .iter()
            .filter(|(off, len, _)| changed.range(off - 1..off + len).next().is_none())
            .map(frame_item)
            .collect();
        let got: Vec<Item> = read(&damaged)
            .unwrap()
            .into_iter()
            .filter(|item| !matches!(item, Item::Corrupt { .. }))
            .collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn bit_flips_in_the_header_are_rejected_naming_the_file(
        at in 0usize..40, bit in 0u8..8
    ) {
        let w = write_segment();
        let at = at % w.body_offset;
        let (damaged, _) = flip(&w.bytes, &[(at, bit)]);
        let err = read(&damaged).unwrap_err();
        prop_assert!(err.to_string().contains("damaged"), "{}", err);
        let magic_or_header = matches!(
            err,
            StoreError::BadMagic { .. } | StoreError::BadHeader { .. }
        );
        prop_assert!(magic_or_header, "{:?}", err);
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
