//! INA219 calibration and configuration from the `[power.ina219]` keys.
//!
//! Current LSB: the smallest convenient value (1, 2, 2.5, 5 × 10ⁿ µA, and 1.25) at or above
//! I_max / 32768 whose calibration register fits 16 bits; shunt range: the smallest PGA range
//! that holds I_max × R; bus range 16 V; the same averaging on both ADCs. Combinations the
//! chip cannot measure are refused with what to change.

use ina219::address::Address;
use ina219::calibration::IntCalibration;
use ina219::calibration::MicroAmpere;
use ina219::configuration::BusVoltageRange;
use ina219::configuration::Configuration;
use ina219::configuration::Resolution;
use ina219::configuration::ShuntVoltageRange;

use serde::Deserialize;
use serde::Serialize;

use super::config::BadValue;
use super::PowerConfig;
use super::PowerError;

/// `[power.ina219]`.
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

/// The INA219's bus range as edgewatt configures it (16 V), µV.
const BUS_RANGE_UV: std::ops::RangeInclusive<i64> = 0..=16_000_000;

/// Checks `[power.ina219]` through the calibration the source itself computes ([`plan`]),
/// and the under-voltage threshold.
pub fn check(cfg: &PowerConfig, _chosen: bool) -> Result<(), BadValue> {
    match plan(&cfg.ina219) {
        Ok(_) => {}
        Err(PowerError::BadValue(b)) => return Err(b),
        Err(other) => {
            return Err(BadValue {
                key: "ina219",
                message: other.to_string(),
            })
        }
    }
    let under_voltage_uv = cfg.ina219.under_voltage_uv;
    if !BUS_RANGE_UV.contains(&under_voltage_uv) {
        return Err(BadValue {
            key: "ina219.under_voltage_uv",
            message: format!(
                "{under_voltage_uv} is out of range: expected 0–16000000 µV (the 16 V bus range)"
            ),
        });
    }
    Ok(())
}

fn bad(key: &'static str, message: String) -> PowerError {
    PowerError::BadValue(BadValue { key, message })
}

/// Fewest current steps between 0 and the maximum current a calibration may leave.
const MIN_STEPS: i64 = 256;

/// What [`plan`] derived from an [`Ina219Config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ina219Plan {
    pub address: Address,
    pub calibration: IntCalibration,
    pub configuration: Configuration,
    pub current_lsb_ua: i64,
    pub power_lsb_uw: i64,
    /// Value written to the calibration register (0x05).
    pub calibration_register: u16,
    /// Shunt voltage at the maximum current, µV.
    pub shunt_full_uv: i64,
    /// Time of one shunt + bus conversion, µs.
    pub conversion_us: u64,
    pub poll_period_us: u64,
}

/// Convenient current LSBs (µA): 1, 2, 5, 10, 20, 25, 50, 100, 125, 200, 250, 500, 1000, ...
fn convenient_lsbs() -> impl Iterator<Item = i64> {
    (0u32..10).flat_map(|exp| {
        [100i64, 125, 200, 250, 500]
            .into_iter()
            .map(move |m| m * 10i64.pow(exp))
            .filter(|v| v % 100 == 0)
            .map(|v| v / 100)
    })
}

fn averaging(samples: u8) -> Result<Resolution, PowerError> {
    Ok(match samples {
        1 => Resolution::Res12Bit,
        2 => Resolution::Avg2,
        4 => Resolution::Avg4,
        8 => Resolution::Avg8,
        16 => Resolution::Avg16,
        32 => Resolution::Avg32,
        64 => Resolution::Avg64,
        128 => Resolution::Avg128,
        other => {
            return Err(bad(
                "ina219.averaging",
                format!("{other} is not an averaging count: use 1, 2, 4, 8, 16, 32, 64 or 128"),
            ))
        }
    })
}

/// The address, and the values that must not be 0.
fn check_ranges(cfg: &Ina219Config) -> Result<Address, PowerError> {
    let address = Address::from_byte(cfg.address).map_err(|_| {
        bad(
            "ina219.address",
            format!(
                "{:#04x} is out of range: an INA219 answers at 0x40..=0x4F (A0/A1 straps)",
                cfg.address
            ),
        )
    })?;
    if cfg.shunt_uohm == 0 {
        return Err(bad(
            "ina219.shunt_uohm",
            "0 is out of range: the shunt must be above 0 µΩ".into(),
        ));
    }
    if cfg.max_current_ma == 0 {
        return Err(bad(
            "ina219.max_current_ma",
            "0 is out of range: the largest current must be above 0 mA".into(),
        ));
    }
    if cfg.max_poll_hz == 0 {
        return Err(bad(
            "ina219.max_poll_hz",
            "0 is out of range: expected at least 1 Hz".into(),
        ));
    }
    Ok(address)
}

/// The shunt range that holds `max_ua` through `r_uohm`, and that full-scale shunt voltage, µV.
fn shunt_range(
    cfg: &Ina219Config,
    max_ua: i64,
    r_uohm: i64,
) -> Result<(ShuntVoltageRange, i64), PowerError> {
    let shunt_full_uv = max_ua * r_uohm / 1_000_000;
    let shunt_range = [
        ShuntVoltageRange::Fsr40mv,
        ShuntVoltageRange::Fsr80mv,
        ShuntVoltageRange::Fsr160mv,
        ShuntVoltageRange::Fsr320mv,
    ]
    .into_iter()
    .find(|r| i64::from(*r.range_mv().end()) * 1_000 >= shunt_full_uv)
    .ok_or_else(|| {
        bad(
            "ina219.shunt_uohm",
            format!(
                "{} mA through {} µΩ drops {} mV across the shunt, beyond the INA219's ±320 mV: \
             use a smaller shunt (10–20 mΩ for a Pi 5) or a lower max_current_ma",
                cfg.max_current_ma,
                cfg.shunt_uohm,
                shunt_full_uv / 1_000
            ),
        )
    })?;
    Ok((shunt_range, shunt_full_uv))
}

/// The INA219 calibration with the smallest convenient current LSB that covers `max_ua`.
fn calibration(cfg: &Ina219Config, max_ua: i64) -> Result<IntCalibration, PowerError> {
    let min_lsb_ua = (max_ua + 32_767) / 32_768;
    let calibration = convenient_lsbs()
        .filter(|&lsb| lsb >= min_lsb_ua)
        .find_map(|lsb| IntCalibration::new(MicroAmpere(lsb), cfg.shunt_uohm))
        .ok_or_else(|| {
            bad(
                "ina219.shunt_uohm",
                format!(
                    "no INA219 calibration fits {} µΩ with max_current_ma = {}: the calibration \
                 register would leave its 16 bits; check the shunt value (in µΩ)",
                    cfg.shunt_uohm, cfg.max_current_ma
                ),
            )
        })?;
    let steps = max_ua / calibration.current_lsb().0;
    if steps < MIN_STEPS {
        return Err(bad(
            "ina219.shunt_uohm",
            format!(
                "{} µΩ is too small a shunt for max_current_ma = {}: the smallest usable current \
             LSB ({} µA) leaves {steps} steps below the maximum (at least {MIN_STEPS} wanted); \
             use a larger shunt",
                cfg.shunt_uohm,
                cfg.max_current_ma,
                calibration.current_lsb().0
            ),
        ));
    }
    Ok(calibration)
}

/// Computes calibration, ranges and polling period; refuses combinations the chip cannot do
/// with a [`PowerError::BadValue`] naming the key to change. The configuration check
/// ([`PowerConfig::check`]) calls it too, so a bad value is refused when the config file is
/// loaded.
pub fn plan(cfg: &Ina219Config) -> Result<Ina219Plan, PowerError> {
    let address = check_ranges(cfg)?;
    let max_ua = i64::from(cfg.max_current_ma) * 1_000;
    let (shunt_range, shunt_full_uv) = shunt_range(cfg, max_ua, i64::from(cfg.shunt_uohm))?;
    let calibration = calibration(cfg, max_ua)?;
    let resolution = averaging(cfg.averaging)?;
    let configuration = Configuration {
        bus_voltage_range: BusVoltageRange::Fsr16v,
        shunt_voltage_range: shunt_range,
        bus_resolution: resolution,
        shunt_resolution: resolution,
        ..Configuration::default()
    };
    let conversion_us = u64::from(configuration.conversion_time_us().unwrap_or(1_064));
    let min_period_us = 1_000_000 / u64::from(cfg.max_poll_hz);
    Ok(Ina219Plan {
        address,
        calibration,
        configuration,
        current_lsb_ua: calibration.current_lsb().0,
        power_lsb_uw: calibration.power_lsb().0,
        calibration_register: calibration.as_bits(),
        shunt_full_uv,
        conversion_us,
        poll_period_us: conversion_us.max(min_period_us),
    })
}
