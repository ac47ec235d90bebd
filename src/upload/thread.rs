//! The daemon's upload thread: a pass over the state directory every `interval_s`, off the
//! sampling tick; a failed pass is logged and the next one goes on where it stopped.

use std::path::Path;
use std::sync::mpsc::Receiver;
use std::sync::mpsc::RecvTimeoutError;
use std::thread::JoinHandle;
use std::time::Duration;

use super::config::UploadConfig;
use super::throttle::Stop;
use super::PassReport;
use super::UploadError;
use super::Uploader;

/// How long [`UploadThread::stop`] waits for a request in flight to end. A request
/// without a body (HEAD) is not cut short by the stop; the daemon does not wait for its
/// network timeout to seal its segment and exit.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// The running upload thread.
pub struct UploadThread {
    stop: Stop,
    handle: JoinHandle<()>,
    /// Disconnected when the thread ends.
    ended: Receiver<()>,
}

impl UploadThread {
    /// Starts the thread if `[upload] enabled`. Credentials and the CA file are loaded
    /// now, so a daemon that cannot upload says why at start (and keeps sampling).
    /// `on_pass` sees each pass's report (the daemon's metrics show the backlog from it).
    pub fn start(
        cfg: &UploadConfig,
        state_dir: &Path,
        device_id: &str,
        mut on_pass: impl FnMut(&PassReport) + Send + 'static,
    ) -> Result<Option<Self>, UploadError> {
        if !cfg.enabled {
            return Ok(None);
        }
        let stop = Stop::new();
        let mut uploader = Uploader::new(cfg, state_dir, device_id, stop.clone())?;
        let interval = Duration::from_secs(cfg.interval_s);
        let destination = cfg.destination();
        let thread_stop = stop.clone();
        let (alive, ended) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("upload".to_owned())
            .spawn(move || {
                let _alive = alive;
                log::info!("uploading sealed segments to {destination}");
                loop {
                    let report = uploader.pass();
                    match &report.error {
                        Some(super::UploadError::S3(super::S3Error::Stopped)) => return,
                        Some(e) => log::warn!(
                            "upload: {e}; {} segments pending, next try in {} s",
                            report.pending,
                            interval.as_secs()
                        ),
                        None => {}
                    }
                    on_pass(&report);
                    if thread_stop.wait(interval) {
                        return;
                    }
                }
            })
            .map_err(UploadError::Thread)?;
        Ok(Some(Self {
            stop,
            handle,
            ended,
        }))
    }

    /// Cuts the transfer in flight short and waits (at most `STOP_WAIT`) for the thread.
    /// What was not acknowledged is sent by the next run.
    pub fn stop(self) {
        self.stop.stop();
        match self.ended.recv_timeout(STOP_WAIT) {
            Err(RecvTimeoutError::Timeout) => log::warn!(
                "upload: a request is still waiting for the server; left behind (the next \
                 start sends what it did not finish)"
            ),
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                if self.handle.join().is_err() {
                    log::error!("the upload thread panicked");
                }
            }
        }
    }
}
