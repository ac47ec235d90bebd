//! The writer: appends frames to the active segment, rotates, seals, survives write errors.
//!
//! Each frame goes to the kernel in one `write` (so a killed daemon loses nothing that
//! `append` returned for); [`Writer::sync`] makes it durable. When a write fails (full
//! disk, I/O error) the file is truncated back to the end of the last whole frame and the
//! encoded frames wait in a bounded queue until a later `append`/`sync` writes them.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::path::PathBuf;

use serde::Serialize;

use super::frame::FrameEncoder;
use super::queue::Op;
use super::queue::OpQueue;
use super::recover;
use super::recover::Recovery;
use super::SegmentIdent;
use super::StoreError;
use super::StoreOptions;
use crate::clock::Anchor;
use crate::record::Record;
use crate::record::Seal;
use crate::record::SealReason;

/// Serializes exactly like [`crate::record::Frame`] without owning the record.
#[derive(Serialize)]
pub(super) struct FrameRef<'a> {
    pub(super) seq: u64,
    pub(super) record: &'a Record,
}

/// What [`Writer::maybe_rotate`] did.
#[derive(Debug)]
pub struct Rotation {
    /// The segment just sealed (now `….ewlog`).
    pub sealed: PathBuf,
    /// The new active segment.
    pub opened: PathBuf,
    /// Sealed segments deleted by retention, oldest first.
    pub deleted: Vec<PathBuf>,
    /// Sealed segments retention had to keep over `retain_bytes` because the
    /// [`RetentionHold`](super::RetentionHold) keeps them (not uploaded yet), oldest first.
    pub held: Vec<PathBuf>,
    /// Retention failed after the rotation itself succeeded.
    pub retention_error: Option<StoreError>,
    /// The sealed segment could not be renamed (`sealed` is then still `….ewlog.open`;
    /// the next start renames it): the rotation itself succeeded.
    pub rename_error: Option<StoreError>,
}

/// The only writer of a state directory (it holds the directory's lock). Dropping it
/// without [`close`](Self::close) leaves the segment open, as a crash would; the next
/// [`open`](Self::open) repairs it.
#[derive(Debug)]
pub struct Writer {
    opts: StoreOptions,
    ident: SegmentIdent,
    _lock: File,
    file: File,
    path: PathBuf,
    created_mono_us: u64,
    /// End of the last frame known to be in the file.
    file_len: u64,
    /// A failed write left bytes past `file_len` that could not be truncated yet.
    torn: bool,
    frames: u64,
    next_seq: u64,
    enc: FrameEncoder,
    /// Frames a failed write left for later (only [`Writer::append`] queues).
    pending: OpQueue,
}

impl Writer {
    /// Locks `opts.dir` (creating it if missing), repairs segments a crash left open,
    /// applies retention and starts a new segment whose header carries `now`. Sequence
    /// numbers continue after the last intact frame on disk.
    pub fn open(
        opts: StoreOptions,
        ident: SegmentIdent,
        now: Anchor,
    ) -> Result<(Self, Vec<Recovery>), StoreError> {
        let lock = super::lock::lock(&opts)?;
        Self::open_locked(opts, ident, now, lock, None).map_err(|(e, _lock)| e)
    }

    /// [`open`](Self::open) on a directory already locked with `lock`: repairs, starts a
    /// segment at `first_seq` (`None`: after the last intact frame on disk) and applies
    /// retention. On failure the lock is handed back, for a retry.
    pub(crate) fn open_locked(
        opts: StoreOptions,
        ident: SegmentIdent,
        now: Anchor,
        lock: File,
        first_seq: Option<u64>,
    ) -> Result<(Self, Vec<Recovery>), (StoreError, File)> {
        let started = (|| {
            let recoveries = recover::recover_open_segments(&opts.dir, now.mono_us)?;
            let next_seq = match first_seq {
                Some(seq) => seq,
                None => recover::next_seq(&opts.dir)?,
            };
            recover::enforce_retention(&opts.dir, opts.retain_bytes, &opts.retention_hold)?;
            let mut enc = FrameEncoder::new();
            let (file, path, file_len) =
                recover::create_segment(&opts.dir, &ident, next_seq, now, &mut enc)?;
            Ok((recoveries, next_seq, enc, file, path, file_len))
        })();
        let (recoveries, next_seq, enc, file, path, file_len) = match started {
            Ok(s) => s,
            Err(e) => return Err((e, lock)),
        };
        let writer = Self {
            pending: OpQueue::new(opts.max_pending_bytes),
            opts,
            ident,
            _lock: lock,
            file,
            path,
            created_mono_us: now.mono_us,
            file_len,
            torn: false,
            frames: 0,
            next_seq,
            enc,
        };
        Ok((writer, recoveries))
    }

    /// Sequence number the next frame gets.
    #[must_use]
    pub const fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The segment being written (`….ewlog.open`).
    #[must_use]
    pub fn active_path(&self) -> &Path {
        &self.path
    }

    /// Bytes of the active segment that are written (pending frames not counted).
    #[must_use]
    pub const fn segment_len_bytes(&self) -> u64 {
        self.file_len
    }

    /// Frames waiting in memory for the disk to accept them.
    #[must_use]
    pub const fn pending_frames(&self) -> u64 {
        self.pending.frames()
    }

    #[must_use]
    pub const fn pending_bytes(&self) -> u64 {
        self.pending.frame_bytes()
    }

    /// Frames dropped because the in-memory queue was full, since open.
    #[must_use]
    pub const fn dropped_frames(&self) -> u64 {
        self.pending.dropped_frames()
    }

    #[must_use]
    pub const fn options(&self) -> &StoreOptions {
        &self.opts
    }

    /// Appends `rec` as the next frame and returns its seq. On a write error the frame
    /// (and any earlier unwritten ones) stays queued and is retried on the next call to
    /// `append` or `sync`; the error says how much is pending.
    pub fn append(&mut self, rec: &Record) -> Result<u64, StoreError> {
        let seq = self.next_seq;
        // Older frames first: the new one is queued only if they cannot be written.
        let flushed = self.write_pending();
        let bytes = self.enc.encode(&FrameRef { seq, record: rec })?;
        self.next_seq += 1;
        let written = flushed.and_then(|()| self.file.write_all(bytes));
        match written {
            Ok(()) => {
                self.file_len += bytes.len() as u64;
                self.frames += 1;
                Ok(seq)
            }
            Err(e) => {
                let frame = Op::Frame {
                    seq,
                    bytes: bytes.to_vec(),
                };
                self.roll_back();
                let dropped = self.pending.push_back(frame);
                Err(self.write_error(e, dropped))
            }
        }
    }

    /// Writes one frame encoded elsewhere (by [`super::AsyncWriter`]) as frame `seq`:
    /// the next frame gets `seq + 1`. On error the file is cut back to its last whole
    /// frame and the caller keeps the frame.
    pub(crate) fn write_frame(&mut self, seq: u64, bytes: &[u8]) -> std::io::Result<()> {
        let written = self.heal_torn().and_then(|()| self.file.write_all(bytes));
        if written.is_err() {
            self.roll_back();
        } else {
            self.file_len += bytes.len() as u64;
            self.frames += 1;
            self.next_seq = seq + 1;
        }
        written
    }

    /// The next frame (or seal) gets `seq`: frames dropped before the disk took them
    /// leave a gap.
    pub(crate) fn skip_to(&mut self, seq: u64) {
        self.next_seq = self.next_seq.max(seq);
    }

    /// A second descriptor of the active segment, to `fdatasync` it on another thread.
    pub(crate) fn sync_handle(&self) -> Result<(File, PathBuf), StoreError> {
        let file = self
            .file
            .try_clone()
            .map_err(|e| StoreError::io("duplicate the descriptor of", &self.path, e))?;
        Ok((file, self.path.clone()))
    }

    /// Writes queued frames, then `fdatasync`s the active segment.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.flush_pending()?;
        self.file
            .sync_data()
            .map_err(|e| StoreError::io("fdatasync", &self.path, e))
    }

    /// Rotates when the active segment has reached `segment_max_bytes` or is
    /// `segment_max_age_s` old at `now_mono_us`; the new segment's header carries `anchor`.
    /// Then deletes the oldest sealed segments beyond `retain_bytes`.
    pub fn maybe_rotate(
        &mut self,
        now_mono_us: u64,
        anchor: Anchor,
    ) -> Result<Option<Rotation>, StoreError> {
        let age_us = now_mono_us.saturating_sub(self.created_mono_us);
        let old = age_us >= self.opts.segment_max_age_s.saturating_mul(1_000_000);
        if self.file_len < self.opts.segment_max_bytes && !old {
            return Ok(None);
        }
        self.rotate(now_mono_us, anchor).map(Some)
    }

    /// Seals the active segment and starts the next one, whatever its size and age.
    pub fn rotate(&mut self, now_mono_us: u64, anchor: Anchor) -> Result<Rotation, StoreError> {
        self.flush_pending()?;
        // The new segment exists before the old one is sealed: a failure leaves the
        // writer on the old segment, and a crash in between leaves two repairable ones.
        let (file, path, len) = recover::create_segment(
            &self.opts.dir,
            &self.ident,
            self.next_seq + 1,
            anchor,
            &mut self.enc,
        )?;
        if let Err(e) = self.write_seal(SealReason::Rotated, now_mono_us) {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        let old_path = std::mem::replace(&mut self.path, path.clone());
        self.file = file;
        self.file_len = len;
        self.frames = 0;
        self.created_mono_us = now_mono_us;
        let (sealed, rename_error) = match recover::rename_sealed(&self.opts.dir, &old_path) {
            Ok(sealed) => (sealed, None),
            Err(e) => (old_path, Some(e)),
        };
        let opts = &self.opts;
        let (retention, retention_error) =
            match recover::enforce_retention(&opts.dir, opts.retain_bytes, &opts.retention_hold) {
                Ok(r) => (r, None),
                Err(e) => (recover::Retention::default(), Some(e)),
            };
        Ok(Rotation {
            sealed,
            opened: path,
            deleted: retention.deleted,
            held: retention.held,
            retention_error,
            rename_error,
        })
    }

    /// Writes queued frames, appends a `Seal` frame, fsyncs and renames the segment to
    /// `….ewlog`; returns the sealed path. If queued frames still cannot be written they
    /// are lost (the error counts them) and the segment stays open for the next start.
    pub fn close(mut self, reason: SealReason, now_mono_us: u64) -> Result<PathBuf, StoreError> {
        if let Err(e) = self.flush_pending() {
            let source = match e {
                StoreError::WriteFailed { source, .. } => source,
                other => return Err(other),
            };
            return Err(StoreError::CloseFailed {
                path: self.path.clone(),
                source,
                lost_frames: self.pending_frames(),
            });
        }
        self.write_seal(reason, now_mono_us)?;
        recover::rename_sealed(&self.opts.dir, &self.path)
    }

    /// Appends the `Seal` frame directly (never queued) and fsyncs it.
    fn write_seal(&mut self, reason: SealReason, now_mono_us: u64) -> Result<(), StoreError> {
        let seal = Record::Seal(Seal {
            reason,
            frames: self.frames,
            dropped_bytes: 0,
            mono_us: now_mono_us,
        });
        let seq = self.next_seq;
        let bytes = self.enc.encode(&FrameRef { seq, record: &seal })?;
        let len = bytes.len() as u64;
        if let Err(e) = self.file.write_all(bytes) {
            self.roll_back();
            return Err(StoreError::io("write seal frame to", &self.path, e));
        }
        self.file_len += len;
        self.next_seq += 1;
        self.file
            .sync_data()
            .map_err(|e| StoreError::io("fdatasync", &self.path, e))
    }

    fn write_error(&self, source: std::io::Error, dropped: u64) -> StoreError {
        if dropped > 0 {
            StoreError::QueueFull {
                path: self.path.clone(),
                source,
                dropped_frames: dropped,
            }
        } else {
            StoreError::WriteFailed {
                path: self.path.clone(),
                source,
                pending_frames: self.pending_frames(),
                pending_bytes: self.pending_bytes(),
            }
        }
    }

    /// After a failed write: cut the file back to the end of the last whole frame.
    fn roll_back(&mut self) {
        self.torn = self.file.set_len(self.file_len).is_err();
    }

    /// Makes sure the next write starts a fresh frame after a failed, untruncatable write.
    fn heal_torn(&mut self) -> std::io::Result<()> {
        if !self.torn {
            return Ok(());
        }
        if self.file.set_len(self.file_len).is_ok() {
            self.torn = false;
            return Ok(());
        }
        // Cannot cut the partial frame off: end it with 0x00 so it reads as one corrupt
        // frame and the next frame starts clean.
        self.file.write_all(&[0])?;
        self.file_len = self.file.metadata()?.len();
        self.torn = false;
        Ok(())
    }

    /// Writes the queued frames in order; on error cuts the file back and keeps the rest.
    fn write_pending(&mut self) -> std::io::Result<()> {
        let result = self.heal_torn().and_then(|()| {
            while let Some(Op::Frame { bytes, .. }) = self.pending.front() {
                self.file.write_all(bytes)?;
                self.file_len += bytes.len() as u64;
                self.frames += 1;
                self.pending.pop_front();
            }
            Ok(())
        });
        if result.is_err() {
            self.roll_back();
        }
        result
    }

    fn flush_pending(&mut self) -> Result<(), StoreError> {
        self.write_pending()
            .map_err(|source| self.write_error(source, 0))
    }
}
