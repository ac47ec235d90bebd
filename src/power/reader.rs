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

mod state;

use super::PowerReading;
use super::PowerSource;
use crate::clock::Clock;
use state::LoopState;

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

/// The nice value the daemon's power reader thread asks for: above llama.cpp's threads
/// (nice 0), so a worker saturating every core does not delay the polls. Lowering a nice
/// value needs `CAP_SYS_NICE` or an `RLIMIT_NICE` that allows it (the unit's `LimitNICE=`);
/// without either the thread runs at the daemon's nice and says so.
pub const POWER_THREAD_NICE: i32 = -10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderConfig {
    pub backoff_min_us: u64,
    pub backoff_max_us: u64,
    /// At most one `PowerFault` event per this interval during an outage.
    pub fault_log_interval_us: u64,
    /// The polling thread sets its own nice value to this (`None`: inherits it).
    pub thread_nice: Option<i32>,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        Self {
            backoff_min_us: 10_000,
            backoff_max_us: 2_000_000,
            fault_log_interval_us: 60_000_000,
            thread_nice: None,
        }
    }
}

/// Sets the calling thread's nice value (Linux: nice is per thread).
pub fn set_thread_nice(nice: i32) -> std::io::Result<()> {
    // SAFETY: gettid has no arguments and cannot fail.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    // SAFETY: setpriority on this thread's id; no memory is involved.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Raises the calling thread's priority to nice `nice`; a thread already at that or a
/// higher priority (a daemon started at nice -15) keeps its own. Returns the nice now.
pub fn raise_thread_priority(nice: i32) -> std::io::Result<i32> {
    let now = thread_nice()?;
    if now <= nice {
        return Ok(now);
    }
    set_thread_nice(nice).map(|()| nice)
}

/// The calling thread's nice value.
pub fn thread_nice() -> std::io::Result<i32> {
    // SAFETY: gettid has no arguments and cannot fail.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    // getpriority may return -1 as a value: errno, cleared before, tells an error apart.
    // SAFETY: __errno_location returns this thread's errno; getpriority on this thread.
    let nice = unsafe {
        *libc::__errno_location() = 0;
        libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t)
    };
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(0) | None => Ok(nice),
        Some(_) => Err(e),
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

fn notice(mono_us: u64, notice: PowerNotice) -> PowerMsg {
    PowerMsg::Notice { mono_us, notice }
}

/// Sends every message; `false` when the receiver hung up.
fn send_all(tx: &mpsc::Sender<PowerMsg>, out: Vec<PowerMsg>) -> bool {
    out.into_iter().all(|m| tx.send(m).is_ok())
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
    let period_us = source.period_us().max(1);
    let mut st = LoopState::new(
        source.id().name().to_string(),
        source.under_voltage_uv(),
        cfg.backoff_min_us,
    );
    let mut deadline = clock.now_us();
    loop {
        let now = clock.now_us();
        if stop.load(Ordering::Relaxed) || until_us.is_some_and(|u| now >= u) {
            break;
        }
        st.stats.polls += 1;
        let mut retry_soon = false;
        match source.poll(now) {
            Ok(Some(r)) => {
                if !send_all(tx, st.on_reading(now, r, cfg.backoff_min_us)) {
                    return st.stats;
                }
            }
            Ok(None) => {
                // The conversion is late: look again soon rather than a whole period later.
                st.stats.empty_polls += 1;
                retry_soon = true;
            }
            Err(e) if !e.is_transient() => {
                let fault = PowerNotice::Fault {
                    source: st.name.clone(),
                    message: format!("{e}; power reader stopped"),
                };
                let _ = tx.send(notice(now, fault));
                break;
            }
            Err(e) => {
                let report = st.on_failure(now, &e.to_string(), cfg.fault_log_interval_us);
                if !send_all(tx, report.into_iter().collect()) {
                    return st.stats;
                }
                clock.sleep_us(st.backoff_us);
                st.backoff_us = (st.backoff_us * 2).min(cfg.backoff_max_us);
                if let Err(e) = source.recover() {
                    log::debug!("power source {}: {e}", st.name);
                }
                deadline = clock.now_us();
                continue;
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
    st.stats
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
        let name = format!("power-{}", source.id().name());
        let handle = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                if let Some(nice) = cfg.thread_nice {
                    match raise_thread_priority(nice) {
                        Ok(now) => log::debug!("{name}: thread at nice {now}"),
                        Err(e) => log::warn!(
                            "{name}: cannot set the thread's nice to {nice} ({e}); it polls at \
                             the daemon's priority, so a busy machine may delay readings \
                             (allow it with LimitNICE={nice} in the unit)"
                        ),
                    }
                }
                run_loop(&mut source, &clock, &cfg, &tx, &flag, None)
            })?;
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
