//! The polling loop's state between polls: what a reading or a failed poll adds to the
//! counters, and the notices they give (a recovery, under-voltage and stuck readings when
//! they start, faults at a limited rate during an outage).

use super::notice;
use super::PowerMsg;
use super::PowerNotice;
use super::ReaderStats;
use super::UNDER_VOLTAGE_HYSTERESIS_UV;
use crate::power::flags;
use crate::power::PowerReading;

#[derive(Debug, Default)]
struct Outage {
    since_us: u64,
    failures: u64,
    last_logged_us: u64,
}

/// The loop's state between polls: what it counts and the conditions it reports once.
pub(super) struct LoopState {
    pub(super) name: String,
    threshold_uv: Option<i64>,
    pub(super) stats: ReaderStats,
    outage: Option<Outage>,
    pub(super) backoff_us: u64,
    under_voltage: bool,
    stuck: bool,
}

impl LoopState {
    /// The state of a loop that has not polled yet: source `name`, its under-voltage
    /// threshold, µV, and the first backoff.
    pub(super) fn new(name: String, threshold_uv: Option<i64>, backoff_us: u64) -> Self {
        Self {
            name,
            threshold_uv,
            stats: ReaderStats::default(),
            outage: None,
            backoff_us,
            under_voltage: false,
            stuck: false,
        }
    }

    /// A reading: ends an outage, flags under-voltage and stuck readings (each reported
    /// when it starts), and queues the reading after its notices.
    pub(super) fn on_reading(
        &mut self,
        now: u64,
        mut r: PowerReading,
        min_backoff_us: u64,
    ) -> Vec<PowerMsg> {
        let mut out = Vec::new();
        self.backoff_us = min_backoff_us;
        if let Some(o) = self.outage.take() {
            self.stats.recoveries += 1;
            out.push(notice(
                now,
                PowerNotice::Recovered {
                    source: self.name.clone(),
                    failures: o.failures,
                    gap_us: now.saturating_sub(o.since_us),
                },
            ));
        }
        if let (Some(limit), Some(bus)) = (self.threshold_uv, r.bus_uv) {
            if bus < limit {
                r.flags |= flags::UNDER_VOLTAGE;
                if !self.under_voltage {
                    self.stats.under_voltage_events += 1;
                    let source = self.name.clone();
                    let n = PowerNotice::UnderVoltage {
                        source,
                        bus_uv: bus,
                    };
                    out.push(notice(now, n));
                }
                self.under_voltage = true;
            } else if bus >= limit + UNDER_VOLTAGE_HYSTERESIS_UV {
                self.under_voltage = false;
            }
        }
        let now_stuck = r.flags & flags::STUCK != 0;
        if now_stuck {
            self.stats.stuck_readings += 1;
            if !self.stuck {
                let message = format!(
                    "readings stuck at {} µW although the sensor reports new conversions; \
                     they count as a gap",
                    r.power_uw
                );
                let source = self.name.clone();
                out.push(notice(now, PowerNotice::Fault { source, message }));
            }
        }
        self.stuck = now_stuck;
        self.stats.readings += 1;
        out.push(PowerMsg::Reading(r));
        out
    }

    /// A transient failure: counted into the outage; the first one, and then one every
    /// `fault_log_interval_us`, is reported.
    pub(super) fn on_failure(
        &mut self,
        now: u64,
        message: &str,
        fault_log_interval_us: u64,
    ) -> Option<PowerMsg> {
        self.stats.failures += 1;
        let o = self.outage.get_or_insert_with(|| Outage {
            since_us: now,
            ..Outage::default()
        });
        o.failures += 1;
        let first = o.failures == 1;
        if !first && now.saturating_sub(o.last_logged_us) < fault_log_interval_us {
            return None;
        }
        if first {
            log::warn!(
                "power source {}: {message}; retrying with backoff",
                self.name
            );
        }
        o.last_logged_us = now;
        let fault = PowerNotice::Fault {
            source: self.name.clone(),
            message: format!("{message} (failure {} of this outage)", o.failures),
        };
        Some(notice(now, fault))
    }
}
