//! Measured power: sources that yield [`PowerReading`]s, and the thread that polls them.
//!
//! Every source is behind the [`PowerSource`] trait and labels what it measures and misses.
//! The kinds of source are registered in [`KINDS`] (see [`registry`]), in the order `auto`
//! tries them:
//! - [`ina219`]: an INA219 high-side in the Pi's 5 V feed, over any `embedded_hal::i2c::I2c`
//!   bus (the real `/dev/i2c-N` through rppal with the `i2c` feature);
//! - [`pmic`]: the Pi 5 PMIC rails (`vcgencmd pmic_read_adc`, via the `/dev/vcio` mailbox or
//!   the command); misses the 5 V input current, PMIC losses and loads fed from 5 V directly;
//! - [`rapl`]: Intel/AMD RAPL package energy counters on x86 development machines;
//! - [`replay`]: a recorded trace (CSV, or an edgewatt segment or state directory) played
//!   back on a clock.
//!
//! Readings hold raw integers (µV, µA, µW) on CLOCK_MONOTONIC µs; [`reader`] polls a source
//! on its own thread, retries with backoff, and reports faults as notices (the daemon logs
//! them as events).

pub mod calibration;
pub mod config;
pub mod detect;
pub mod fake;
pub mod reader;
pub mod registry;
mod replay_log;
pub mod vcio;

// The registry of source kinds. A new kind adds its file (with `pub const KIND` and its
// config type) and, here, its `pub mod` line and one `power_sources!` line.
pub mod ina219;
pub mod pmic;
pub mod rapl;
pub mod replay;
registry::power_sources! {
    /// `[power.ina219]`: an INA219 on I2C.
    ina219: Ina219Config,
    /// `[power.pmic]`: the Pi 5 PMIC ADC.
    pmic: PmicConfig,
    /// `[power.rapl]`: RAPL counters (x86).
    rapl: RaplConfig,
    /// `[power.replay]`: a recorded trace.
    replay: ReplayConfig,
}

use thiserror::Error;

pub use crate::record::power_flags as flags;
pub use crate::record::PowerReading;
pub use crate::record::SourceId;

/// Why a source could not give a reading.
#[derive(Debug, Error)]
pub enum PowerError {
    /// The sensor is not there (no device, no answer at the address, no such file).
    #[error("{source_name} not found at {location}: {message}")]
    Absent {
        source_name: &'static str,
        location: String,
        message: String,
    },
    /// A transfer failed (NACK, bus error, I/O error); the source retries.
    #[error("{source_name} read failed: {message}")]
    Bus {
        source_name: &'static str,
        message: String,
    },
    /// The sensor's own arithmetic overflowed (INA219 OVF) or a value is out of its range.
    #[error("{source_name} reading out of range: {message}")]
    Range {
        source_name: &'static str,
        message: String,
    },
    /// The sensor answered with something that cannot be parsed.
    #[error("{source_name} output unreadable at line {line}: {message} (line: {text:?})")]
    Parse {
        source_name: &'static str,
        line: usize,
        text: String,
        message: String,
    },
    /// The configuration cannot work; says what to change.
    #[error("power source configuration: {0}")]
    Config(String),
    /// One configuration value cannot work; names its key and the allowed values.
    #[error("power source configuration: {0}")]
    BadValue(config::BadValue),
    /// A file the source needs could not be read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A replay trace that cannot be played: says what the path is and what to do.
    #[error("replay trace {path}: {message}")]
    Trace { path: String, message: String },
    /// A finite source (a replayed trace) has no more readings.
    #[error("{source_name}: end of trace")]
    Ended { source_name: &'static str },
}

impl PowerError {
    /// True for errors the reader thread should retry with backoff; false ends the thread.
    #[must_use]
    pub const fn is_transient(&self) -> bool {
        !matches!(
            self,
            Self::Config(_) | Self::BadValue(_) | Self::Trace { .. } | Self::Ended { .. }
        )
    }
}

/// A source of power readings, polled from one thread.
pub trait PowerSource: Send {
    fn id(&self) -> SourceId;

    /// What is measured and what is missed, with the configuration: stored with the readings.
    fn label(&self) -> String;

    /// How often to poll, µs (the conversion or refresh period of the sensor).
    fn period_us(&self) -> u64;

    /// Returns a new reading taken at `now_us`, or `None` if the sensor has nothing new yet.
    fn poll(&mut self, now_us: u64) -> Result<Option<PowerReading>, PowerError>;

    /// Called by the reader after a failed poll and its backoff: re-open or re-initialise
    /// the sensor if the failure requires it. The default does nothing.
    fn recover(&mut self) -> Result<(), PowerError> {
        Ok(())
    }

    /// Supply voltage below which an under-voltage event is logged, µV (None: not checked).
    fn under_voltage_uv(&self) -> Option<i64> {
        None
    }
}

impl PowerSource for Box<dyn PowerSource> {
    fn id(&self) -> SourceId {
        (**self).id()
    }
    fn label(&self) -> String {
        (**self).label()
    }
    fn period_us(&self) -> u64 {
        (**self).period_us()
    }
    fn poll(&mut self, now_us: u64) -> Result<Option<PowerReading>, PowerError> {
        (**self).poll(now_us)
    }
    fn recover(&mut self) -> Result<(), PowerError> {
        (**self).recover()
    }
    fn under_voltage_uv(&self) -> Option<i64> {
        (**self).under_voltage_uv()
    }
}

/// Parses a decimal like `6.22421000` or `-0.5` into millionths, exactly (rounding half away
/// from zero at the seventh decimal). Returns `None` for anything else or on overflow.
#[must_use]
pub fn parse_micro(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part) || !all_digits(frac_part) {
        return None;
    }
    let mut value: i64 = 0;
    for b in int_part.bytes() {
        value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    value = value.checked_mul(1_000_000)?;
    let frac = frac_part.as_bytes();
    let mut scale = 100_000;
    for &b in frac.iter().take(6) {
        value = value.checked_add(i64::from(b - b'0') * scale)?;
        scale /= 10;
    }
    if frac.get(6).is_some_and(|&b| b >= b'5') {
        value = value.checked_add(1)?;
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests;
