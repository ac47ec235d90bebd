//! The threads behind [`super::AsyncWriter`]: `store-writer` opens the first segment
//! (retrying while the disk refuses), then does the queued ops in order; `store-sync`
//! runs `fdatasync` on a second descriptor of the segment, so writes go on meanwhile.

use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::sync::Condvar;
use std::sync::Mutex;
use std::sync::PoisonError;
use std::thread::JoinHandle;
use std::time::Duration;
use std::time::Instant;

use super::async_writer::Shared;
use super::async_writer::StoreReport;
use super::async_writer::RETRY_MS;
use super::queue::Op;
use super::SegmentIdent;
use super::StoreError;
use super::StoreOptions;
use super::Writer;
use crate::clock::Anchor;

/// The writer thread's state.
pub(super) struct Back {
    shared: Arc<Shared>,
    opts: StoreOptions,
    ident: SegmentIdent,
    /// The directory's lock until the writer owns it.
    lock: Option<File>,
    first_seq: u64,
    writer: Option<Writer>,
    syncer: Option<Syncer>,
    reports: mpsc::Sender<StoreReport>,
    closed: mpsc::Sender<Result<PathBuf, StoreError>>,
    failing: bool,
}

/// What an op did when it worked.
enum Done {
    Continue,
    /// The segment is sealed, or the close failed (which is final).
    Closed(Result<PathBuf, StoreError>),
}

impl Back {
    pub(super) fn new(
        shared: Arc<Shared>,
        (opts, ident, lock, first_seq): (StoreOptions, SegmentIdent, File, u64),
        reports: mpsc::Sender<StoreReport>,
        closed: mpsc::Sender<Result<PathBuf, StoreError>>,
    ) -> Self {
        Self {
            shared,
            opts,
            ident,
            lock: Some(lock),
            first_seq,
            writer: None,
            syncer: None,
            reports,
            closed,
            failing: false,
        }
    }

    pub(super) fn run(mut self) {
        loop {
            if self.writer.is_none() {
                if let Err(e) = self.open() {
                    if self.failed(e) {
                        return;
                    }
                    continue;
                }
            }
            let op = self.take_op();
            match self.apply(op) {
                Ok(Done::Continue) => self.resumed(),
                Ok(Done::Closed(result)) => {
                    let _ = self.closed.send(result);
                    return;
                }
                Err((op, e)) => {
                    self.shared.lock().queue.push_front(op);
                    if self.failed(e) {
                        return;
                    }
                }
            }
        }
    }

    fn open(&mut self) -> Result<(), StoreError> {
        let Some(lock) = self.lock.take() else {
            unreachable!("the lock is held until the writer owns it");
        };
        let (opts, ident) = (self.opts.clone(), self.ident.clone());
        match Writer::open_locked(opts, ident, Anchor::now(), lock, Some(self.first_seq)) {
            Ok((writer, recoveries)) => {
                let path = writer.active_path().to_owned();
                self.writer = Some(writer);
                self.syncer = Syncer::start(Arc::clone(&self.shared), self.reports.clone());
                self.resumed();
                let _ = self.reports.send(StoreReport::Opened { path, recoveries });
                Ok(())
            }
            Err((e, lock)) => {
                self.lock = Some(lock);
                Err(e)
            }
        }
    }

    /// The next op, waiting for one.
    fn take_op(&self) -> Op {
        let mut s = self.shared.lock();
        loop {
            if let Some(op) = s.queue.pop_front() {
                return op;
            }
            s = self.shared.wait(s, Duration::from_secs(3600));
        }
    }

    fn apply(&mut self, op: Op) -> Result<Done, (Op, StoreError)> {
        let Some(w) = self.writer.as_mut() else {
            unreachable!("ops are applied once the writer is open");
        };
        match op {
            Op::Frame { seq, ref bytes } => match w.write_frame(seq, bytes) {
                Ok(()) => {
                    self.shared.lock().written_next_seq = seq + 1;
                    self.shared.wake.notify_all();
                    Ok(Done::Continue)
                }
                Err(source) => {
                    let s = self.shared.lock();
                    let e = StoreError::WriteFailed {
                        path: w.active_path().to_owned(),
                        source,
                        pending_frames: s.queue.frames() + 1,
                        pending_bytes: s.queue.frame_bytes() + bytes.len() as u64,
                    };
                    drop(s);
                    Err((op, e))
                }
            },
            Op::Sync => {
                match (w.sync_handle(), &self.syncer) {
                    (Ok((file, path)), Some(syncer)) => syncer.request(file, path),
                    // Without a second descriptor the sync is done here.
                    _ => w.sync().map_err(|e| (Op::Sync, e))?,
                }
                Ok(Done::Continue)
            }
            Op::Rotate {
                seal_seq,
                now_mono_us,
                anchor,
            } => {
                w.skip_to(seal_seq);
                match w.rotate(now_mono_us, anchor) {
                    Ok(rot) => {
                        let _ = self.reports.send(StoreReport::Rotated(rot));
                        Ok(Done::Continue)
                    }
                    Err(e) => Err((op, e)),
                }
            }
            Op::Close {
                seal_seq,
                reason,
                now_mono_us,
            } => {
                if let Some(s) = self.syncer.take() {
                    s.finish();
                }
                let Some(mut w) = self.writer.take() else {
                    unreachable!("checked above");
                };
                w.skip_to(seal_seq);
                // A failed close is final: the segment is repaired at the next start.
                Ok(Done::Closed(w.close(reason, now_mono_us)))
            }
        }
    }

    fn resumed(&mut self) {
        if std::mem::take(&mut self.failing) {
            let _ = self.reports.send(StoreReport::Resumed);
        }
    }

    /// After a failure: reports it and waits for the retry. While closing, gives up
    /// instead: what is queued is lost, and the thread ends (returns true).
    fn failed(&mut self, e: StoreError) -> bool {
        let mut s = self.shared.lock();
        if s.closing {
            let lost_frames = s.queue.frames();
            drop(s);
            let path = self
                .writer
                .as_ref()
                .map_or_else(|| self.opts.dir.clone(), |w| w.active_path().to_owned());
            let _ = self.closed.send(Err(StoreError::CloseFailed {
                path,
                source: std::io::Error::other(e.to_string()),
                lost_frames,
            }));
            return true;
        }
        self.failing = true;
        let _ = self.reports.send(StoreReport::Failed(e));
        let until = Instant::now() + Duration::from_millis(RETRY_MS);
        while !s.closing {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = self.shared.wait(s, left);
        }
        false
    }
}

/// The `store-sync` thread: `fdatasync`s the descriptor it was last given.
pub(super) struct Syncer {
    job: Arc<(Mutex<SyncJob>, Condvar)>,
    handle: JoinHandle<()>,
}

#[derive(Default)]
struct SyncJob {
    file: Option<(File, PathBuf)>,
    stop: bool,
}

impl Syncer {
    /// `None` if the thread cannot be started: the writer thread then syncs itself.
    fn start(shared: Arc<Shared>, reports: mpsc::Sender<StoreReport>) -> Option<Self> {
        let job: Arc<(Mutex<SyncJob>, Condvar)> = Arc::default();
        let j = Arc::clone(&job);
        let handle = std::thread::Builder::new()
            .name("store-sync".into())
            .spawn(move || sync_loop(&j, &shared, &reports))
            .ok()?;
        Some(Self { job, handle })
    }

    /// Syncs `file` once the sync in progress (if any) is done; a request not started
    /// yet is replaced, as this one covers it.
    fn request(&self, file: File, path: PathBuf) {
        let (lock, wake) = &*self.job;
        lock.lock().unwrap_or_else(PoisonError::into_inner).file = Some((file, path));
        wake.notify_one();
    }

    /// Waits for the sync in progress and ends the thread (a request not started is
    /// dropped: closing syncs the segment anyway).
    fn finish(self) {
        let (lock, wake) = &*self.job;
        lock.lock().unwrap_or_else(PoisonError::into_inner).stop = true;
        wake.notify_one();
        let _ = self.handle.join();
    }
}

fn sync_loop(
    job: &(Mutex<SyncJob>, Condvar),
    shared: &Shared,
    reports: &mpsc::Sender<StoreReport>,
) {
    let (lock, wake) = job;
    let mut failing = false;
    loop {
        let mut j = lock.lock().unwrap_or_else(PoisonError::into_inner);
        while j.file.is_none() && !j.stop {
            j = wake.wait(j).unwrap_or_else(PoisonError::into_inner);
        }
        if j.stop {
            return;
        }
        let Some((file, path)) = j.file.take() else {
            continue;
        };
        drop(j);
        let started = Instant::now();
        let result = file.sync_data();
        let took_us = started.elapsed().as_micros() as u64;
        {
            let mut s = shared.lock();
            s.syncs.syncs += 1;
            s.syncs.total_us += took_us;
            s.syncs.max_us = s.syncs.max_us.max(took_us);
        }
        match result {
            Err(e) => {
                failing = true;
                let _ = reports.send(StoreReport::Failed(StoreError::io("fdatasync", &path, e)));
            }
            Ok(()) if std::mem::take(&mut failing) => {
                let _ = reports.send(StoreReport::Resumed);
            }
            Ok(()) => {}
        }
    }
}
