//! The daemon's side of the power reader: a thread polls the source; at every flush its
//! readings become `Power` records and its events are logged.

use crate::clock::MonoClock;
use crate::config::Config;
use crate::power::detect;
use crate::power::detect::Absent;
use crate::power::reader::PowerMsg;
use crate::power::reader::PowerReader;
use crate::power::reader::ReaderConfig;
use crate::record::Record;

use super::history::PowerHistory;
use super::power_log::PowerLog;
use super::OpenPower;

/// Readings per `Power` block at most (a block is also cut at every flush).
const BLOCK_READINGS: u32 = 4096;

/// How long recent readings are kept in memory for per-run energy, µs.
const HISTORY_US: u64 = 15 * 60 * 1_000_000;

#[cfg_attr(not(feature = "llama"), allow(dead_code))]
pub(super) struct PowerTap {
    reader: PowerReader,
    log: PowerLog,
    history: PowerHistory,
    label: String,
    period_us: u64,
}

impl PowerTap {
    /// Opens the configured source (or `open`'s). Absent → `None` and, when one was
    /// expected, what is absent, to log as an event (the warning is already printed).
    pub(super) fn start(cfg: &Config, open: Option<&OpenPower>) -> (Option<Self>, Option<Absent>) {
        let (source, absent) = detect::start(
            || open.map_or_else(|| detect::open_configured(&cfg.power), |f| f()),
            "power",
        );
        let Some(source) = source else {
            return (None, absent);
        };
        let (id, label, period_us) = (source.id(), source.label(), source.period_us());
        match PowerReader::spawn(source, MonoClock, ReaderConfig::default()) {
            Ok(reader) => {
                let log = PowerLog::new(id, &label, period_us, BLOCK_READINGS);
                let tap = Self {
                    reader,
                    log,
                    history: PowerHistory::new(HISTORY_US),
                    label,
                    period_us,
                };
                (Some(tap), absent)
            }
            Err(e) => {
                log::error!("cannot start the power reader thread: {e}; estimates only");
                (None, absent)
            }
        }
    }

    /// Everything received since the last call, as records.
    pub(super) fn drain(&mut self, out: &mut Vec<Record>) {
        for msg in self.reader.rx.try_iter() {
            if let PowerMsg::Reading(r) = &msg {
                self.history.extend([*r]);
            }
            self.log.push(msg, out);
        }
        out.extend(self.log.flush());
    }

    /// Recent readings (call [`drain`](Self::drain) first for the newest).
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
    pub(super) const fn history(&self) -> &PowerHistory {
        &self.history
    }

    /// What the source measures and misses, with its configuration.
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
    pub(super) fn label(&self) -> &str {
        &self.label
    }

    /// Nominal polling period, µs.
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
    pub(super) const fn period_us(&self) -> u64 {
        self.period_us
    }

    /// If the reader thread died (a panic): why. A reader that ended by itself (the end
    /// of a replayed trace) did not die.
    pub(super) fn died(&mut self) -> Option<String> {
        match self.reader.join_if_ended()? {
            Err(panic) => Some(super::watch::panic_message(&*panic)),
            Ok(_) => None,
        }
    }

    /// Stops the thread and returns the last records.
    pub(super) fn stop(mut self, out: &mut Vec<Record>) {
        let (stats, rest) = self.reader.finish();
        for msg in rest {
            self.log.push(msg, out);
        }
        out.extend(self.log.flush());
        log::info!(
            "power reader: {} readings, {} failures, {} recoveries",
            stats.readings,
            stats.failures,
            stats.recoveries
        );
    }
}
