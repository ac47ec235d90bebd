//! The power reader thread: polls one [`PowerSource`] at its period, delivers readings and
//! events over a channel, retries failures with exponential backoff, and says so in the log.
//!
//! A failure never ends the thread (only a configuration error or the end of a replayed
//! trace does): the first failure of an outage gives a [`PowerNotice::Fault`], repeated
//! failures at most one more per `fault_log_interval_us`, and the first good reading after
//! it a [`PowerNotice::Recovered`] with the failure count and the length of the hole.
//! Readings are checked for under-voltage (edge-triggered, 50 mV hysteresis) and stuck
//! sensors. The reader only reports; the daemon logs each notice as an event.

use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use super::flags;
use super::PowerReading;
use super::PowerSource;
use crate::clock::Clock;

/// Hysteresis of the under-voltage event, µV.
pub const UNDER_VOLTAGE_HYSTERESIS_UV: i64 = 50_000;

/// What the reader thread sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PowerMsg {
    Reading(PowerReading),
    /// Something the reader noticed at CLOCK_MONOTONIC `mono_us`.
    Notice {
        mono_us: u64,
        notice: PowerNotice,
    },
}

/// What a power reader reports besides readings; `source` is the source's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PowerNotice {
    /// The source failed (bus error, chip reset, overflow, stuck readings, or an end that
    /// stops the reader); readings stop until a `Recovered`.
    Fault { source: String, message: String },
    /// The supply voltage fell below the source's under-voltage threshold, µV.
    UnderVoltage { source: String, bus_uv: i64 },
    /// Readings again after `failures` failed polls and `gap_us` without readings.
    Recovered {
        source: String,
        failures: u64,
        gap_us: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderConfig {
    pub backoff_min_us: u64,
    pub backoff_max_us: u64,
    /// At most one `PowerFault` event per this interval during an outage.
    pub fault_log_interval_us: u64,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        Self {
            backoff_min_us: 10_000,
            backoff_max_us: 2_000_000,
            fault_log_interval_us: 60_000_000,
        }
    }
}

/// Counters the loop keeps; returned when it ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReaderStats {
    pub polls: u64,
    pub readings: u64,
    /// Polls with nothing new (no conversion finished since the last one).
    pub empty_polls: u64,
    pub failures: u64,
    pub recoveries: u64,
    pub stuck_readings: u64,
    pub under_voltage_events: u64,
}

#[derive(Debug, Default)]
struct Outage {
    since_us: u64,
    failures: u64,
    last_logged_us: u64,
}

fn notice(mono_us: u64, notice: PowerNotice) -> PowerMsg {
    PowerMsg::Notice { mono_us, notice }
}

/// Runs the polling loop on the calling thread until `stop` is set, `until_us` is reached on
/// `clock`, the receiver hangs up, or the source ends.
pub fn run_loop<S: PowerSource, C: Clock>(
    source: &mut S,
    clock: &C,
    cfg: &ReaderConfig,
    tx: &mpsc::Sender<PowerMsg>,
    stop: &AtomicBool,
    until_us: Option<u64>,
) -> ReaderStats {
    let name = source.id().name().to_string();
    let period_us = source.period_us().max(1);
    let threshold_uv = source.under_voltage_uv();
    let mut stats = ReaderStats::default();
    let mut outage: Option<Outage> = None;
    let mut backoff_us = cfg.backoff_min_us;
    let mut under_voltage = false;
    let mut stuck = false;
    let mut deadline = clock.now_us();
    loop {
        let now = clock.now_us();
        if stop.load(Ordering::Relaxed) || until_us.is_some_and(|u| now >= u) {
            break;
        }
        stats.polls += 1;
        let mut retry_soon = false;
        let mut out = Vec::new();
        match source.poll(now) {
            Ok(Some(mut r)) => {
                backoff_us = cfg.backoff_min_us;
                if let Some(o) = outage.take() {
                    stats.recoveries += 1;
                    out.push(notice(
                        now,
                        PowerNotice::Recovered {
                            source: name.clone(),
                            failures: o.failures,
                            gap_us: now.saturating_sub(o.since_us),
                        },
                    ));
                }
                if let (Some(limit), Some(bus)) = (threshold_uv, r.bus_uv) {
                    if bus < limit {
                        r.flags |= flags::UNDER_VOLTAGE;
                        if !under_voltage {
                            stats.under_voltage_events += 1;
                            out.push(notice(
                                now,
                                PowerNotice::UnderVoltage {
                                    source: name.clone(),
                                    bus_uv: bus,
                                },
                            ));
                        }
                        under_voltage = true;
                    } else if bus >= limit + UNDER_VOLTAGE_HYSTERESIS_UV {
                        under_voltage = false;
                    }
                }
                let now_stuck = r.flags & flags::STUCK != 0;
                if now_stuck {
                    stats.stuck_readings += 1;
                    if !stuck {
                        out.push(notice(
                            now,
                            PowerNotice::Fault {
                                source: name.clone(),
                                message: format!(
                                    "readings stuck at {} µW although the sensor reports new \
                                     conversions; they count as a gap",
                                    r.power_uw
                                ),
                            },
                        ));
                    }
                }
                stuck = now_stuck;
                stats.readings += 1;
                out.push(PowerMsg::Reading(r));
            }
            Ok(None) => {
                // The conversion is late: look again soon rather than a whole period later.
                stats.empty_polls += 1;
                retry_soon = true;
            }
            Err(e) if !e.is_transient() => {
                let fault = PowerNotice::Fault {
                    source: name.clone(),
                    message: format!("{e}; power reader stopped"),
                };
                let _ = tx.send(notice(now, fault));
                break;
            }
            Err(e) => {
                stats.failures += 1;
                let message = e.to_string();
                let o = outage.get_or_insert_with(|| Outage {
                    since_us: now,
                    ..Outage::default()
                });
                o.failures += 1;
                let first = o.failures == 1;
                if first || now.saturating_sub(o.last_logged_us) >= cfg.fault_log_interval_us {
                    if first {
                        log::warn!("power source {name}: {message}; retrying with backoff");
                    }
                    o.last_logged_us = now;
                    out.push(notice(
                        now,
                        PowerNotice::Fault {
                            source: name.clone(),
                            message: format!("{message} (failure {} of this outage)", o.failures),
                        },
                    ));
                }
                for m in out.drain(..) {
                    if tx.send(m).is_err() {
                        return stats;
                    }
                }
                clock.sleep_us(backoff_us);
                backoff_us = (backoff_us * 2).min(cfg.backoff_max_us);
                if let Err(e) = source.recover() {
                    log::debug!("power source {name}: {e}");
                }
                deadline = clock.now_us();
                continue;
            }
        }
        for m in out {
            if tx.send(m).is_err() {
                return stats;
            }
        }
        deadline = if retry_soon {
            now + (period_us / 8).max(1)
        } else {
            deadline + period_us
        };
        let now = clock.now_us();
        if deadline > now {
            clock.sleep_us(deadline - now);
        } else if now - deadline > period_us {
            deadline = now;
        }
    }
    stats
}

/// A running reader thread.
pub struct PowerReader {
    pub rx: mpsc::Receiver<PowerMsg>,
    /// The source's label, captured at start.
    pub label: String,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<ReaderStats>>,
    /// The counters of a thread joined by [`PowerReader::join_if_ended`].
    ended: Option<ReaderStats>,
}

impl PowerReader {
    /// Starts polling `source` on a thread named `power-<source>`.
    pub fn spawn<S, C>(mut source: S, clock: C, cfg: ReaderConfig) -> std::io::Result<Self>
    where
        S: PowerSource + 'static,
        C: Clock + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let label = source.label();
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name(format!("power-{}", source.id().name()))
            .spawn(move || run_loop(&mut source, &clock, &cfg, &tx, &flag, None))?;
        Ok(Self {
            rx,
            label,
            stop,
            handle: Some(handle),
            ended: None,
        })
    }

    /// If the thread has ended (the source ended, or the thread panicked), joins it: its
    /// counters, or the panic. `None` while it runs, and once joined.
    pub fn join_if_ended(&mut self) -> Option<std::thread::Result<ReaderStats>> {
        if !self.handle.as_ref()?.is_finished() {
            return None;
        }
        let result = self.handle.take()?.join();
        self.ended = result.as_ref().ok().copied();
        Some(result)
    }

    /// Stops the thread (within one poll period or backoff) and returns its counters.
    pub fn stop(mut self) -> ReaderStats {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .and_then(|h| h.join().ok())
            .or(self.ended)
            .unwrap_or_default()
    }
}

impl PowerReader {
    /// Stops the thread, then returns its counters and every message it sent that was
    /// not received yet, so nothing read before the stop is lost.
    pub fn finish(mut self) -> (ReaderStats, Vec<PowerMsg>) {
        self.stop.store(true, Ordering::Relaxed);
        let stats = self
            .handle
            .take()
            .and_then(|h| h.join().ok())
            .or(self.ended)
            .unwrap_or_default();
        (stats, self.rx.try_iter().collect())
    }
}

impl Drop for PowerReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
