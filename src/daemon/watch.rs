//! The threads beside the sampling loop, checked at every flush. A power reader that
//! died is logged (`thread_died`) and started again after a delay that doubles with each
//! death (1 s up to 10 min, back to 1 s after 10 min without one); a workload thread
//! that died is logged and started again at once (its plans are due again by their
//! `[when]`). A store writer that died ends the daemon with an error: nothing could be
//! logged any more, and systemd restarts it (`Restart=on-failure`); the segment is
//! repaired at that start.

use std::any::Any;

use super::power::PowerTap;
use super::state::Daemon;
use super::DaemonError;
use crate::record::Event;
use crate::record::EventKind;

const RESTART_MIN_US: u64 = 1_000_000;
const RESTART_MAX_US: u64 = 600_000_000;

/// The message of a panic, as `panic!` was given it.
pub(super) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked (no message)".to_owned()
    }
}

/// When a thread that died is started again.
#[derive(Debug)]
pub(super) struct Restart {
    at_us: Option<u64>,
    delay_us: u64,
    started_us: u64,
}

impl Restart {
    pub(super) const fn new(now_us: u64) -> Self {
        Self {
            at_us: None,
            delay_us: RESTART_MIN_US,
            started_us: now_us,
        }
    }

    /// The thread died at `now_us`: the delay before it starts again.
    pub(super) fn died(&mut self, now_us: u64) -> u64 {
        if now_us.saturating_sub(self.started_us) >= RESTART_MAX_US {
            self.delay_us = RESTART_MIN_US;
        }
        let delay_us = self.delay_us;
        self.delay_us = (delay_us * 2).min(RESTART_MAX_US);
        self.at_us = Some(now_us + delay_us);
        delay_us
    }

    /// Whether it is time to start it again (then it counts as started).
    pub(super) fn due(&mut self, now_us: u64) -> bool {
        if self.at_us.is_some_and(|at| now_us >= at) {
            self.at_us = None;
            self.started_us = now_us;
            return true;
        }
        false
    }
}

impl Daemon {
    /// Checks the store writer, the power reader and the workload thread.
    pub(super) fn watch(&mut self, now_us: u64) -> Result<(), DaemonError> {
        self.store.check_alive()?;
        self.watch_power(now_us);
        #[cfg(feature = "llama")]
        self.watch_workloads();
        Ok(())
    }

    fn watch_power(&mut self, now_us: u64) {
        if let Some(why) = self.power.as_mut().and_then(PowerTap::died) {
            if let Some(tap) = self.power.take() {
                tap.stop(&mut self.records);
            }
            let delay_us = self.power_restart.died(now_us);
            log::error!(
                "the power reader thread died: {why}; it starts again in {} s",
                delay_us / 1_000_000
            );
            // Stamped with the time the delay counts from.
            self.events.push(Event {
                mono_us: now_us,
                kind: EventKind::ThreadDied {
                    thread: "power".into(),
                    message: why,
                    restart_after_ms: Some(delay_us / 1000),
                },
            });
        }
        if self.power_restart.due(now_us) {
            let (tap, absent) = PowerTap::start(&self.cfg, self.opts.power_source.as_ref());
            if let Some(t) = &tap {
                log::info!("power reader started again: {}", t.label());
            }
            self.power = tap;
            if let Some(absent) = absent {
                self.event(absent.into());
            }
        }
    }

    #[cfg(feature = "llama")]
    fn watch_workloads(&mut self) {
        let Some(result) = self.plans.as_mut().and_then(super::plans::Plans::watch) else {
            return;
        };
        let (message, restart_after_ms) = match result {
            Ok(why) => {
                log::error!(
                    "the workload thread died: {why}; it was started again, and the \
                     plans it had are due again by their [when]"
                );
                (why, Some(0))
            }
            Err((why, e)) => {
                log::error!("the workload thread died: {why}; it cannot start again: {e}");
                (format!("{why}; cannot start again: {e}"), None)
            }
        };
        self.event(EventKind::ThreadDied {
            thread: "workloads".into(),
            message,
            restart_after_ms,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_back_off_and_reset_after_a_long_healthy_run() {
        let mut r = Restart::new(0);
        assert!(!r.due(u64::MAX), "nothing died");
        assert_eq!(r.died(10), 1_000_000);
        assert!(!r.due(10 + 999_999));
        assert!(r.due(1_000_010));
        assert!(!r.due(1_000_011), "once");
        assert_eq!(r.died(2_000_000), 2_000_000);
        assert!(r.due(4_000_000));
        assert_eq!(r.died(4_000_001), 4_000_000);
        assert!(r.due(8_000_001));
        // Ten minutes without a death: the delay is short again.
        assert_eq!(r.died(8_000_001 + RESTART_MAX_US), 1_000_000);
    }

    #[test]
    fn a_panic_message_is_kept() {
        let p = std::panic::catch_unwind(|| panic!("bus {} gone", 1)).unwrap_err();
        assert_eq!(panic_message(&*p), "panicked: bus 1 gone");
        let p = std::panic::catch_unwind(|| panic!("static")).unwrap_err();
        assert_eq!(panic_message(&*p), "panicked: static");
    }
}
