//! An INA219 over any `embedded_hal::i2c::I2c` bus, with the `ina219` crate.
//!
//! The calibration comes from the configured shunt and maximum current ([`plan`]); polling
//! uses the conversion-ready flag, so each fresh conversion gives exactly one reading. After a
//! bus error, a configuration mismatch (the chip was reset) or a lost calibration, the next
//! [`PowerSource::recover`] re-initialises the chip on the same bus.

use embedded_hal::i2c::I2c;
use ina219::errors::ConfigurationReadError;
use ina219::errors::MeasurementError;
use ina219::SyncIna219;

use ina219::calibration::IntCalibration;

pub use super::calibration::plan;
pub use super::calibration::Ina219Config;
pub use super::calibration::Ina219Plan;
use super::flags;
use super::registry::Detect;
use super::registry::SourceKind;
use super::PowerConfig;
use super::PowerError;
use super::PowerReading;
use super::PowerSource;
use super::SourceId;

const NAME: &str = SourceId::Ina219.name();

/// The INA219 in the power registry.
pub const KIND: SourceKind = SourceKind {
    id: SourceId::Ina219,
    detect: Detect::Probe,
    measures: "the Pi's whole 5 V input: bus voltage, current, power (on-chip V×I)",
    misses: "nothing on the board; the PSU's own losses",
    open: open_configured,
    check: super::calibration::check,
    file_key: None,
};

/// Opens the INA219 on the real bus, or says why it cannot (no `i2c` feature, not Linux).
fn open_configured(cfg: &PowerConfig) -> Result<Box<dyn PowerSource>, PowerError> {
    #[cfg(all(feature = "i2c", target_os = "linux"))]
    {
        open_linux(&cfg.ina219).map(|s| Box::new(s) as Box<dyn PowerSource>)
    }
    #[cfg(not(all(feature = "i2c", target_os = "linux")))]
    {
        Err(PowerError::Absent {
            source_name: NAME,
            location: format!("/dev/i2c-{}", cfg.ina219.bus),
            message: "this edgewatt was built without the `i2c` feature (Linux only)".into(),
        })
    }
}

type Driver<I2C> = SyncIna219<I2C, IntCalibration>;

enum State<I2C> {
    Ready(Driver<I2C>),
    Lost(I2C),
}

/// Raw values of one conversion, to spot a sensor that repeats itself.
type RawKey = (u16, i32, i64, i64);

/// An INA219 as a [`PowerSource`].
pub struct Ina219Source<I2C> {
    cfg: Ina219Config,
    plan: Ina219Plan,
    location: String,
    state: Option<State<I2C>>,
    needs_reinit: bool,
    polls: u64,
    last_raw: Option<RawKey>,
    repeats: u32,
}

fn init<I2C: I2c>(bus: I2C, plan: &Ina219Plan) -> Result<Driver<I2C>, (String, I2C)> {
    let mut dev = SyncIna219::new_calibrated(bus, plan.address, plan.calibration)
        .map_err(|e| (e.to_string(), e.device))?;
    match dev.set_configuration(plan.configuration) {
        Ok(()) => Ok(dev),
        Err(e) => Err((format!("configuration write failed: {e:?}"), dev.destroy())),
    }
}

impl<I2C: I2c + Send> Ina219Source<I2C> {
    /// Resets, checks and configures the chip. On failure the bus is handed back with an
    /// [`PowerError::Absent`] (or [`PowerError::Config`]) saying what to check.
    pub fn open(
        bus: I2C,
        cfg: &Ina219Config,
        location: impl Into<String>,
    ) -> Result<Self, (PowerError, I2C)> {
        let location = location.into();
        let plan = match plan(cfg) {
            Ok(p) => p,
            Err(e) => return Err((e, bus)),
        };
        match init(bus, &plan) {
            Ok(dev) => Ok(Self {
                cfg: cfg.clone(),
                plan,
                location,
                state: Some(State::Ready(dev)),
                needs_reinit: false,
                polls: 0,
                last_raw: None,
                repeats: 0,
            }),
            Err((message, bus)) => Err((
                PowerError::Absent {
                    source_name: NAME,
                    location: format!("{location} address {:#04x}", cfg.address),
                    message: format!(
                        "{message}; check wiring (SDA/SCL/GND/VCC), the address straps and \
                         `i2cdetect -y {}`",
                        cfg.bus
                    ),
                },
                bus,
            )),
        }
    }

    #[must_use]
    pub const fn plan(&self) -> &Ina219Plan {
        &self.plan
    }

    /// Gives the bus back (for tests that check every transaction was made).
    pub fn into_bus(self) -> Option<I2C> {
        self.state.map(|s| match s {
            State::Ready(dev) => dev.destroy(),
            State::Lost(bus) => bus,
        })
    }

    fn bus_error(&mut self, what: &str, e: impl std::fmt::Debug) -> PowerError {
        self.needs_reinit = true;
        PowerError::Bus {
            source_name: NAME,
            message: format!("{what} at {}: {e:?}", self.location),
        }
    }

    fn check_configuration(&mut self) -> Result<(), PowerError> {
        let Some(State::Ready(dev)) = self.state.as_mut() else {
            return Ok(());
        };
        match dev.configuration() {
            Ok(_) => Ok(()),
            Err(ConfigurationReadError::ConfigurationMismatch { read, saved }) => {
                self.needs_reinit = true;
                Err(PowerError::Bus {
                    source_name: NAME,
                    message: format!(
                        "configuration reads {:#06x}, expected {:#06x}: the chip was reset \
                         (brown-out or replug); re-initialising",
                        read.as_bits(),
                        saved.as_bits()
                    ),
                })
            }
            Err(ConfigurationReadError::I2cError(e)) => {
                Err(self.bus_error("configuration read failed", e))
            }
        }
    }
}

impl<I2C: I2c + Send> PowerSource for Ina219Source<I2C> {
    fn id(&self) -> SourceId {
        SourceId::Ina219
    }

    fn label(&self) -> String {
        format!(
            "ina219 {} addr={:#04x} shunt={}uohm max={}mA lsb={}uA avg={} conv={}us \
             (5 V feed, high side: whole-board power incl. USB and fan)",
            self.location,
            self.cfg.address,
            self.cfg.shunt_uohm,
            self.cfg.max_current_ma,
            self.plan.current_lsb_ua,
            self.cfg.averaging,
            self.plan.conversion_us
        )
    }

    fn period_us(&self) -> u64 {
        self.plan.poll_period_us
    }

    fn under_voltage_uv(&self) -> Option<i64> {
        Some(self.cfg.under_voltage_uv)
    }

    fn poll(&mut self, now_us: u64) -> Result<Option<PowerReading>, PowerError> {
        if self.needs_reinit {
            return Err(PowerError::Bus {
                source_name: NAME,
                message: format!("{} is not initialised", self.location),
            });
        }
        self.polls += 1;
        let every = u64::from(self.cfg.config_check_polls);
        if every > 0 && self.polls % every == 0 {
            self.check_configuration()?;
        }
        let Some(State::Ready(dev)) = self.state.as_mut() else {
            self.needs_reinit = true;
            return Err(PowerError::Bus {
                source_name: NAME,
                message: "device lost".into(),
            });
        };
        let m = match dev.next_measurement() {
            Ok(None) => return Ok(None),
            Ok(Some(m)) => m,
            Err(MeasurementError::I2cError(e)) => return Err(self.bus_error("read failed", e)),
            Err(MeasurementError::MathOverflow(m)) => {
                return Err(PowerError::Range {
                    source_name: NAME,
                    message: format!(
                        "math overflow (OVF) at bus {} mV, shunt {} µV: current beyond the \
                         calibrated maximum of {} mA",
                        m.bus_voltage.voltage_mv(),
                        m.shunt_voltage.shunt_voltage_uv(),
                        self.cfg.max_current_ma
                    ),
                })
            }
            Err(e) => {
                return Err(PowerError::Range {
                    source_name: NAME,
                    message: e.to_string(),
                })
            }
        };
        let shunt_10uv = i64::from(m.shunt_voltage.shunt_voltage_10uv());
        let expected_current_reg = shunt_10uv * i64::from(self.plan.calibration_register) / 4096;
        if m.current.0 == 0 && expected_current_reg.abs() >= 2 {
            self.needs_reinit = true;
            return Err(PowerError::Bus {
                source_name: NAME,
                message: format!(
                    "current reads 0 with {} µV across the shunt: calibration lost (chip reset); \
                     re-initialising",
                    m.shunt_voltage.shunt_voltage_uv()
                ),
            });
        }
        let key = (
            m.bus_voltage.voltage_mv(),
            m.shunt_voltage.shunt_voltage_uv(),
            m.current.0,
            m.power.0,
        );
        if self.last_raw == Some(key) {
            self.repeats = self.repeats.saturating_add(1);
        } else {
            self.repeats = 0;
            self.last_raw = Some(key);
        }
        let stuck = self.cfg.stuck_polls > 0 && self.repeats >= self.cfg.stuck_polls;
        Ok(Some(PowerReading {
            mono_us: now_us,
            source: SourceId::Ina219,
            bus_uv: Some(i64::from(m.bus_voltage.voltage_mv()) * 1_000),
            current_ua: Some(m.current.0),
            power_uw: m.power.0,
            shunt_uv: Some(i64::from(m.shunt_voltage.shunt_voltage_uv())),
            flags: if stuck { flags::STUCK } else { 0 },
        }))
    }

    fn recover(&mut self) -> Result<(), PowerError> {
        if !self.needs_reinit {
            return Ok(());
        }
        let bus = match self.state.take() {
            Some(State::Ready(dev)) => dev.destroy(),
            Some(State::Lost(bus)) => bus,
            None => {
                return Err(PowerError::Bus {
                    source_name: NAME,
                    message: "bus lost".into(),
                })
            }
        };
        match init(bus, &self.plan) {
            Ok(dev) => {
                self.state = Some(State::Ready(dev));
                self.needs_reinit = false;
                self.last_raw = None;
                self.repeats = 0;
                Ok(())
            }
            Err((message, bus)) => {
                self.state = Some(State::Lost(bus));
                Err(PowerError::Bus {
                    source_name: NAME,
                    message: format!("re-initialising {}: {message}", self.location),
                })
            }
        }
    }
}

/// Opens the INA219 on the real `/dev/i2c-{bus}` (feature `i2c`).
#[cfg(all(feature = "i2c", target_os = "linux"))]
pub fn open_linux(cfg: &Ina219Config) -> Result<Ina219Source<rppal::i2c::I2c>, PowerError> {
    let location = format!("/dev/i2c-{}", cfg.bus);
    let bus = rppal::i2c::I2c::with_bus(cfg.bus).map_err(|e| PowerError::Absent {
        source_name: NAME,
        location: location.clone(),
        message: format!(
            "{e}; enable I2C (dtparam=i2c_arm=on in config.txt) and add the user to group i2c"
        ),
    })?;
    Ina219Source::open(bus, cfg, location).map_err(|(e, _)| e)
}
