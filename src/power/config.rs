//! The `[power]` section of the configuration file.
//!
//! ```toml
//! [power]
//! source = "auto"            # auto | ina219 | pmic | replay | rapl | none
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
//! [power.replay]
//! path = "trace.csv"        # CSV trace, segment file (*.ewlog) or state directory
//!
//! [power.rapl]
//! root = "/sys/class/powercap"
//! interval_ms = 100
//! ```

use std::path::Path;
use std::path::PathBuf;

use serde::Deserialize;
use serde::Serialize;

use super::PowerError;

/// A `[power]` value no source can work with: its dotted key under `power` and why, with
/// the allowed values. [`crate::config::Config::parse`] turns it into `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("power.{key}: {message}")]
pub struct BadValue {
    /// Dotted key under `[power]`, e.g. `ina219.averaging`.
    pub key: &'static str,
    pub message: String,
}

/// Polling intervals of the PMIC and RAPL sources, ms.
const INTERVAL_MS: std::ops::RangeInclusive<u64> = 1..=60_000;
/// The INA219's bus range as edgewatt configures it (16 V), µV.
const BUS_RANGE_UV: std::ops::RangeInclusive<i64> = 0..=16_000_000;

/// Which source the daemon uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceChoice {
    /// The first that is present: INA219, then PMIC, then RAPL.
    #[default]
    Auto,
    Ina219,
    Pmic,
    Replay,
    Rapl,
    /// No measured power; runs get estimates only.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PowerConfig {
    pub source: SourceChoice,
    pub ina219: Ina219Config,
    pub pmic: PmicConfig,
    pub replay: ReplayConfig,
    pub rapl: RaplConfig,
}

impl PowerConfig {
    /// Checks every value, whichever source is chosen (a key in the file is checked even if
    /// another source is used): the INA219 keys through the calibration the source itself
    /// computes ([`super::calibration::plan`]), the polling intervals, and the replay path.
    pub fn check(&self) -> Result<(), BadValue> {
        match super::calibration::plan(&self.ina219) {
            Ok(_) => {}
            Err(PowerError::BadValue(b)) => return Err(b),
            Err(other) => {
                return Err(BadValue {
                    key: "ina219",
                    message: other.to_string(),
                })
            }
        }
        if !BUS_RANGE_UV.contains(&self.ina219.under_voltage_uv) {
            return Err(BadValue {
                key: "ina219.under_voltage_uv",
                message: format!(
                    "{} is out of range: expected 0–16000000 µV (the 16 V bus range)",
                    self.ina219.under_voltage_uv
                ),
            });
        }
        for (key, interval_ms) in [
            ("pmic.interval_ms", self.pmic.interval_ms),
            ("rapl.interval_ms", self.rapl.interval_ms),
        ] {
            if !INTERVAL_MS.contains(&interval_ms) {
                return Err(BadValue {
                    key,
                    message: format!("{interval_ms} is out of range: expected 1–60000 ms"),
                });
            }
        }
        if self.source == SourceChoice::Replay {
            self.replay_path()?;
        }
        Ok(())
    }

    /// The trace `source = "replay"` plays, or the error saying it is missing.
    pub fn replay_path(&self) -> Result<&Path, BadValue> {
        self.replay.path.as_deref().ok_or_else(|| BadValue {
            key: "source",
            message: "\"replay\" needs power.replay.path: a CSV trace, an edgewatt segment \
                      (*.ewlog) or a state directory"
                .into(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ina219Config {
    /// I2C bus number: `/dev/i2c-{bus}`.
    pub bus: u8,
    /// 7-bit address, 0x40..=0x4F.
    pub address: u8,
    /// Shunt resistance, µΩ.
    pub shunt_uohm: u32,
    /// Largest current expected, mA; sets the current LSB (≥ I_max / 32768).
    pub max_current_ma: u32,
    /// Samples averaged per conversion (1, 2, 4, 8, 16, 32, 64 or 128), shunt and bus alike.
    pub averaging: u8,
    /// Upper bound on the polling rate, Hz.
    pub max_poll_hz: u32,
    /// A reading whose raw registers repeat for this many fresh conversions is flagged
    /// stuck (0: never).
    pub stuck_polls: u32,
    /// Bus voltage below which an under-voltage event is logged, µV.
    pub under_voltage_uv: i64,
    /// Re-read the configuration register every this many polls, to catch a chip that was
    /// reset by a brown-out or a replug (0: never).
    pub config_check_polls: u32,
}

impl Default for Ina219Config {
    fn default() -> Self {
        Self {
            bus: 1,
            address: 0x40,
            shunt_uohm: 10_000,
            max_current_ma: 6_500,
            averaging: 8,
            max_poll_hz: 300,
            stuck_polls: 200,
            under_voltage_uv: super::pmic::UNDER_VOLTAGE_UV,
            config_check_polls: 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PmicConfig {
    /// Firmware mailbox device.
    pub vcio: PathBuf,
    /// Fallback command when the mailbox cannot be used.
    pub vcgencmd: PathBuf,
    pub interval_ms: u64,
}

impl Default for PmicConfig {
    fn default() -> Self {
        Self {
            vcio: PathBuf::from("/dev/vcio"),
            vcgencmd: PathBuf::from("vcgencmd"),
            interval_ms: 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplayConfig {
    /// A CSV trace `mono_us,bus_uv,current_ua,power_uw`, an edgewatt segment file
    /// (`*.ewlog`) or a state directory (see [`super::replay`]).
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RaplConfig {
    pub root: PathBuf,
    pub interval_ms: u64,
}

impl Default for RaplConfig {
    fn default() -> Self {
        Self {
            root: PathBuf::from("/sys/class/powercap"),
            interval_ms: 100,
        }
    }
}
