//! The daemon's side of the power reader: a thread polls the source; at every flush its
//! readings become `Power` records and its events are logged.

use crate::clock;
use crate::config::Config;
use crate::power::clock::MonoClock;
use crate::power::detect;
use crate::power::reader::PowerReader;
use crate::power::reader::ReaderConfig;
use crate::power::records::PowerLog;
use crate::record::Event;
use crate::record::Record;

/// Readings per `Power` block at most (a block is also cut at every flush).
const BLOCK_READINGS: u32 = 4096;

pub(super) struct PowerTap {
    reader: PowerReader,
    log: PowerLog,
}

impl PowerTap {
    /// Opens the configured source. Absent → `None` and, when one was expected, the
    /// `SensorAbsent` event to log (the warning is already printed).
    pub(super) fn start(cfg: &Config) -> (Option<Self>, Option<Event>) {
        let (source, absent) = detect::start(
            || detect::open_configured(&cfg.power),
            "power",
            clock::mono_us(),
        );
        let Some(source) = source else {
            return (None, absent);
        };
        let (id, label, period_us) = (source.id(), source.label(), source.period_us());
        match PowerReader::spawn(source, MonoClock, ReaderConfig::default()) {
            Ok(reader) => {
                let log = PowerLog::new(id, &label, period_us, BLOCK_READINGS);
                (Some(Self { reader, log }), absent)
            }
            Err(e) => {
                log::error!("cannot start the power reader thread: {e}; estimates only");
                (None, absent)
            }
        }
    }

    /// Everything received since the last call, as records.
    pub(super) fn drain(&mut self, out: &mut Vec<Record>) {
        self.log.drain(&self.reader.rx, out);
        out.extend(self.log.flush());
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
