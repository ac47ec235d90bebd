//! The daemon's writer: the sampling loop never waits on the disk.
//!
//! Frames are encoded and numbered on the caller's thread and handed to a bounded queue
//! ([`OpQueue`]); a writer thread (`store-writer`) owns the segment and writes, rotates
//! and seals in queue order, and a sync thread (`store-sync`) runs `fdatasync`, so a
//! slow sync delays neither the caller nor the next writes. Rotation is decided here,
//! from the bytes queued for the segment and its age, so the caller knows where a
//! segment starts (its first sample block must be a key block).
//!
//! When the disk refuses a write — or the first segment cannot even be opened or a
//! crashed one repaired (a full disk at start-up) — the writer thread keeps the frame at
//! the head of the queue and retries every [`RETRY_MS`]; the caller goes on queueing, and
//! beyond `max_pending_bytes` the oldest frames are dropped and counted. Sequence numbers
//! are known from the start: [`AsyncWriter::start`] reads where they resume, which needs
//! no write.

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::sync::Condvar;
use std::sync::Mutex;
use std::sync::MutexGuard;
use std::sync::PoisonError;
use std::thread::JoinHandle;
use std::time::Duration;

use super::background;
use super::frame::FrameEncoder;
use super::queue::Op;
use super::queue::OpQueue;
use super::recover;
use super::writer::FrameRef;
use super::Rotation;
use super::SegmentIdent;
use super::StoreError;
use super::StoreOptions;
use crate::clock::Anchor;
use crate::record::Record;
use crate::record::SealReason;

/// While writing fails, the writer thread retries this often, ms.
pub const RETRY_MS: u64 = 1000;

/// What the writer threads tell the daemon.
#[derive(Debug)]
pub enum StoreReport {
    /// The first segment is open, after repairing the segments a crash left open.
    Opened {
        path: PathBuf,
        recoveries: Vec<super::Recovery>,
    },
    /// A segment was sealed and the next one started.
    Rotated(Rotation),
    /// Writing (or opening, or `fdatasync`) failed; the frames stay queued and are retried.
    Failed(StoreError),
    /// Writing works again after failures: the queued frames are being written.
    Resumed,
}

/// A frame handed to the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    /// Older frames dropped to make room (the disk has refused writes for long).
    pub dropped_frames: u64,
}

/// `fdatasync` calls on the sync thread so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncStats {
    pub syncs: u64,
    pub max_us: u64,
    pub total_us: u64,
}

/// The queue as the caller sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStatus {
    pub pending_frames: u64,
    pub pending_bytes: u64,
    pub dropped_frames: u64,
    pub syncs: SyncStats,
}

/// What the writer threads share with the caller, under one mutex.
#[derive(Debug)]
pub(super) struct State {
    pub(super) queue: OpQueue,
    /// A `Close` is queued: a failure now gives up instead of waiting for a retry.
    pub(super) closing: bool,
    pub(super) syncs: SyncStats,
    /// The seq after the last frame written to the segment (0: none yet).
    pub(super) written_next_seq: u64,
}

#[derive(Debug)]
pub(super) struct Shared {
    state: Mutex<State>,
    pub(super) wake: Condvar,
}

impl Shared {
    /// The state, also after a writer thread panicked while holding it.
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits on `wake` for at most `timeout`.
    pub(super) fn wait<'a>(
        &self,
        guard: MutexGuard<'a, State>,
        timeout: Duration,
    ) -> MutexGuard<'a, State> {
        match self.wake.wait_timeout(guard, timeout) {
            Ok((g, _)) => g,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }
}

/// The caller's side; see the module doc.
#[derive(Debug)]
pub struct AsyncWriter {
    shared: Arc<Shared>,
    enc: FrameEncoder,
    next_seq: u64,
    opts: StoreOptions,
    /// Frame bytes queued for the current segment, and when it was started.
    segment_bytes: u64,
    segment_start_us: u64,
    reports: mpsc::Receiver<StoreReport>,
    closed: mpsc::Receiver<Result<PathBuf, StoreError>>,
    handle: Option<JoinHandle<()>>,
}

impl AsyncWriter {
    /// Locks `opts.dir` (creating it if missing), reads where sequence numbers resume
    /// (counting the repair of segments a crash left open) and starts the writer thread,
    /// which repairs them and opens a segment whose header carries the time it does so.
    /// Errors: bad options, a directory that cannot be created, read or locked.
    pub fn start(opts: StoreOptions, ident: SegmentIdent, now: Anchor) -> Result<Self, StoreError> {
        let lock = super::lock::lock(&opts)?;
        let first_seq = recover::next_seq(&opts.dir)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: OpQueue::new(opts.max_pending_bytes),
                closing: false,
                syncs: SyncStats::default(),
                written_next_seq: 0,
            }),
            wake: Condvar::new(),
        });
        let (report_tx, reports) = mpsc::channel();
        let (closed_tx, closed) = mpsc::channel();
        let back = background::Back::new(
            Arc::clone(&shared),
            (opts.clone(), ident, lock, first_seq),
            report_tx,
            closed_tx,
        );
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || back.run())
            .map_err(|e| StoreError::io("start the writer thread for", &opts.dir, e))?;
        Ok(Self {
            shared,
            enc: FrameEncoder::new(),
            next_seq: first_seq,
            opts,
            segment_bytes: 0,
            segment_start_us: now.mono_us,
            reports,
            closed,
            handle: Some(handle),
        })
    }

    /// Sequence number the next frame gets.
    #[must_use]
    pub const fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Encodes `rec` as the next frame and queues it; never waits on the disk.
    pub fn append(&mut self, rec: &Record) -> Result<Appended, StoreError> {
        let seq = self.next_seq;
        let bytes = self.enc.encode(&FrameRef { seq, record: rec })?.to_vec();
        self.next_seq += 1;
        self.segment_bytes += bytes.len() as u64;
        let dropped_frames = self.push(Op::Frame { seq, bytes });
        Ok(Appended {
            seq,
            dropped_frames,
        })
    }

    /// Asks for what is queued so far to be made durable (`fdatasync` on the sync thread).
    pub fn sync(&mut self) {
        self.push(Op::Sync);
    }

    /// Rotates when the current segment has `segment_max_bytes` of frames or is
    /// `segment_max_age_s` old at `now_mono_us`; the next segment's header carries
    /// `anchor`. Returns whether it did: the next frame starts a new segment.
    pub fn maybe_rotate(&mut self, now_mono_us: u64, anchor: Anchor) -> bool {
        let age_us = now_mono_us.saturating_sub(self.segment_start_us);
        let old = age_us >= self.opts.segment_max_age_s.saturating_mul(1_000_000);
        if self.segment_bytes < self.opts.segment_max_bytes && !old {
            return false;
        }
        let seal_seq = self.next_seq;
        self.next_seq += 1;
        self.push(Op::Rotate {
            seal_seq,
            now_mono_us,
            anchor,
        });
        self.segment_bytes = 0;
        self.segment_start_us = now_mono_us;
        true
    }

    /// Waits (at most `timeout`) until frame `seq` is written to the segment (not
    /// necessarily synced); returns whether it is.
    pub fn wait_written(&self, seq: u64, timeout: Duration) -> bool {
        let until = std::time::Instant::now() + timeout;
        let mut s = self.shared.lock();
        while s.written_next_seq <= seq {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            s = self.shared.wait(s, left);
        }
        true
    }

    /// What the writer threads reported since the last call.
    pub fn reports(&self) -> Vec<StoreReport> {
        self.reports.try_iter().collect()
    }

    #[must_use]
    pub fn status(&self) -> QueueStatus {
        let s = self.shared.lock();
        QueueStatus {
            pending_frames: s.queue.frames(),
            pending_bytes: s.queue.frame_bytes(),
            dropped_frames: s.queue.dropped_frames(),
            syncs: s.syncs,
        }
    }

    /// An error if the writer thread has died (a bug): nothing queued will be written.
    pub fn check_alive(&self) -> Result<(), StoreError> {
        match &self.handle {
            Some(h) if h.is_finished() => Err(StoreError::WriterDied {
                dir: self.opts.dir.clone(),
                pending_frames: self.status().pending_frames,
            }),
            _ => Ok(()),
        }
    }

    /// Writes what is queued, seals the segment (reason, `now_mono_us`) and returns its
    /// path, waiting at most `timeout`. What the disk still refuses is lost (the error
    /// counts it) and the segment stays open for the next start to repair.
    pub fn close(
        mut self,
        reason: SealReason,
        now_mono_us: u64,
        timeout: Duration,
    ) -> Result<PathBuf, StoreError> {
        let seal_seq = self.next_seq;
        {
            let mut s = self.shared.lock();
            s.closing = true;
            s.queue.push_back(Op::Close {
                seal_seq,
                reason,
                now_mono_us,
            });
        }
        self.shared.wake.notify_all();
        let result = match self.closed.recv_timeout(timeout) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // The thread is left to finish or die with the process.
                self.handle = None;
                return Err(StoreError::CloseTimeout {
                    dir: self.opts.dir.clone(),
                    timeout_ms: timeout.as_millis() as u64,
                    pending_frames: self.status().pending_frames,
                });
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(StoreError::WriterDied {
                dir: self.opts.dir.clone(),
                pending_frames: self.status().pending_frames,
            }),
        };
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        result
    }

    fn push(&self, op: Op) -> u64 {
        let dropped = self.shared.lock().queue.push_back(op);
        self.shared.wake.notify_all();
        dropped
    }
}

#[cfg(test)]
mod tests;
