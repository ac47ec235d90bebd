//! The daemon's side of the power reader: a thread polls the source; at every flush its
//! readings become `Power` records and its events are logged.

use crate::clock::MonoClock;
use crate::config::Config;
use crate::power::detect;
use crate::power::detect::Absent;
use crate::power::reader::PowerMsg;
use crate::power::reader::PowerReader;
use crate::power::reader::ReaderConfig;
use crate::power::reader::POWER_THREAD_NICE;
use crate::power::PowerReading;
use crate::power::SourceId;
use crate::record::Record;

use super::history::PowerHistory;
use super::power_log::PowerLog;
use super::OpenPower;

/// Readings per `Power` block at most (a block is also cut at every flush).
const BLOCK_READINGS: u32 = 4096;

/// How long recent readings are kept in memory for per-run energy, at least, µs; a plan
/// whose runs may take longer asks for more ([`PowerTap::keep_at_least`]).
const HISTORY_US: u64 = 15 * 60 * 1_000_000;

/// A message of the reader: a reading goes into the history, and everything into the log.
fn take(history: &mut PowerHistory, log: &mut PowerLog, msg: PowerMsg, out: &mut Vec<Record>) {
    if let PowerMsg::Reading(r) = &msg {
        history.extend([*r]);
    }
    log.push(msg, out);
}

#[cfg_attr(not(feature = "llama"), allow(dead_code))]
pub(super) struct PowerTap {
    /// `None` once stopped (the history stays, for the runs still to settle).
    reader: Option<PowerReader>,
    log: PowerLog,
    history: PowerHistory,
    label: String,
    period_us: u64,
    id: SourceId,
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
        let reader_cfg = ReaderConfig {
            thread_nice: Some(POWER_THREAD_NICE),
            ..ReaderConfig::default()
        };
        match PowerReader::spawn(source, MonoClock, reader_cfg) {
            Ok(reader) => {
                let log = PowerLog::new(id, &label, period_us, BLOCK_READINGS);
                let tap = Self {
                    reader: Some(reader),
                    log,
                    history: PowerHistory::new(HISTORY_US),
                    label,
                    period_us,
                    id,
                };
                (Some(tap), absent)
            }
            Err(e) => {
                log::error!("cannot start the power reader thread: {e}; estimates only");
                (None, absent)
            }
        }
    }

    /// Moves what the reader sent into the history and the block being filled (full
    /// blocks and notices go to `out`).
    pub(super) fn receive(&mut self, out: &mut Vec<Record>) {
        let Some(reader) = &self.reader else {
            return;
        };
        for msg in reader.rx.try_iter() {
            take(&mut self.history, &mut self.log, msg, out);
        }
    }

    /// Everything received since the last call, as records (the block is cut).
    pub(super) fn drain(&mut self, out: &mut Vec<Record>) {
        self.receive(out);
        out.extend(self.log.flush());
    }

    /// Keeps readings for at least `keep_us` from now on.
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
    pub(super) fn keep_at_least(&mut self, keep_us: u64) {
        self.history.keep_at_least(keep_us);
    }

    /// The source's wire name (`ina219`, `pmic`, …).
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
    pub(super) const fn source_name(&self) -> &'static str {
        self.id.name()
    }

    /// The newest valid reading drained so far.
    pub(super) fn newest_valid(&self) -> Option<PowerReading> {
        self.history.newest_valid()
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
        match self.reader.as_mut()?.join_if_ended()? {
            Err(panic) => Some(super::watch::panic_message(&*panic)),
            Ok(_) => None,
        }
    }

    /// Stops the thread and returns the last records; the history stays.
    pub(super) fn stop(&mut self, out: &mut Vec<Record>) {
        let Some(reader) = self.reader.take() else {
            return;
        };
        let (stats, rest) = reader.finish();
        for msg in rest {
            take(&mut self.history, &mut self.log, msg, out);
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
