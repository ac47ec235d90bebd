//! Start-up work on a state directory: the lock, repair of segments a crash left open,
//! where sequence numbers resume, and retention.

use std::fs;
use std::fs::File;
use std::io::ErrorKind;
use std::io::Write;
use std::path::Path;
use std::path::PathBuf;

use super::frame::read_header;
use super::frame::FrameEncoder;
use super::frame::SegmentHeader;
use super::frame::FORMAT_VERSION;
use super::frame::MAGIC;
use super::reader::list_entries;
use super::reader::scan_frames;
use super::reader::segment_file_name;
use super::reader::Entry;
use super::reader::Item;
use super::reader::Kind;
use super::reader::SegmentReader;
use super::SegmentIdent;
use super::StoreError;
use super::StoreOptions;
use super::BROKEN_SUFFIX;
use super::OPEN_SUFFIX;
use super::SEALED_SUFFIX;
use crate::clock::Anchor;
use crate::record::Frame;
use crate::record::Record;
use crate::record::Seal;
use crate::record::SealReason;

/// What was done to a segment found open at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryAction {
    /// Truncated after its last intact frame, sealed with reason `Recovered`, renamed.
    Sealed,
    /// It already ended with a seal (crash before the rename): truncated and renamed.
    Renamed,
    /// Its header was unreadable and no intact frame followed it (a crash while creating
    /// it), or it is of a newer format: renamed to `….ewlog.broken` and left alone. A
    /// damaged header with intact frames after it is sealed like any other segment.
    Quarantined,
}

/// One repaired segment; the daemon logs it as an `EventKind::Recovered` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub action: RecoveryAction,
    /// The segment as found (`….ewlog.open`).
    pub found: PathBuf,
    /// Where it is now (`….ewlog`, or `….ewlog.broken` when quarantined).
    pub path: PathBuf,
    /// Intact record frames kept (the header and an existing seal not counted).
    pub good_frames: u64,
    /// Bytes cut off after the last intact frame (all of the file when quarantined).
    pub dropped_bytes: u64,
}

pub(crate) fn check_options(opts: &StoreOptions) -> Result<(), StoreError> {
    let bad = |name, why| Err(StoreError::BadOption { name, why });
    if opts.segment_max_bytes == 0 {
        return bad("segment_max_bytes", "must be at least 1");
    }
    if opts.segment_max_age_s == 0 {
        return bad("segment_max_age_s", "must be at least 1");
    }
    if opts.max_pending_bytes == 0 {
        return bad("max_pending_bytes", "must be at least 1");
    }
    Ok(())
}

/// Creates `<dir>/<first_seq>.ewlog.open` holding magic and header, durably.
pub(crate) fn create_segment(
    dir: &Path,
    ident: &SegmentIdent,
    first_seq: u64,
    anchor: Anchor,
    enc: &mut FrameEncoder,
) -> Result<(File, PathBuf, u64), StoreError> {
    let path = dir.join(segment_file_name(first_seq, Kind::Open));
    let header = SegmentHeader {
        format_version: FORMAT_VERSION,
        device_id: ident.device_id.clone(),
        boot_id: ident.boot_id.clone(),
        anchor,
        first_seq,
        writer: env!("CARGO_PKG_VERSION").to_owned(),
        host: ident.host.clone(),
    };
    let mut bytes = MAGIC.to_vec();
    bytes.push(0);
    bytes.extend_from_slice(enc.encode(&header)?);
    let mut file = File::options()
        .append(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| StoreError::io("create segment", &path, e))?;
    let written = file.write_all(&bytes).and_then(|()| file.sync_data());
    if let Err(e) = written {
        drop(file);
        let _ = std::fs::remove_file(&path);
        return Err(StoreError::io("write segment header", &path, e));
    }
    sync_dir(dir)?;
    Ok((file, path, bytes.len() as u64))
}

/// fsyncs a directory, so renames, creations and deletions in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("fsync directory", dir, e))
}

fn rename_to(dir: &Path, from: &Path, suffix: &str) -> Result<PathBuf, StoreError> {
    let name = from
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(OPEN_SUFFIX))
        .map(|stem| format!("{stem}{suffix}"))
        .ok_or_else(|| {
            let e = std::io::Error::new(ErrorKind::InvalidInput, "not an open segment name");
            StoreError::io("rename", from, e)
        })?;
    let to = dir.join(name);
    fs::rename(from, &to).map_err(|e| StoreError::io("rename", from, e))?;
    sync_dir(dir)?;
    Ok(to)
}

/// Renames `….ewlog.open` to `….ewlog` durably.
pub(crate) fn rename_sealed(dir: &Path, open: &Path) -> Result<PathBuf, StoreError> {
    rename_to(dir, open, SEALED_SUFFIX)
}

/// Repairs every `….ewlog.open` in `dir`; `now_mono_us` goes into the seals.
pub(crate) fn recover_open_segments(
    dir: &Path,
    now_mono_us: u64,
) -> Result<Vec<Recovery>, StoreError> {
    let mut out = Vec::new();
    for entry in list_entries(dir)? {
        if entry.kind == Kind::Open {
            out.push(recover_one(dir, &entry, now_mono_us)?);
        }
    }
    Ok(out)
}

/// What recovery does to one open segment, decided from its bytes alone.
enum Repair {
    /// Rename to `….ewlog.broken`, nothing else touched.
    Quarantine,
    /// Truncate to `good_end`; append a `Recovered` seal with `seal_seq` unless it already
    /// ends with a seal (`seal_seq` `None`); rename to `….ewlog`.
    Seal {
        good_end: u64,
        good_frames: u64,
        last_seq: Option<u64>,
        seal_seq: Option<u64>,
    },
}

impl Repair {
    /// The last seq the segment holds once repaired (`None`: quarantined or no frame).
    const fn last_seq(&self) -> Option<u64> {
        match self {
            Self::Quarantine => None,
            Self::Seal {
                seal_seq: Some(s), ..
            } => Some(*s),
            Self::Seal { last_seq, .. } => *last_seq,
        }
    }
}

fn plan_repair(entry: &Entry, bytes: &[u8]) -> Repair {
    // A newer format is left alone; a damaged header costs only what it says.
    let Ok((header, body)) = read_header(&entry.path, bytes) else {
        return Repair::Quarantine;
    };
    let intact = |item: &Item| item.is_intact();
    if header.is_err() && !scan_frames(bytes, body).any(|i| intact(&i)) {
        // Torn while being created (or not a segment at all): nothing to keep.
        return Repair::Quarantine;
    }
    // The name says the first seq too; it is only used when no frame has a seq.
    let first_seq = header.as_ref().map_or(entry.first_seq, |h| h.first_seq);
    let (mut good_end, mut good_frames, mut last_seq, mut sealed) = (body as u64, 0, None, false);
    for item in scan_frames(bytes, body) {
        match &item {
            Item::Frame { frame, .. } => {
                sealed = matches!(frame.record, Record::Seal(_));
                good_frames += u64::from(!sealed);
                last_seq = Some(frame.seq);
            }
            Item::Unknown { seq, .. } => {
                sealed = false;
                good_frames += 1;
                last_seq = seq.or(last_seq);
            }
            // Not produced here (this scan passes over no kind); like an undecoded frame.
            Item::Passed { seq, .. } => {
                sealed = false;
                good_frames += 1;
                last_seq = Some(*seq);
            }
            Item::Corrupt { .. } => continue,
        }
        good_end = item.end();
    }
    Repair::Seal {
        good_end,
        good_frames,
        last_seq,
        seal_seq: (!sealed).then(|| last_seq.map_or(first_seq, |s| s + 1)),
    }
}

fn read_segment(path: &Path) -> Result<Vec<u8>, StoreError> {
    fs::read(path).map_err(|e| StoreError::io("read", path, e))
}

fn recover_one(dir: &Path, entry: &Entry, now_mono_us: u64) -> Result<Recovery, StoreError> {
    let path = &entry.path;
    let bytes = read_segment(path)?;
    let (good_end, good_frames, seal_seq) = match plan_repair(entry, &bytes) {
        Repair::Quarantine => {
            return Ok(Recovery {
                action: RecoveryAction::Quarantined,
                found: path.clone(),
                path: rename_to(dir, path, BROKEN_SUFFIX)?,
                good_frames: 0,
                dropped_bytes: bytes.len() as u64,
            })
        }
        Repair::Seal {
            good_end,
            good_frames,
            seal_seq,
            ..
        } => (good_end, good_frames, seal_seq),
    };
    let dropped_bytes = bytes.len() as u64 - good_end;
    let mut file = File::options()
        .append(true)
        .open(path)
        .map_err(|e| StoreError::io("open for repair", path, e))?;
    if dropped_bytes > 0 {
        file.set_len(good_end)
            .map_err(|e| StoreError::io("truncate", path, e))?;
    }
    if let Some(seq) = seal_seq {
        let frame = Frame {
            seq,
            record: Record::Seal(Seal {
                reason: SealReason::Recovered,
                frames: good_frames,
                dropped_bytes,
                mono_us: now_mono_us,
            }),
        };
        let mut enc = FrameEncoder::new();
        file.write_all(enc.encode(&frame)?)
            .map_err(|e| StoreError::io("write seal frame to", path, e))?;
    }
    file.sync_data()
        .map_err(|e| StoreError::io("fdatasync", path, e))?;
    Ok(Recovery {
        action: if seal_seq.is_none() {
            RecoveryAction::Renamed
        } else {
            RecoveryAction::Sealed
        },
        found: path.clone(),
        path: rename_sealed(dir, path)?,
        good_frames,
        dropped_bytes,
    })
}

/// The seq after the last intact frame in `dir`, and never below a segment name's first
/// seq (past it for quarantined segments, so names stay unique). Segments still open
/// count as [`recover_open_segments`] will leave them, so this is known before the
/// repair, which a full disk may delay: it only reads.
pub(crate) fn next_seq(dir: &Path) -> Result<u64, StoreError> {
    let entries = list_entries(dir)?;
    let mut repairs = Vec::new();
    for e in entries.iter().filter(|e| e.kind == Kind::Open) {
        repairs.push((e.first_seq, plan_repair(e, &read_segment(&e.path)?)));
    }
    let repair_of = |e: &Entry| {
        repairs
            .iter()
            .find(|(first, _)| *first == e.first_seq && e.kind == Kind::Open)
            .map(|(_, r)| r)
    };
    let broken = |e: &Entry| {
        e.kind == Kind::Broken || repair_of(e).is_some_and(|r| matches!(r, Repair::Quarantine))
    };
    let floor = entries
        .iter()
        .map(|e| e.first_seq + u64::from(broken(e)))
        .max()
        .unwrap_or(0);
    for entry in entries.iter().rev().filter(|e| !broken(e)) {
        let last = match repair_of(entry) {
            Some(repair) => repair.last_seq(),
            None => SegmentReader::open(&entry.path).ok().and_then(|reader| {
                reader
                    .items()
                    .filter_map(|item| match item {
                        Item::Frame { frame, .. } => Some(frame.seq),
                        Item::Unknown { seq, .. } => seq,
                        Item::Passed { seq, .. } => Some(seq),
                        Item::Corrupt { .. } => None,
                    })
                    .max()
            }),
        };
        if let Some(last) = last {
            return Ok(floor.max(last + 1));
        }
    }
    Ok(floor)
}

/// What retention did: the segments it deleted, and those it had to keep although the
/// directory is over its budget, because the [`RetentionHold`](super::RetentionHold) does
/// not let them go yet (not uploaded).
#[derive(Debug, Default)]
pub(crate) struct Retention {
    pub deleted: Vec<PathBuf>,
    pub held: Vec<PathBuf>,
}

/// Deletes the oldest sealed (or quarantined) segments while all segments of `dir` together
/// exceed `retain_bytes`, skipping those `hold` keeps; open segments are never deleted.
pub(crate) fn enforce_retention(
    dir: &Path,
    retain_bytes: u64,
    hold: &super::RetentionHold,
) -> Result<Retention, StoreError> {
    let entries = list_entries(dir)?;
    let mut total: u64 = entries.iter().map(|e| e.len_bytes).sum();
    let mut out = Retention::default();
    for entry in entries.iter().filter(|e| e.kind != Kind::Open) {
        if total <= retain_bytes {
            break;
        }
        if !hold.may_delete(&entry.path) {
            out.held.push(entry.path.clone());
            continue;
        }
        match fs::remove_file(&entry.path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("delete", &entry.path, e)),
        }
        total -= entry.len_bytes;
        out.deleted.push(entry.path.clone());
    }
    if !out.deleted.is_empty() {
        sync_dir(dir)?;
    }
    if !out.held.is_empty() {
        log::warn!(
            "retention: {} is over retain_bytes ({} bytes) but keeps {} segments that are \
             not uploaded yet; they are deleted once the server has them",
            dir.display(),
            retain_bytes,
            out.held.len()
        );
    }
    Ok(out)
}
