//! One power reading, in raw integer micro-units, and the kind of sensor it came from.

use serde::Deserialize;
use serde::Serialize;

/// Which kind of sensor a reading came from. The code is part of the log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SourceId {
    Ina219,
    Pmic,
    Replay,
    Rapl,
}

impl SourceId {
    /// Short name, as in records, config and text output.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ina219 => "ina219",
            Self::Pmic => "pmic",
            Self::Replay => "replay",
            Self::Rapl => "rapl",
        }
    }

    /// Stable one-byte code used in [`PowerBlock`](super::PowerBlock): part of the format.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::Ina219 => 0,
            Self::Pmic => 1,
            Self::Replay => 2,
            Self::Rapl => 3,
        }
    }

    #[must_use]
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Ina219),
            1 => Some(Self::Pmic),
            2 => Some(Self::Replay),
            3 => Some(Self::Rapl),
            _ => None,
        }
    }
}

/// Bits of [`PowerReading::flags`].
pub mod power_flags {
    /// The raw registers repeated for too many fresh conversions: the value is suspect and
    /// energy integration treats the reading as a gap.
    pub const STUCK: u32 = 1;
    /// The bus (supply) voltage was below the under-voltage threshold.
    pub const UNDER_VOLTAGE: u32 = 1 << 1;
    /// The source's reply was cut short; some rails may be missing from `power_uw` (PMIC).
    pub const PARTIAL: u32 = 1 << 2;
}

/// One power reading, in raw integer micro-units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerReading {
    /// CLOCK_MONOTONIC µs at which the reading was taken.
    pub mono_us: u64,
    pub source: SourceId,
    /// Supply voltage, µV (INA219 bus voltage, PMIC EXT5V_V), if the source has one.
    pub bus_uv: Option<i64>,
    /// Supply current, µA, if the source measures it.
    pub current_ua: Option<i64>,
    /// Power, µW.
    pub power_uw: i64,
    /// Shunt voltage, µV (INA219 only).
    pub shunt_uv: Option<i64>,
    /// [`power_flags`] bits.
    pub flags: u32,
}

impl PowerReading {
    /// A reading with only a power value.
    #[must_use]
    pub const fn power_only(mono_us: u64, source: SourceId, power_uw: i64) -> Self {
        Self {
            mono_us,
            source,
            bus_uv: None,
            current_ua: None,
            power_uw,
            shunt_uv: None,
            flags: 0,
        }
    }

    /// Whether the value can be used for energy: not flagged stuck.
    #[must_use]
    pub const fn is_valid(&self) -> bool {
        self.flags & power_flags::STUCK == 0
    }
}
