//! The daemon's upload thread: a pass over the state directory every `interval_s`, off the
//! sampling tick; a failed pass is logged and the next one goes on where it stopped.

use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use super::config::UploadConfig;
use super::throttle::Stop;
use super::UploadError;
use super::Uploader;

/// The running upload thread.
pub struct UploadThread {
    stop: Stop,
    handle: JoinHandle<()>,
}

impl UploadThread {
    /// Starts the thread if `[upload] enabled`. Credentials and the CA file are loaded
    /// now, so a daemon that cannot upload says why at start (and keeps sampling).
    pub fn start(
        cfg: &UploadConfig,
        state_dir: &Path,
        device_id: &str,
    ) -> Result<Option<Self>, UploadError> {
        if !cfg.enabled {
            return Ok(None);
        }
        let stop = Stop::new();
        let mut uploader = Uploader::new(cfg, state_dir, device_id, stop.clone())?;
        let interval = Duration::from_secs(cfg.interval_s);
        let destination = cfg.destination();
        let thread_stop = stop.clone();
        let handle = std::thread::Builder::new()
            .name("upload".to_owned())
            .spawn(move || {
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
                    if thread_stop.wait(interval) {
                        return;
                    }
                }
            })
            .map_err(UploadError::Thread)?;
        Ok(Some(Self { stop, handle }))
    }

    /// Cuts the transfer in flight short and waits for the thread. What was not
    /// acknowledged is sent by the next run.
    pub fn stop(self) {
        self.stop.stop();
        if self.handle.join().is_err() {
            log::error!("the upload thread panicked");
        }
    }
}
