//! Turns what the power reader thread sends into log records: notices as events at once,
//! readings in [`PowerBlock`](crate::record::PowerBlock)s of up to `block_readings`.

use crate::power::reader::PowerMsg;
use crate::record::Event;
use crate::record::PowerBlockBuilder;
use crate::record::Record;
use crate::record::SourceId;

/// Collects a reader's messages into records for the store.
#[derive(Debug)]
pub(super) struct PowerLog {
    builder: PowerBlockBuilder,
    block_readings: u32,
}

impl PowerLog {
    /// `label` and `period_us` are the source's; a block is closed every `block_readings`.
    #[must_use]
    pub(super) fn new(source: SourceId, label: &str, period_us: u64, block_readings: u32) -> Self {
        Self {
            builder: PowerBlockBuilder::new(source, label, period_us),
            block_readings: block_readings.max(1),
        }
    }

    /// Adds one message; appends to `out` the records it completes.
    pub(super) fn push(&mut self, msg: PowerMsg, out: &mut Vec<Record>) {
        match msg {
            PowerMsg::Notice { mono_us, notice } => out.push(Record::Event(Event {
                mono_us,
                kind: notice.into(),
            })),
            PowerMsg::Reading(r) => {
                if let Err(e) = self.builder.push(&r) {
                    log::warn!("power reading not recorded: {e}");
                    return;
                }
                if self.builder.len() >= self.block_readings {
                    out.extend(self.builder.finish().map(Record::Power));
                }
            }
        }
    }

    /// Closes the current block (at shutdown or before a segment rotates).
    pub(super) fn flush(&mut self) -> Option<Record> {
        self.builder.finish().map(Record::Power)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power::reader::PowerNotice;
    use crate::record::EventKind;
    use crate::record::PowerReading;

    #[test]
    fn notices_are_logged_as_events_at_once_and_readings_fill_blocks() {
        let mut log = PowerLog::new(SourceId::Pmic, "pmic", 100_000, 2);
        let mut out = Vec::new();
        let reading = |t| PowerMsg::Reading(PowerReading::power_only(t, SourceId::Pmic, 5));
        log.push(reading(1), &mut out);
        assert!(out.is_empty());
        let notice = PowerNotice::Fault {
            source: "pmic".into(),
            message: "m".into(),
        };
        log.push(PowerMsg::Notice { mono_us: 2, notice }, &mut out);
        let fault = Event {
            mono_us: 2,
            kind: EventKind::PowerFault {
                source: "pmic".into(),
                message: "m".into(),
            },
        };
        log.push(reading(3), &mut out);
        log.push(reading(4), &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], Record::Event(fault));
        let Record::Power(block) = &out[1] else {
            panic!("{:?}", out[1]);
        };
        let times: Vec<u64> = block.decode().unwrap().iter().map(|r| r.mono_us).collect();
        assert_eq!(times, [1, 3]);
        let Some(Record::Power(rest)) = log.flush() else {
            panic!("one reading left");
        };
        assert_eq!(rest.count, 1);
        assert_eq!(log.flush(), None);
    }
}
