//! Framing: COBS( postcard(value) ‖ crc32c LE ) ‖ 0x00, and the segment header.

use std::fmt;
use std::path::Path;

use crc::Crc;
use crc::Table;
use crc::CRC_32_ISCSI;
use serde::Deserialize;
use serde::Serialize;

use super::StoreError;
use crate::clock::Anchor;
use crate::record::Frame;

/// First 8 bytes of every segment file; a `0x00` follows them.
pub const MAGIC: [u8; 8] = *b"EDGEWATT";
/// Version of the segment format written by this edgewatt (and the newest it reads).
pub const FORMAT_VERSION: u16 = 1;
/// Bytes of the CRC-32C that ends every frame payload.
pub const CRC_BYTES: usize = 4;
/// Shortest postcard payload a frame may carry (a varint and an enum index).
const MIN_PAYLOAD: usize = 2;
/// Where the header frame starts: after the magic and its `0x00`.
pub const HEADER_OFFSET: usize = MAGIC.len() + 1;

/// Sixteen tables (16 KiB): several times the speed of one over a segment's frames.
const CRC32C: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);

/// CRC-32C (Castagnoli, CRC_32_ISCSI) of `bytes`.
#[must_use]
pub fn crc32c(bytes: &[u8]) -> u32 {
    CRC32C.checksum(bytes)
}

/// CRC-32C of `parts`, one after the other.
#[must_use]
pub fn crc32c_of(parts: &[&[u8]]) -> u32 {
    let mut digest = CRC32C.digest();
    for p in parts {
        digest.update(p);
    }
    digest.finalize()
}

/// Payload of the first frame of a segment. Field order is the wire format: never change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentHeader {
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u16,
    pub device_id: String,
    pub boot_id: String,
    /// Monotonic and wall clock read when the segment was created.
    pub anchor: Anchor,
    /// `seq` the first record frame of this segment has (or would have had).
    pub first_seq: u64,
    /// Version of the edgewatt that wrote the segment.
    pub writer: String,
    pub host: String,
}

/// Why a frame was rejected. None of these can be a frame that was completely written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CorruptReason {
    /// The bytes between two `0x00` are not valid COBS.
    Cobs,
    /// Too few bytes for a payload and its CRC.
    TooShort,
    /// The CRC does not match the payload.
    Crc,
    /// The file ends without the frame's closing `0x00` (torn last write).
    Unterminated,
    /// CRC good but the payload is not what the place requires (only for the header).
    Payload,
}

impl CorruptReason {
    /// Short name for text and JSON output.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Cobs => "cobs",
            Self::TooShort => "too_short",
            Self::Crc => "crc",
            Self::Unterminated => "unterminated",
            Self::Payload => "payload",
        }
    }
}

impl fmt::Display for CorruptReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cobs => "invalid COBS encoding",
            Self::TooShort => "frame too short",
            Self::Crc => "CRC mismatch",
            Self::Unterminated => "no closing 0x00 (torn write)",
            Self::Payload => "payload does not decode",
        })
    }
}

/// Encodes values into frames, reusing its buffers.
#[derive(Debug, Default)]
pub struct FrameEncoder {
    payload: Vec<u8>,
    out: Vec<u8>,
}

impl FrameEncoder {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The complete frame of `value`, closing `0x00` included. Valid until the next call.
    pub fn encode<T: Serialize>(&mut self, value: &T) -> Result<&[u8], StoreError> {
        let mut payload = std::mem::take(&mut self.payload);
        payload.clear();
        let mut payload = postcard::to_extend(value, payload)?;
        let crc = crc32c(&payload);
        payload.extend_from_slice(&crc.to_le_bytes());
        self.out.clear();
        self.out
            .resize(cobs::max_encoding_length(payload.len()) + 1, 0);
        let n = cobs::encode(&payload, &mut self.out);
        self.out.truncate(n);
        self.out.push(0);
        self.payload = payload;
        Ok(&self.out)
    }
}

/// Undoes COBS and checks the CRC of one frame body (`encoded` excludes the closing
/// `0x00`); returns the postcard payload, which lives in `scratch`.
pub fn unframe<'a>(encoded: &[u8], scratch: &'a mut Vec<u8>) -> Result<&'a [u8], CorruptReason> {
    scratch.clear();
    scratch.extend_from_slice(encoded);
    let n = cobs::decode_in_place(scratch).map_err(|_| CorruptReason::Cobs)?;
    if n < MIN_PAYLOAD + CRC_BYTES {
        return Err(CorruptReason::TooShort);
    }
    let (payload, crc) = scratch[..n].split_at(n - CRC_BYTES);
    let mut crc_le = [0u8; CRC_BYTES];
    crc_le.copy_from_slice(crc);
    if crc32c(payload) != u32::from_le_bytes(crc_le) {
        return Err(CorruptReason::Crc);
    }
    Ok(payload)
}

/// What one record frame turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Frame(Frame),
    /// CRC good but not decodable here (a record type from a newer writer); `seq` is read
    /// from the payload's leading varint when possible.
    Unknown {
        seq: Option<u64>,
    },
    Corrupt(CorruptReason),
}

/// Decodes one record frame body (`encoded` excludes the closing `0x00`).
#[must_use]
pub fn decode_frame(encoded: &[u8], scratch: &mut Vec<u8>) -> Decoded {
    match unframe(encoded, scratch) {
        Err(reason) => Decoded::Corrupt(reason),
        Ok(payload) => decode_payload(payload),
    }
}

/// Decodes the payload of an intact frame.
pub(super) fn decode_payload(payload: &[u8]) -> Decoded {
    match postcard::from_bytes::<Frame>(payload) {
        Ok(frame) => Decoded::Frame(frame),
        Err(_) => Decoded::Unknown {
            seq: postcard::take_from_bytes::<u64>(payload)
                .ok()
                .map(|(seq, _)| seq),
        },
    }
}

/// Why a segment's header is not available. Its record frames are still read: they are
/// self-delimited and carry their own CRC; only what the header alone says (device and
/// boot id, the monotonic↔wall anchor, writer, host) is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum HeaderDamage {
    /// The file does not start with `EDGEWATT` `0x00`, so the header frame cannot be found.
    Magic,
    /// The header frame is not a completely written header.
    Frame(CorruptReason),
    /// The file is empty: created and never written (a crash as the segment was opened),
    /// or a copy of it that failed.
    Empty,
    /// Not a segment at all: no `EDGEWATT` at its start and no `0x00` in it (every frame
    /// ends with one), so another kind of file (a text file named `*.ewlog`, say).
    Foreign,
}

impl fmt::Display for HeaderDamage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Magic => f.write_str("magic EDGEWATT\\0 damaged or missing"),
            Self::Frame(reason) => write!(f, "header frame unreadable ({reason})"),
            Self::Empty => f.write_str(
                "empty (0 bytes), no records in it: created and never written (a crash as \
                 it was opened), or a copy that failed (then copy it again)",
            ),
            Self::Foreign => f.write_str(
                "not an edgewatt segment: no EDGEWATT magic and no frame in it (another kind \
                 of file)",
            ),
        }
    }
}

/// Finds and decodes the header frame of a segment's bytes; returns the header (or why it
/// is unusable) and the offset of the first record frame.
///
/// The header frame is the piece from offset 9 to the next `0x00` when byte 8 is `0x00`
/// (the magic's letters are not required: a header with a good CRC is trusted). Otherwise
/// the magic is damaged and everything up to the first `0x00` is taken as magic and
/// header. Without any `0x00` the whole file is header: there are no record frames (an
/// empty file is [`HeaderDamage::Empty`]). The only error is a header that is intact but
/// newer than this reader ([`StoreError::UnsupportedVersion`]): its frames may not be
/// framed as we expect.
pub fn read_header(
    path: &Path,
    bytes: &[u8],
) -> Result<(Result<SegmentHeader, HeaderDamage>, usize), StoreError> {
    if bytes.is_empty() {
        return Ok((Err(HeaderDamage::Empty), 0));
    }
    let magic_ok = bytes.len() >= HEADER_OFFSET && bytes[..MAGIC.len()] == MAGIC;
    let start = if bytes.get(MAGIC.len()) == Some(&0) {
        HEADER_OFFSET
    } else {
        0
    };
    let Some(len) = bytes[start..].iter().position(|&b| b == 0) else {
        // A magic cut or garbled keeps some of its letters; a zero-filled file has zeros.
        let ours = bytes.iter().zip(MAGIC).take(4).all(|(&b, m)| b == m);
        let damage = if start == 0 && !ours {
            HeaderDamage::Foreign
        } else if start == 0 {
            HeaderDamage::Magic
        } else {
            HeaderDamage::Frame(CorruptReason::Unterminated)
        };
        return Ok((Err(damage), bytes.len()));
    };
    let body = start + len + 1;
    if start == 0 {
        return Ok((Err(HeaderDamage::Magic), body));
    }
    let damaged = |reason| {
        Ok((
            Err(if magic_ok {
                HeaderDamage::Frame(reason)
            } else {
                HeaderDamage::Magic
            }),
            body,
        ))
    };
    let mut scratch = Vec::new();
    let payload = match unframe(&bytes[start..start + len], &mut scratch) {
        Ok(payload) => payload,
        Err(reason) => return damaged(reason),
    };
    let Ok((version, _)) = postcard::take_from_bytes::<u16>(payload) else {
        return damaged(CorruptReason::Payload);
    };
    if version > FORMAT_VERSION {
        return Err(StoreError::UnsupportedVersion {
            path: path.to_path_buf(),
            version,
            supported: FORMAT_VERSION,
        });
    }
    match postcard::from_bytes::<SegmentHeader>(payload) {
        Ok(header) => Ok((Ok(header), body)),
        Err(_) => damaged(CorruptReason::Payload),
    }
}
