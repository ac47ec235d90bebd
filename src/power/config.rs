//! The `[power]` section of the configuration file: [`PowerConfig`] has
//! `source` and one section per registered source kind (see [`super::registry`]).
//!
//! ```toml
//! [power]
//! source = "auto"            # auto | ina219 | pmic | rapl | replay | none
//!
//! [power.ina219]
//! bus = 1                    # /dev/i2c-1 (GPIO2 = SDA, GPIO3 = SCL)
//! address = 0x40             # 0x40..=0x4F (A0/A1 straps)
//! shunt_uohm = 10000         # 10 mΩ
//! max_current_ma = 6500      # largest current expected; sets the calibration
//! averaging = 8              # ADC samples averaged per conversion: 1, 2, 4, ..., 128
//! max_poll_hz = 300
//! stuck_polls = 200          # identical fresh conversions before a reading is flagged stuck
//! under_voltage_uv = 4630000 # Pi 5 low-voltage threshold
//! config_check_polls = 100   # re-read the configuration register every N polls
//!
//! [power.pmic]
//! vcio = "/dev/vcio"
//! vcgencmd = "vcgencmd"
//! interval_ms = 100
//!
//! [power.rapl]
//! root = "/sys/class/powercap"
//! interval_ms = 100
//!
//! [power.replay]
//! path = "trace.csv"        # CSV trace, segment file (*.ewlog) or state directory
//! ```

use super::registry::SourceChoice;
use super::PowerConfig;
use super::KINDS;

/// A `[power]` value no source can work with: its dotted key under `power` and why, with
/// the allowed values. [`crate::config::Config::parse`] turns it into `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("power.{key}: {message}")]
pub struct BadValue {
    /// Dotted key under `[power]`, e.g. `ina219.averaging`.
    pub key: &'static str,
    pub message: String,
}

/// Polling intervals of the sources that poll on a timer (PMIC, RAPL), ms.
const INTERVAL_MS: std::ops::RangeInclusive<u64> = 1..=60_000;

/// Checks a polling interval `key` (dotted, under `[power]`).
pub fn check_interval_ms(key: &'static str, interval_ms: u64) -> Result<(), BadValue> {
    if INTERVAL_MS.contains(&interval_ms) {
        Ok(())
    } else {
        Err(BadValue {
            key,
            message: format!(
                "{interval_ms} is out of range: expected {}–{} ms",
                INTERVAL_MS.start(),
                INTERVAL_MS.end()
            ),
        })
    }
}

impl PowerConfig {
    /// Checks every section, in registry order, whichever source is chosen (a key in the
    /// file is checked even if another source is used); the chosen source's section must
    /// also have what it needs (e.g. the replay path).
    pub fn check(&self) -> Result<(), BadValue> {
        for kind in KINDS {
            (kind.check)(self, self.source == SourceChoice::Only(kind.id))?;
        }
        Ok(())
    }
}
