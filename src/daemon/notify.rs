//! systemd integration: READY once logging works, STOPPING at shutdown, and watchdog
//! pings driven by the sampling loop's progress (a stuck loop stops the pings, so
//! systemd restarts the daemon). Outside systemd every call is a no-op.

use sd_notify::NotifyState;

pub(super) struct Notifier {
    /// Half the watchdog timeout, µs; `None` without a watchdog.
    ping_every_us: Option<u64>,
    last_ping_us: u64,
}

impl Notifier {
    pub(super) fn new() -> Self {
        let mut usec = 0;
        let ping_every_us = sd_notify::watchdog_enabled(false, &mut usec).then_some(usec / 2);
        Self {
            ping_every_us,
            last_ping_us: 0,
        }
    }

    fn send(state: &[NotifyState]) {
        if let Err(e) = sd_notify::notify(false, state) {
            log::debug!("sd_notify: {e}");
        }
    }

    pub(super) fn ready(&self, status: &str) {
        Self::send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// Called after each completed tick.
    pub(super) fn progress(&mut self, now_us: u64) {
        if let Some(every) = self.ping_every_us {
            if now_us.saturating_sub(self.last_ping_us) >= every {
                self.last_ping_us = now_us;
                Self::send(&[NotifyState::Watchdog]);
            }
        }
    }

    pub(super) fn stopping(&self) {
        Self::send(&[NotifyState::Stopping]);
    }
}
