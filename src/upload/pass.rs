//! One upload pass over a state directory: every sealed segment the manifest does not have
//! as done, oldest first, each object placed idempotently, each acknowledgment saved
//! before the next request.

mod place;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::path::PathBuf;
use std::time::Duration;
use std::time::Instant;

use super::config::UploadConfig;
use super::manifest::Manifest;
use super::objects;
use super::objects::Segment;
use super::s3::Client;
use super::s3::S3Error;
use super::throttle::backoff_ms;
use super::throttle::RateLimit;
use super::throttle::Stop;
use super::UploadError;
use super::LOCK_FILE;

/// A segment whose objects are all acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentDone {
    pub name: String,
    pub objects: u32,
    /// Bytes of its objects.
    pub bytes: u64,
    /// Bytes sent in this pass (less when some objects were on the server already).
    pub sent_bytes: u64,
    pub duration_ms: u64,
}

/// What a pass did.
#[derive(Debug, Default)]
pub struct PassReport {
    pub done: Vec<SegmentDone>,
    /// Sealed segments not uploaded after the pass, and their bytes. Both 0 when the
    /// pass ended before it could list them (`backlog_known` false).
    pub pending: usize,
    pub pending_bytes: u64,
    pub backlog_known: bool,
    /// What ended the pass early; the next pass starts where this one stopped.
    pub error: Option<UploadError>,
}

/// Uploads from one state directory to one bucket.
pub struct Uploader {
    cfg: UploadConfig,
    state_dir: PathBuf,
    /// Used for segments whose header is damaged.
    device_id: String,
    client: Client,
    limit: RateLimit,
    stop: Stop,
    /// Per-device spread of the backoff.
    spread: u64,
}

impl Uploader {
    /// Loads the credentials (and the CA file) and sets up the client. Nothing is sent yet.
    pub fn new(
        cfg: &UploadConfig,
        state_dir: &Path,
        device_id: &str,
        stop: Stop,
    ) -> Result<Self, UploadError> {
        if !cfg.configured() {
            return Err(UploadError::NotConfigured(cfg.destination()));
        }
        let client = super::connect(cfg)?;
        let spread = device_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Ok(Self {
            cfg: cfg.clone(),
            state_dir: state_dir.to_path_buf(),
            device_id: device_id.to_owned(),
            client,
            limit: RateLimit::new(cfg.bandwidth_kib_s.saturating_mul(1024)),
            stop,
            spread,
        })
    }

    /// Uploads what is not uploaded yet. Holds `upload.lock` while it runs.
    pub fn pass(&mut self) -> PassReport {
        let mut report = PassReport::default();
        let result = lock(&self.state_dir.join(LOCK_FILE)).and_then(|_lock| {
            let mut manifest = Manifest::load(&self.state_dir)?;
            let sealed = self.sealed()?;
            let present: BTreeSet<String> = sealed.iter().map(|(n, _)| n.clone()).collect();
            if manifest.forget_missing(&present) > 0 {
                manifest.save(&self.state_dir)?;
            }
            let todo = unacknowledged(sealed, &manifest);
            report.pending = todo.len();
            report.pending_bytes = todo.iter().map(|(_, len)| len).sum();
            report.backlog_known = true;
            for (path, len_bytes) in todo {
                let seg = Segment::open(&path, &self.device_id)?;
                let done = self.segment(&seg, &mut manifest)?;
                report.pending -= 1;
                report.pending_bytes = report.pending_bytes.saturating_sub(len_bytes);
                report.done.push(done);
            }
            Ok(())
        });
        report.error = result.err();
        report
    }

    fn sealed(&self) -> Result<Vec<(String, PathBuf)>, UploadError> {
        sealed(&self.state_dir)
    }

    /// Places every object of `seg` and marks it done.
    fn segment(
        &mut self,
        seg: &Segment,
        manifest: &mut Manifest,
    ) -> Result<SegmentDone, UploadError> {
        let started = Instant::now();
        let objects = objects::objects_for_segment(seg, &self.cfg.prefix)?;
        let (mut bytes, mut sent_bytes) = (0, 0);
        for object in &objects {
            let data = place::Data::read(object)?;
            bytes += data.len();
            if manifest.acked(&seg.name, &object.key, &data.sha256) {
                continue;
            }
            let acked = self.place(object, &data, manifest)?;
            if acked.sent {
                sent_bytes += acked.size;
            }
            log::info!(
                "uploaded {} as {} ({} bytes{})",
                seg.name,
                acked.key,
                acked.size,
                if acked.sent {
                    ""
                } else {
                    ", already on the server"
                }
            );
            manifest.ack(&seg.name, seg.len_bytes, acked);
            manifest.save(&self.state_dir)?;
        }
        if let Some(entry) = manifest.segments.get_mut(&seg.name) {
            entry.done = true;
        }
        manifest.save(&self.state_dir)?;
        Ok(SegmentDone {
            name: seg.name.clone(),
            objects: u32::try_from(objects.len()).unwrap_or(u32::MAX),
            bytes,
            sent_bytes,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// Runs `f` until it succeeds, fails for good, or `max_attempts` are used up, waiting
    /// the backoff between attempts.
    fn retry<T>(
        &mut self,
        mut f: impl FnMut(&mut Client, &mut RateLimit, &Stop) -> Result<T, S3Error>,
    ) -> Result<T, S3Error> {
        let mut attempt = 1;
        loop {
            match f(&mut self.client, &mut self.limit, &self.stop) {
                Ok(v) => return Ok(v),
                Err(e) if e.retryable() && attempt < self.cfg.max_attempts => {
                    let c = &self.cfg;
                    let wait_ms =
                        backoff_ms(attempt, c.backoff_initial_ms, c.backoff_max_ms, self.spread);
                    log::warn!(
                        "{e}; attempt {attempt} of {}, trying again in {wait_ms} ms",
                        c.max_attempts
                    );
                    if self.stop.wait(Duration::from_millis(wait_ms)) {
                        return Err(S3Error::Stopped);
                    }
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Sealed segments of a state directory, oldest first: (file name, path).
fn sealed(state_dir: &Path) -> Result<Vec<(String, PathBuf)>, UploadError> {
    let list =
        crate::store::list_segments(state_dir).map_err(|e| UploadError::Store(Box::new(e)))?;
    Ok(list
        .into_iter()
        .filter(|s| !s.open)
        .filter_map(|s| {
            let name = s.path.file_name()?.to_str()?.to_owned();
            Some((name, s.path))
        })
        .collect())
}

/// The sealed segments `manifest` does not have as done at their present size, oldest
/// first: (path, bytes).
fn unacknowledged(sealed: Vec<(String, PathBuf)>, manifest: &Manifest) -> Vec<(PathBuf, u64)> {
    let done = manifest.done();
    sealed
        .into_iter()
        .filter_map(|(name, path)| {
            let len = std::fs::metadata(&path).map(|m| m.len()).ok();
            (done.get(name.as_str()).map(|&l| Some(l)) != Some(len))
                .then(|| (path, len.unwrap_or(0)))
        })
        .collect()
}

/// Sealed segments of `state_dir` not yet acknowledged, and their bytes, read without
/// the upload lock (for a daemon whose uploader could not start).
pub fn backlog(state_dir: &Path) -> Result<(usize, u64), UploadError> {
    let todo = unacknowledged(sealed(state_dir)?, &Manifest::load(state_dir)?);
    Ok((todo.len(), todo.iter().map(|(_, len)| len).sum()))
}

/// Takes the exclusive `flock` on `path` (created if missing) and writes our pid into it.
fn lock(path: &Path) -> Result<File, UploadError> {
    let err = |source| UploadError::Lock {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(err)?;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(err(e));
        }
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = Some(holder.trim().to_owned()).filter(|h| !h.is_empty());
        return Err(UploadError::Busy {
            holder: holder.unwrap_or_else(|| "unknown".to_owned()),
        });
    }
    use std::io::Write;
    file.set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()))
        .map_err(err)?;
    Ok(file)
}
