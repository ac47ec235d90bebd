//! A register-level INA219 emulator on an `embedded_hal::i2c::I2c` bus, for tests and benches
//! without hardware (i2c-stub cannot emulate the chip: see docs/POWER.md).
//!
//! Registers 0x00–0x05 behave as in the datasheet: a reset restores the defaults (config
//! 0x399F, calibration 0); in continuous mode a conversion completes every conversion period
//! of the fake clock, setting CNVR; reading the power register clears CNVR; current and power
//! are computed from the calibration as the chip does, with OVF on overflow. Faults are
//! scheduled on the clock: NACKs, bus errors, unplugging (the chip loses power and resets
//! when it comes back), frozen registers, forced overflow, and a panic (a driver bug).

use embedded_hal::i2c::ErrorKind;
use embedded_hal::i2c::ErrorType;
use embedded_hal::i2c::I2c;
use embedded_hal::i2c::NoAcknowledgeSource;
use embedded_hal::i2c::Operation;

use crate::clock::Clock;
use crate::clock::FakeClock;

const CONFIG_DEFAULT: u16 = 0x399F;
const CNVR: u16 = 0b10;
const OVF: u16 = 0b01;

/// A fault active over `[from_us, to_us)` of the fake clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Every transfer is not acknowledged.
    Nack,
    /// Every transfer fails with a bus error.
    BusError,
    /// The breakout is unplugged: NACKs, and the chip resets (power-on) when it comes back.
    Unplugged,
    /// The result registers stop changing while CNVR keeps reporting new conversions.
    Stuck,
    /// Conversions set the math-overflow flag.
    Overflow,
    /// The transfer panics, as a bug in a driver would: the reader thread dies.
    Panic,
}

/// The error type of [`FakeIna219`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeBusError(pub ErrorKind);

impl embedded_hal::i2c::Error for FakeBusError {
    fn kind(&self) -> ErrorKind {
        self.0
    }
}

impl std::fmt::Display for FakeBusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for FakeBusError {}

/// The electrical load seen by the fake: `(bus_mv, current_ua)` at a time, µs.
pub type Load = Box<dyn FnMut(u64) -> (u32, i64) + Send>;

/// An emulated INA219 behind a shunt of `shunt_uohm`.
pub struct FakeIna219 {
    address: u8,
    shunt_uohm: i64,
    clock: FakeClock,
    load: Load,
    faults: Vec<(u64, u64, Fault)>,
    regs: [u16; 6],
    pointer: u8,
    last_conversion_us: u64,
    was_unplugged: bool,
    /// Fixed conversion period, µs, instead of the one the configuration implies (0: none).
    pub period_override_us: Option<u64>,
    /// Transfers seen (for tests and benches).
    pub transfers: u64,
    /// Extra time each transfer takes on the fake clock, µs (a 100 kHz bus: ~300 µs).
    pub transfer_cost_us: u64,
}

impl FakeIna219 {
    #[must_use]
    pub fn new(address: u8, shunt_uohm: u32, clock: FakeClock, load: Load) -> Self {
        let now = clock.now_us();
        Self {
            address,
            shunt_uohm: i64::from(shunt_uohm),
            clock,
            load,
            faults: Vec::new(),
            regs: [CONFIG_DEFAULT, 0, 0, 0, 0, 0],
            pointer: 0,
            last_conversion_us: now,
            was_unplugged: false,
            period_override_us: None,
            transfers: 0,
            transfer_cost_us: 0,
        }
    }

    /// A constant load.
    #[must_use]
    pub fn constant(bus_mv: u32, current_ua: i64) -> Load {
        Box::new(move |_| (bus_mv, current_ua))
    }

    /// Schedules `fault` over `[from_us, to_us)`.
    pub fn inject(&mut self, from_us: u64, to_us: u64, fault: Fault) {
        self.faults.push((from_us, to_us, fault));
    }

    #[must_use]
    pub const fn register(&self, index: usize) -> u16 {
        self.regs[index]
    }

    fn fault_at(&self, now: u64, kind: Fault) -> bool {
        self.faults
            .iter()
            .any(|&(from, to, f)| f == kind && (from..to).contains(&now))
    }

    fn conversion_period_us(&self) -> Option<u64> {
        if let Some(p) = self.period_override_us {
            return Some(p);
        }
        let conf = ina219::configuration::Configuration::from_bits(self.regs[0]);
        let continuous = self.regs[0] & 0b100 != 0 && self.regs[0] & 0b011 != 0;
        if !continuous {
            return None;
        }
        conf.conversion_time_us().map(u64::from)
    }

    /// Runs the conversions that completed up to `now`, as the chip would have.
    fn convert_until(&mut self, now: u64) {
        let Some(period) = self.conversion_period_us() else {
            return;
        };
        if now < self.last_conversion_us.saturating_add(period) {
            return;
        }
        let done = (now - self.last_conversion_us)
            .checked_div(period)
            .unwrap_or(1);
        self.last_conversion_us += done * period;
        let at = self.last_conversion_us;
        if self.fault_at(at, Fault::Stuck) {
            self.regs[2] |= CNVR;
            return;
        }
        let (bus_mv, current_ua) = (self.load)(at);
        let shunt_10uv = (current_ua * self.shunt_uohm / 10_000_000).clamp(-32_000, 32_000);
        self.regs[1] = shunt_10uv as i16 as u16;
        let bus_4mv = u64::from(bus_mv / 4).min(0x1FFF);
        let cal = i64::from(self.regs[5]);
        let current = shunt_10uv * cal / 4096;
        let power = current.abs() * bus_4mv as i64 / 5000;
        let overflow = self.fault_at(at, Fault::Overflow)
            || current > i64::from(i16::MAX)
            || current < i64::from(i16::MIN)
            || power > i64::from(u16::MAX);
        self.regs[4] = current.clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16 as u16;
        self.regs[3] = power.min(i64::from(u16::MAX)) as u16;
        self.regs[2] = ((bus_4mv as u16) << 3) | CNVR | if overflow { OVF } else { 0 };
    }

    fn reset(&mut self) {
        self.regs = [CONFIG_DEFAULT, 0, 0, 0, 0, 0];
        self.last_conversion_us = self.clock.now_us();
    }

    fn write_register(&mut self, reg: u8, value: u16) {
        match reg {
            0 if value & 0x8000 != 0 => self.reset(),
            0 => {
                self.regs[0] = value;
                self.regs[2] &= !CNVR;
                self.last_conversion_us = self.clock.now_us();
            }
            5 => self.regs[5] = value & !1,
            _ => {}
        }
    }

    fn read_register(&mut self, reg: u8) -> u16 {
        let value = self.regs.get(usize::from(reg)).copied().unwrap_or(0);
        if reg == 3 {
            self.regs[2] &= !CNVR;
        }
        value
    }
}

impl ErrorType for FakeIna219 {
    type Error = FakeBusError;
}

impl I2c for FakeIna219 {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        self.transfers += 1;
        self.clock.advance_us(self.transfer_cost_us);
        let now = self.clock.now_us();
        assert!(
            !self.fault_at(now, Fault::Panic),
            "fake INA219: injected panic at {now} µs"
        );
        if self.fault_at(now, Fault::Unplugged) {
            self.was_unplugged = true;
            return Err(FakeBusError(ErrorKind::NoAcknowledge(
                NoAcknowledgeSource::Address,
            )));
        }
        if self.was_unplugged {
            // Power came back: the chip starts from its power-on state.
            self.was_unplugged = false;
            self.reset();
        }
        if address != self.address || self.fault_at(now, Fault::Nack) {
            return Err(FakeBusError(ErrorKind::NoAcknowledge(
                NoAcknowledgeSource::Address,
            )));
        }
        if self.fault_at(now, Fault::BusError) {
            return Err(FakeBusError(ErrorKind::Bus));
        }
        self.convert_until(now);
        for op in operations {
            match op {
                Operation::Write(bytes) => match **bytes {
                    [reg] => self.pointer = reg,
                    [reg, hi, lo] => {
                        self.pointer = reg;
                        self.write_register(reg, u16::from_be_bytes([hi, lo]));
                    }
                    _ => return Err(FakeBusError(ErrorKind::Other)),
                },
                Operation::Read(buf) => {
                    let value = self.read_register(self.pointer).to_be_bytes();
                    for (i, b) in buf.iter_mut().enumerate() {
                        *b = value.get(i).copied().unwrap_or(0xFF);
                    }
                }
            }
        }
        Ok(())
    }
}
