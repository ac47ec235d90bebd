//! Reading segments: listing a state directory and iterating the frames of one segment.
//!
//! Reading takes no lock: the open segment of a live daemon can be read at any time (its
//! last frame may then show as [`CorruptReason::Unterminated`] while it is being written).

use std::fs;
use std::path::Path;
use std::path::PathBuf;

use super::frame::decode_payload;
use super::frame::read_header;
use super::frame::unframe;
use super::frame::CorruptReason;
use super::frame::Decoded;
use super::frame::HeaderDamage;
use super::frame::SegmentHeader;
use super::StoreError;
use super::BROKEN_SUFFIX;
use super::OPEN_SUFFIX;
use super::SEALED_SUFFIX;
use crate::record::Frame;
use crate::record::FrameKind;

/// Digits of the zero-padded first sequence number in a segment file name.
const NAME_DIGITS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Sealed,
    Open,
    Broken,
}

impl Kind {
    const fn suffix(self) -> &'static str {
        match self {
            Self::Sealed => SEALED_SUFFIX,
            Self::Open => OPEN_SUFFIX,
            Self::Broken => BROKEN_SUFFIX,
        }
    }
}

/// File name of a segment: `<first_seq:020><suffix>`.
pub(crate) fn segment_file_name(first_seq: u64, kind: Kind) -> String {
    format!("{first_seq:0NAME_DIGITS$}{}", kind.suffix())
}

fn parse_name(name: &str) -> Option<(u64, Kind)> {
    let digits = name.get(..NAME_DIGITS)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let kind = match &name[NAME_DIGITS..] {
        SEALED_SUFFIX => Kind::Sealed,
        OPEN_SUFFIX => Kind::Open,
        BROKEN_SUFFIX => Kind::Broken,
        _ => return None,
    };
    Some((digits.parse().ok()?, kind))
}

/// A segment file found in a state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    pub path: PathBuf,
    /// From the file name.
    pub first_seq: u64,
    /// Still being written (or left open by a crash).
    pub open: bool,
    pub len_bytes: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub path: PathBuf,
    pub first_seq: u64,
    pub kind: Kind,
    pub len_bytes: u64,
}

impl SegmentInfo {
    /// The sealed segment at `path`, found outside a state directory (a fleet's mirror,
    /// laid out as the bucket): `None` if its name is not a sealed segment's or it is gone.
    #[must_use]
    pub fn sealed(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?;
        let (first_seq, Kind::Sealed) = parse_name(name)? else {
            return None;
        };
        Some(Self {
            path: path.to_path_buf(),
            first_seq,
            open: false,
            len_bytes: fs::metadata(path).ok()?.len(),
        })
    }
}

/// The first seq a segment file's name gives (sealed, open or broken), `None` if it is not
/// named as a segment.
#[must_use]
pub fn named_first_seq(path: &Path) -> Option<u64> {
    parse_name(path.file_name()?.to_str()?).map(|(seq, _)| seq)
}

/// The files of `dir` named like segments (`*.ewlog`, `*.ewlog.open`) but not as one
/// (`<first seq, 20 digits>.ewlog`): a reader passes them over, so a command tells them.
#[must_use]
pub fn misnamed_segments(dir: &Path) -> Vec<PathBuf> {
    let Ok(read_dir) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = read_dir
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let lower = name.to_ascii_lowercase();
            let like = [SEALED_SUFFIX, OPEN_SUFFIX]
                .iter()
                .any(|suffix| lower.ends_with(suffix));
            (like && parse_name(&name).is_none()).then(|| dir.join(name))
        })
        .collect();
    out.sort();
    out
}

/// Every segment-like file of `dir` (sealed, open, broken), ordered by first seq then kind.
pub(crate) fn list_entries(dir: &Path) -> Result<Vec<Entry>, StoreError> {
    let read_dir = fs::read_dir(dir).map_err(|e| StoreError::io("list", dir, e))?;
    let mut out = Vec::new();
    for entry in read_dir {
        let entry = entry.map_err(|e| StoreError::io("list", dir, e))?;
        let name = entry.file_name();
        let Some((first_seq, kind)) = name.to_str().and_then(parse_name) else {
            continue;
        };
        let path = entry.path();
        let len_bytes = match entry.metadata() {
            Ok(m) => m.len(),
            // Deleted by retention between listing and stat.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io("stat", path, e)),
        };
        out.push(Entry {
            path,
            first_seq,
            kind,
            len_bytes,
        });
    }
    out.sort_by_key(|e| (e.first_seq, e.kind));
    Ok(out)
}

/// The sealed and open segments of `dir`, oldest first (by the first seq in their names).
pub fn list_segments(dir: &Path) -> Result<Vec<SegmentInfo>, StoreError> {
    Ok(list_entries(dir)?
        .into_iter()
        .filter(|e| e.kind != Kind::Broken)
        .map(|e| SegmentInfo {
            path: e.path,
            first_seq: e.first_seq,
            open: e.kind == Kind::Open,
            len_bytes: e.len_bytes,
        })
        .collect())
}

/// One segment, read into memory. A damaged header loses only what the header says; the
/// record frames after it are read all the same.
#[derive(Debug, Clone)]
pub struct SegmentReader {
    path: PathBuf,
    header: Result<SegmentHeader, HeaderDamage>,
    bytes: Vec<u8>,
    body_offset: usize,
}

impl SegmentReader {
    /// Reads the file and finds its header. Errors: the file cannot be read, or its header
    /// is intact but of a newer format version (both name the file). A damaged magic or
    /// header is not an error: see [`header`](Self::header).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let bytes = fs::read(path).map_err(|e| StoreError::io("read", path, e))?;
        Self::from_bytes(path, bytes)
    }

    /// As [`open`](Self::open), for bytes already in memory; `path` only names them in errors.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self, StoreError> {
        let (header, body_offset) = read_header(path, &bytes)?;
        Ok(Self {
            path: path.to_path_buf(),
            header,
            bytes,
            body_offset,
        })
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The segment header, or `None` when it is damaged (device id, boot id and the
    /// monotonic↔wall anchor are then unknown; the frames are still read).
    #[must_use]
    pub fn header(&self) -> Option<&SegmentHeader> {
        self.header.as_ref().ok()
    }

    /// Why the header is unavailable, if it is.
    #[must_use]
    pub fn header_damage(&self) -> Option<HeaderDamage> {
        self.header.as_ref().err().copied()
    }

    #[must_use]
    pub fn len_bytes(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Offset of the first record frame (after magic and header frame, or after the first
    /// `0x00` when the magic is damaged).
    #[must_use]
    pub const fn body_offset(&self) -> u64 {
        self.body_offset as u64
    }

    /// The record frames, in file order.
    #[must_use]
    pub fn items(&self) -> Items<'_> {
        scan_frames(&self.bytes, self.body_offset)
    }
}

/// One frame slot of a segment. Offsets and lengths are in bytes of the file; `len`
/// includes the closing `0x00`.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Frame {
        offset: u64,
        len: u64,
        frame: Frame,
    },
    /// Bytes that are not a completely written frame; skipped.
    Corrupt {
        offset: u64,
        len: u64,
        reason: CorruptReason,
    },
    /// An intact frame this edgewatt cannot decode (newer record type); skipped.
    Unknown {
        offset: u64,
        len: u64,
        seq: Option<u64>,
    },
    /// An intact frame of a kind the reader was asked to pass over ([`Items::passing`]):
    /// checked (COBS, CRC), not decoded, so whether it would decode is not known (one that
    /// would not is `Unknown` to a reader that wants its kind).
    Passed {
        offset: u64,
        len: u64,
        seq: u64,
        kind: FrameKind,
    },
}

impl Item {
    #[must_use]
    pub const fn offset(&self) -> u64 {
        match self {
            Self::Frame { offset, .. }
            | Self::Corrupt { offset, .. }
            | Self::Unknown { offset, .. }
            | Self::Passed { offset, .. } => *offset,
        }
    }

    /// Offset just past this item.
    #[must_use]
    pub const fn end(&self) -> u64 {
        match self {
            Self::Frame { offset, len, .. }
            | Self::Corrupt { offset, len, .. }
            | Self::Unknown { offset, len, .. }
            | Self::Passed { offset, len, .. } => *offset + *len,
        }
    }

    /// Whether the frame was completely written (decodable or not).
    #[must_use]
    pub const fn is_intact(&self) -> bool {
        !matches!(self, Self::Corrupt { .. })
    }
}

/// Iterator over the frames of `bytes` from `start`; see [`scan_frames`].
#[derive(Debug)]
pub struct Items<'a> {
    bytes: &'a [u8],
    pos: usize,
    scratch: Vec<u8>,
    /// Bit `kind as u8`: frames of that kind are passed over.
    pass: u8,
}

/// Frames of any byte slice, starting at `start` (which should follow a `0x00`). Runs of
/// `0x00` between frames are padding and skipped. Never panics, whatever the bytes.
#[must_use]
pub fn scan_frames(bytes: &[u8], start: usize) -> Items<'_> {
    Items {
        bytes,
        pos: start.min(bytes.len()),
        scratch: Vec::new(),
        pass: 0,
    }
}

impl Items<'_> {
    /// Frames of `kinds` are checked (COBS, CRC) but not decoded: they come as
    /// [`Item::Passed`], for a reader that would drop them anyway.
    #[must_use]
    pub fn passing(mut self, kinds: &[FrameKind]) -> Self {
        for &k in kinds {
            self.pass |= 1 << k as u8;
        }
        self
    }

    fn item(&mut self, offset: u64, len: u64, encoded: &[u8]) -> Item {
        let payload = match unframe(encoded, &mut self.scratch) {
            Ok(payload) => payload,
            Err(reason) => {
                return Item::Corrupt {
                    offset,
                    len,
                    reason,
                }
            }
        };
        let passed = (self.pass != 0)
            .then(|| FrameKind::peek(payload))
            .flatten()
            .filter(|&(_, k)| self.pass & (1 << k as u8) != 0);
        if let Some((seq, kind)) = passed {
            return Item::Passed {
                offset,
                len,
                seq,
                kind,
            };
        }
        match decode_payload(payload) {
            Decoded::Frame(frame) => Item::Frame { offset, len, frame },
            Decoded::Unknown { seq } => Item::Unknown { offset, len, seq },
            Decoded::Corrupt(reason) => Item::Corrupt {
                offset,
                len,
                reason,
            },
        }
    }
}

impl Iterator for Items<'_> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            let rest = &self.bytes[self.pos..];
            let offset = self.pos as u64;
            match rest.iter().position(|&b| b == 0) {
                None if rest.is_empty() => return None,
                None => {
                    self.pos = self.bytes.len();
                    return Some(Item::Corrupt {
                        offset,
                        len: rest.len() as u64,
                        reason: CorruptReason::Unterminated,
                    });
                }
                Some(0) => self.pos += 1,
                Some(n) => {
                    self.pos += n + 1;
                    let len = n as u64 + 1;
                    return Some(self.item(offset, len, &rest[..n]));
                }
            }
        }
    }
}
