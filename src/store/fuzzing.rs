//! The body of the `decode_segment` fuzz target (fuzz/), shared with a stable-Rust test
//! that runs it over seeded random inputs. Not part of the supported API.

use std::path::Path;

use super::frame::decode_frame;
use super::frame::Decoded;
use super::FrameEncoder;
use super::Item;
use super::SegmentReader;
use super::StoreError;
use crate::record::FrameKind;
use crate::record::Record;

/// Feeds `data` to the segment reader (header and frames), to the frame scanner from
/// offset 0, and to the frame decoder as one frame body. Panics only when an invariant
/// breaks: the reader refuses nothing but a newer format version, items must tile the
/// input in order, and every decoded frame must survive a re-encode round trip. Returns the number of intact frames seen.
pub fn decode_segment(data: &[u8]) -> usize {
    let mut intact = 0;
    match SegmentReader::from_bytes(Path::new("fuzz-input"), data.to_vec()) {
        Ok(reader) => {
            assert_eq!(
                reader.header().is_none(),
                reader.header_damage().is_some(),
                "a header, or why there is none"
            );
            intact += check_items(reader.items(), reader.body_offset(), data.len());
        }
        // The only refusal: an intact header of a newer format.
        Err(StoreError::UnsupportedVersion { .. }) => {}
        Err(e) => panic!("a damaged segment must still be read: {e}"),
    }
    intact += check_items(super::scan_frames(data, 0), 0, data.len());
    check_passing(data);
    let mut scratch = Vec::new();
    if let Decoded::Frame(frame) = decode_frame(data, &mut scratch) {
        check_round_trip(&frame);
    }
    intact
}

fn check_items(items: super::Items<'_>, start: u64, len: usize) -> usize {
    let mut pos = start;
    let mut intact = 0;
    for item in items {
        assert!(item.offset() >= pos, "items out of order");
        assert!(item.end() > item.offset(), "empty item");
        assert!(item.end() <= len as u64, "item past the end");
        pos = item.end();
        if item.is_intact() {
            intact += 1;
        }
        if let Item::Frame { frame, .. } = item {
            check_round_trip(&frame);
        }
    }
    intact
}

/// Passing over some kinds changes nothing but those frames: each becomes `Passed` with
/// the place and seq of the intact frame the full scan finds there (decodable or not: it
/// is not decoded), and a kind asked for.
fn check_passing(data: &[u8]) {
    let pass = [FrameKind::Samples, FrameKind::Power, FrameKind::Run];
    let full = super::scan_frames(data, 0);
    for (all, passed) in full.zip(super::scan_frames(data, 0).passing(&pass)) {
        let Item::Passed { seq, kind, .. } = passed else {
            assert_eq!(all, passed, "a frame not passed over reads as ever");
            continue;
        };
        let full_seq = match &all {
            Item::Frame { frame, .. } => Some(frame.seq),
            Item::Unknown { seq, .. } => *seq,
            _ => None,
        };
        assert_eq!(
            full_seq,
            Some(seq),
            "a passed frame is intact, with its seq"
        );
        assert!(pass.contains(&kind), "only the kinds asked are passed");
        assert_eq!((all.offset(), all.end()), (passed.offset(), passed.end()));
    }
}

fn check_round_trip(frame: &crate::record::Frame) {
    let mut enc = FrameEncoder::new();
    let bytes = enc
        .encode(frame)
        .expect("a decoded frame encodes again")
        .to_vec();
    let mut scratch = Vec::new();
    let again = decode_frame(&bytes[..bytes.len() - 1], &mut scratch);
    assert_eq!(
        again,
        Decoded::Frame(frame.clone()),
        "round trip changed a frame"
    );
    // Must not panic, whatever the (CRC-valid) block says.
    match &frame.record {
        Record::Samples(block) => drop(block.decode()),
        Record::Power(block) => drop(block.decode()),
        _ => {}
    }
}
