//! Golden bytes: the exact on-disk encoding of a header, an Event and a Samples frame.
//! The header and Event bytes were computed independently of this crate (a 30-line
//! Python reference of postcard varints, CRC-32C and COBS); docs/FORMAT.md walks through
//! the Event frame byte by byte.

use super::frame::crc32c;
use super::frame::unframe;
use super::*;
use crate::clock::Anchor;
use crate::record::Event;
use crate::record::EventKind;
use crate::record::Frame;
use crate::record::Record;
use crate::record::SampleBlockBuilder;
use crate::sampler::Sample;
use crate::sampler::SampleLayout;

/// Encodes `frame`, compares with `golden`, and decodes `golden` back to `frame`.
fn test_one(frame: &Frame, golden: &[u8]) {
    let mut enc = FrameEncoder::new();
    let bytes = enc.encode(frame).unwrap();
    assert_eq!(bytes, golden, "encoding of {frame:?}");
    let (body, end) = golden.split_at(golden.len() - 1);
    assert_eq!(end, [0]);
    assert!(!body.contains(&0), "COBS leaves no 0x00 inside a frame");
    let mut scratch = Vec::new();
    assert_eq!(
        decode_frame(body, &mut scratch),
        Decoded::Frame(frame.clone())
    );
}

#[test]
fn crc32c_is_castagnoli() {
    // The standard check value of CRC-32C (iSCSI).
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
}

#[test]
fn golden_header_frame() {
    let header = SegmentHeader {
        format_version: 1,
        device_id: "dev".into(),
        boot_id: "b1".into(),
        anchor: Anchor {
            mono_us: 5_000_000,
            wall_unix_us: 1_700_000_000_000_000,
        },
        first_seq: 42,
        writer: "0.1.0".into(),
        host: "pi".into(),
    };
    #[rustfmt::skip]
    let golden = [
        0x23, // COBS: 34 non-zero bytes follow, then the frame ends
        0x01, // format_version 1
        0x03, b'd', b'e', b'v', // device_id
        0x02, b'b', b'1', // boot_id
        0xc0, 0x96, 0xb1, 0x02, // anchor.mono_us 5_000_000 (varint)
        0x80, 0x80, 0xf2, 0x81, 0x83, 0x89, 0x85, 0x06, // anchor.wall_unix_us (zigzag varint)
        0x2a, // first_seq 42
        0x05, b'0', b'.', b'1', b'.', b'0', // writer
        0x02, b'p', b'i', // host
        0x9d, 0x10, 0x4e, 0xef, // CRC-32C of the payload, LE
        0x00,
    ];
    let bytes = FrameEncoder::new().encode(&header).unwrap().to_vec();
    assert_eq!(bytes, golden);
    let mut file = MAGIC.to_vec();
    file.push(0);
    file.extend_from_slice(&golden);
    let reader = SegmentReader::from_bytes(std::path::Path::new("golden"), file).unwrap();
    assert_eq!(reader.header(), Some(&header));
    assert_eq!(reader.body_offset(), 9 + 36);
    assert_eq!(reader.items().count(), 0);
}

#[test]
fn golden_event_frame() {
    let frame = Frame {
        seq: 300,
        record: Record::Event(Event {
            mono_us: 1_000_000,
            kind: EventKind::Stop {
                reason: "SIGTERM".into(),
            },
        }),
    };
    #[rustfmt::skip]
    test_one(&frame, &[
        0x14, // COBS: 19 non-zero bytes follow
        0xac, 0x02, // seq 300
        0x01, // Record::Event
        0xc0, 0x84, 0x3d, // mono_us 1_000_000
        0x01, // EventKind::Stop
        0x07, b'S', b'I', b'G', b'T', b'E', b'R', b'M', // reason
        0xe6, 0x84, 0x75, 0x32, // CRC-32C, LE
        0x00,
    ]);
}

#[test]
fn golden_samples_frame() {
    let layout = SampleLayout {
        cpus: 1,
        ..SampleLayout::default()
    };
    let mut a = Sample::empty(&layout);
    a.tick = 7;
    a.mono_us = 1_000_000;
    a.cpu[0].user = 100;
    a.cpu[0].idle = 900;
    a.mem.total = 8_000_000;
    a.mem.available = 7_000_000;
    a.valid = 0b11;
    let mut b = a.clone();
    b.tick = 8;
    b.mono_us = 1_100_000;
    b.cpu[0].user = 103;
    b.cpu[0].idle = 907;
    b.mem.available = 6_999_996;
    let mut builder = SampleBlockBuilder::new(layout);
    builder.push(&a).unwrap();
    builder.push(&b).unwrap();
    let block = builder.finish().unwrap();
    let frame = Frame {
        seq: 5,
        record: Record::Samples(block),
    };
    // seq 5, Record::Samples, BlockBase::Key with layout {cpus 1, procs [], zones [],
    // policies [], throttled false}, count 2, codec 1, then the deflated column varints.
    // (The deflate bytes pin miniz_oxide's output; decoding them is what must never change.)
    test_one(&frame, &GOLDEN_SAMPLES);
    let Record::Samples(block) = &frame.record else {
        unreachable!()
    };
    assert_eq!(block.decode().unwrap(), vec![a, b]);
}

#[rustfmt::skip]
const GOLDEN_SAMPLES: [u8; 63] = [
    // Each COBS code byte (marked "code") counts the bytes up to a 0x00 of the payload,
    // which it replaces.
    0x02, 0x05, // code; seq 5; then 0x00 = Record::Samples (index 0)
    0x01, // code; 0x00 = BlockBase::Key (index 0)
    0x02, 0x01, // code; layout.cpus 1; then 0x00 = procs: length 0
    0x01, // code; 0x00 = thermal_zones: length 0
    0x01, // code; 0x00 = cpufreq: length 0
    0x01, // code; 0x00 = throttled false
    0x08, 0x02, 0x01, // code; count 2; codec 1 (columns + deflate)
    0x2e, 0x3d, 0xc0, 0xb1, 0x15, // data: length 46; data[0..4]; then 0x00 = data[4]
    // code (45 bytes up to the end of the frame): data[5..46], then the CRC
    0x2e, 0x10, 0x0c, 0x04, 0xd0, 0xa3, 0x48, 0x1a, 0x2f, 0x53, 0x98, 0x52,
    0x75, 0x25, 0x2b, 0x58, 0x86, 0x32, 0xa5, 0xca, 0x3c, 0x14, 0x9e, 0x9f,
    0x2d, 0xb2, 0x95, 0xd9, 0x93, 0x07, 0xc1, 0x55, 0xcd, 0xf0, 0xd0, 0x97,
    0x82, 0x63, 0x8b, 0xe2, 0x13, 0x1c,
    0x8d, 0xee, 0x68, 0x1c, // CRC-32C, LE
    0x00,
];

#[test]
fn a_good_crc_on_an_unknown_variant_is_unknown_not_corrupt() {
    // seq 9, Record index 7 (not defined), some bytes: CRC-valid, undecodable.
    let payload = [0x09, 0x07, 0x01, 0x02];
    let mut body = payload.to_vec();
    body.extend_from_slice(&crc32c(&payload).to_le_bytes());
    let mut encoded = vec![0; cobs::max_encoding_length(body.len())];
    let n = cobs::encode(&body, &mut encoded);
    let mut scratch = Vec::new();
    assert_eq!(
        decode_frame(&encoded[..n], &mut scratch),
        Decoded::Unknown { seq: Some(9) }
    );
    encoded[2] ^= 0x10;
    assert_eq!(
        decode_frame(&encoded[..n], &mut scratch),
        Decoded::Corrupt(CorruptReason::Crc)
    );
    assert_eq!(
        unframe(&[0x02, 0x05], &mut scratch),
        Err(CorruptReason::TooShort)
    );
    assert_eq!(
        unframe(&[0x09, 0x05], &mut scratch),
        Err(CorruptReason::Cobs)
    );
}

/// Frames of the kinds passed over keep their place, length and seq, are still checked
/// (a damaged one is corrupt, not passed), and are not decoded; the others decode as ever.
#[test]
fn frames_passed_over_are_checked_but_not_decoded() {
    use crate::record::FrameKind;
    let layout = SampleLayout {
        cpus: 2,
        ..SampleLayout::default()
    };
    let mut block = SampleBlockBuilder::new(layout.clone());
    block.push(&Sample::empty(&layout)).unwrap();
    let records = [
        Record::Event(Event {
            mono_us: 5,
            kind: EventKind::Stop {
                reason: "test".into(),
            },
        }),
        Record::Samples(block.finish().unwrap()),
        Record::Event(Event {
            mono_us: 6,
            kind: EventKind::Stop {
                reason: "test".into(),
            },
        }),
    ];
    let mut bytes = Vec::new();
    let mut enc = FrameEncoder::new();
    for (seq, record) in (40..).zip(records) {
        bytes.extend(enc.encode(&Frame { seq, record }).unwrap());
    }
    let all: Vec<Item> = scan_frames(&bytes, 0).collect();
    let passed: Vec<Item> = scan_frames(&bytes, 0)
        .passing(&[FrameKind::Samples, FrameKind::Run])
        .collect();
    assert_eq!(passed.len(), 3);
    assert_eq!((&passed[0], &passed[2]), (&all[0], &all[2]));
    assert_eq!(
        passed[1],
        Item::Passed {
            offset: all[1].offset(),
            len: all[1].end() - all[1].offset(),
            seq: 41,
            kind: FrameKind::Samples,
        }
    );
    let flip = passed[1].offset() as usize + 3;
    bytes[flip] = bytes[flip].wrapping_add(1).max(1);
    let damaged: Vec<Item> = scan_frames(&bytes, 0)
        .passing(&[FrameKind::Samples])
        .collect();
    assert!(
        matches!(damaged[1], Item::Corrupt { .. }),
        "{:?}",
        damaged[1]
    );
}

#[test]
fn a_newer_format_version_is_refused_naming_the_file() {
    let header = SegmentHeader {
        format_version: 2,
        device_id: String::new(),
        boot_id: String::new(),
        anchor: Anchor {
            mono_us: 0,
            wall_unix_us: 0,
        },
        first_seq: 0,
        writer: "9.0.0".into(),
        host: String::new(),
    };
    let mut file = MAGIC.to_vec();
    file.push(0);
    file.extend_from_slice(FrameEncoder::new().encode(&header).unwrap());
    let err = SegmentReader::from_bytes(std::path::Path::new("/x/new.ewlog"), file).unwrap_err();
    assert!(matches!(
        err,
        StoreError::UnsupportedVersion {
            version: 2,
            supported: 1,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "/x/new.ewlog: segment format version 2 is newer than this edgewatt reads (up to 1); \
         upgrade edgewatt"
    );
}
