//! INA219 against scripted I2C transactions, calibration planning, number parsing.

use ::ina219::configuration::ShuntVoltageRange;
use embedded_hal::i2c::ErrorKind;
use embedded_hal::i2c::NoAcknowledgeSource;
use embedded_hal_mock::eh1::i2c::Mock;
use embedded_hal_mock::eh1::i2c::Transaction as T;

use super::ina219::plan;
use super::ina219::Ina219Config;
use super::ina219::Ina219Source;
use super::*;
use crate::record::Event;
use crate::record::EventKind;

const ADDR: u8 = 0x40;

fn read_reg(reg: u8, value: u16) -> T {
    T::write_read(ADDR, vec![reg], value.to_be_bytes().to_vec())
}

fn write_reg(reg: u8, value: u16) -> T {
    let [hi, lo] = value.to_be_bytes();
    T::write(ADDR, vec![reg, hi, lo])
}

/// Reset, paranoid checks, calibration 20480 (10 mΩ, 200 µA LSB), then configuration 0x0DDF
/// (16 V, ±80 mV, 8× averaging on both ADCs, continuous shunt + bus).
fn init() -> Vec<T> {
    vec![
        write_reg(0, 0xB99F),
        read_reg(0, 0x399F),
        read_reg(5, 0),
        read_reg(4, 0),
        read_reg(3, 0),
        read_reg(1, 0),
        read_reg(2, 0),
        write_reg(5, 20_480),
        write_reg(0, 0x0DDF),
    ]
}

/// One `next_measurement`: bus, power, shunt, current in a single transaction.
fn measure(bus: u16, power: u16, shunt: u16, current: u16) -> Vec<T> {
    let mut out = vec![T::transaction_start(ADDR)];
    for (reg, v) in [(2u8, bus), (3, power), (1, shunt), (4, current)] {
        out.push(T::write(ADDR, vec![reg]));
        out.push(T::read(ADDR, v.to_be_bytes().to_vec()));
    }
    out.push(T::transaction_end(ADDR));
    out
}

fn cfg() -> Ina219Config {
    Ina219Config {
        config_check_polls: 0,
        ..Ina219Config::default()
    }
}

// 5.08 V, 0.6 A through 10 mΩ: shunt 600 × 10 µV, current 600·20480/4096 = 3000 LSB,
// bus 1270 × 4 mV (+CNVR), power 3000·1270/5000 = 762 × 4 mW = 3.048 W.
const BUS_CNVR: u16 = (1270 << 3) | 0b10;

#[test]
fn init_writes_reset_calibration_and_configuration_then_reads_conversions() {
    let mut script = init();
    script.extend(measure(BUS_CNVR, 762, 600, 3000));
    script.extend(measure(1270 << 3, 762, 600, 3000));
    let mock = Mock::new(&script);
    let mut s = Ina219Source::open(mock, &cfg(), "/dev/i2c-1")
        .map_err(|e| e.0)
        .unwrap();
    let r = s.poll(42).unwrap().unwrap();
    assert_eq!(
        r,
        PowerReading {
            mono_us: 42,
            source: SourceId::Ina219,
            bus_uv: Some(5_080_000),
            current_ua: Some(600_000),
            power_uw: 3_048_000,
            shunt_uv: Some(6_000),
            flags: 0,
        }
    );
    assert_eq!(s.poll(43).unwrap(), None, "CNVR clear: no new conversion");
    assert_eq!(s.under_voltage_uv(), Some(4_630_000));
    s.into_bus().unwrap().done();
}

#[test]
fn a_chip_reset_seen_in_the_configuration_register_reinitialises() {
    let mut script = init();
    script.extend(measure(BUS_CNVR, 762, 600, 3000)); // poll 1
    script.push(read_reg(0, 0x399F)); // poll 2 checks the configuration: the chip was reset
    script.extend(init()); // recover()
    script.extend(measure(BUS_CNVR, 762, 600, 3000)); // poll 3
    script.push(read_reg(0, 0x0DDF)); // poll 4: check passes
    script.extend(measure(BUS_CNVR, 763, 601, 3005));
    let c = Ina219Config {
        config_check_polls: 2,
        ..Ina219Config::default()
    };
    let mut s = Ina219Source::open(Mock::new(&script), &c, "/dev/i2c-1")
        .map_err(|e| e.0)
        .unwrap();
    assert_eq!(s.poll(1).unwrap().unwrap().power_uw, 3_048_000);
    let err = s.poll(2).unwrap_err();
    assert!(
        err.to_string().contains("reads 0x399f, expected 0x0ddf"),
        "{err}"
    );
    assert!(err.is_transient());
    assert!(s.poll(3).is_err(), "no reads until re-initialised");
    s.recover().unwrap();
    assert_eq!(s.poll(4).unwrap().unwrap().power_uw, 3_048_000);
    let r = s.poll(5).unwrap().unwrap();
    assert_eq!((r.power_uw, r.current_ua), (3_052_000, Some(601_000)));
    s.into_bus().unwrap().done();
}

#[test]
fn a_nack_at_start_hands_the_bus_back_with_a_clear_error() {
    let script = [T::write(ADDR, vec![0, 0xB9, 0x9F])
        .with_error(ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address))];
    let (err, mut bus) = match Ina219Source::open(Mock::new(&script), &cfg(), "/dev/i2c-1") {
        Ok(_) => panic!("a NACK at reset cannot open"),
        Err(e) => e,
    };
    let text = err.to_string();
    assert!(
        text.starts_with("ina219 not found at /dev/i2c-1 address 0x40"),
        "{text}"
    );
    assert!(text.contains("i2cdetect -y 1"), "{text}");
    bus.done();
}

#[test]
fn math_overflow_is_a_range_error_not_a_reading() {
    let mut script = init();
    script.extend(measure(BUS_CNVR | 1, 0, 7000, 0));
    let mut s = Ina219Source::open(Mock::new(&script), &cfg(), "x")
        .map_err(|e| e.0)
        .unwrap();
    let err = s.poll(1).unwrap_err();
    assert!(matches!(err, PowerError::Range { .. }), "{err}");
    assert!(err
        .to_string()
        .contains("math overflow (OVF) at bus 5080 mV, shunt 70000 µV"));
    assert!(s.recover().is_ok(), "no re-initialisation for an overflow");
    s.into_bus().unwrap().done();
}

#[test]
fn calibration_plans_match_the_datasheet_rule() {
    let p = |shunt_uohm, max_current_ma| {
        plan(&Ina219Config {
            shunt_uohm,
            max_current_ma,
            ..Ina219Config::default()
        })
    };
    // (shunt µΩ, I_max mA) → (LSB µA, register, power LSB µW, shunt range)
    let table = [
        (
            100_000,
            3_200,
            100,
            4_096,
            2_000,
            ShuntVoltageRange::Fsr320mv,
        ),
        (
            10_000,
            6_500,
            200,
            20_480,
            4_000,
            ShuntVoltageRange::Fsr80mv,
        ),
        (
            20_000,
            4_000,
            125,
            16_384,
            2_500,
            ShuntVoltageRange::Fsr80mv,
        ),
        (
            10_000,
            1_000,
            100,
            40_960,
            2_000,
            ShuntVoltageRange::Fsr40mv,
        ),
    ];
    for (shunt, imax, lsb, reg, plsb, range) in table {
        let got = p(shunt, imax).unwrap();
        assert_eq!(
            (
                got.current_lsb_ua,
                got.calibration_register,
                got.power_lsb_uw
            ),
            (lsb, reg, plsb),
            "{shunt} µΩ, {imax} mA"
        );
        assert_eq!(got.configuration.shunt_voltage_range, range);
    }
    // 8× averaging on both ADCs: 2 × 4.26 ms per conversion, polled at that period.
    let d = p(10_000, 6_500).unwrap();
    assert_eq!((d.conversion_us, d.poll_period_us), (8_520, 8_520));
    assert_eq!(d.configuration.as_bits(), 0x0DDF);
}

#[test]
fn impossible_configurations_are_refused_with_what_to_change() {
    let err = |c: Ina219Config| plan(&c).unwrap_err().to_string();
    let d = Ina219Config::default;
    let big = err(Ina219Config {
        shunt_uohm: 100_000,
        max_current_ma: 5_000,
        ..d()
    });
    assert!(
        big.contains("drops 500 mV across the shunt, beyond the INA219's ±320 mV"),
        "{big}"
    );
    assert!(err(Ina219Config {
        address: 0x50,
        ..d()
    })
    .contains("0x40..=0x4F"));
    assert!(err(Ina219Config {
        averaging: 3,
        ..d()
    })
    .contains("1, 2, 4, 8"));
    assert!(err(Ina219Config {
        shunt_uohm: 0,
        ..d()
    })
    .contains("above 0"));
    // 1 mΩ and 100 mA: the register needs LSB ≥ 625 µA, only 160 steps up to 100 mA.
    let coarse = err(Ina219Config {
        shunt_uohm: 1_000,
        max_current_ma: 100,
        ..d()
    });
    assert!(
        coarse.contains("current LSB (1000 µA) leaves 100 steps"),
        "{coarse}"
    );
}

#[test]
fn decimals_parse_exactly_into_millionths() {
    assert_eq!(parse_micro("6.22421000"), Some(6_224_210));
    assert_eq!(
        parse_micro("0.86173350"),
        Some(861_734),
        "rounds at the 7th decimal"
    );
    assert_eq!(parse_micro("0.86173349"), Some(861_733));
    assert_eq!(parse_micro("-0.5"), Some(-500_000));
    assert_eq!(parse_micro("5"), Some(5_000_000));
    assert_eq!(parse_micro(".25"), Some(250_000));
    for bad in ["", ".", "1.2.3", "a1", "1e3", "99999999999999999999"] {
        assert_eq!(parse_micro(bad), None, "{bad:?}");
    }
}

#[test]
fn source_codes_are_stable() {
    for (id, code, name) in [
        (SourceId::Ina219, 0, "ina219"),
        (SourceId::Pmic, 1, "pmic"),
        (SourceId::Replay, 2, "replay"),
        (SourceId::Rapl, 3, "rapl"),
    ] {
        assert_eq!(
            (id.code(), id.name(), SourceId::from_code(code)),
            (code, name, Some(id))
        );
    }
    assert_eq!(SourceId::from_code(4), None);
}

#[test]
fn power_events_keep_their_variant_indices() {
    let e = Event {
        mono_us: 1,
        kind: EventKind::UnderVoltage {
            source: "ina219".into(),
            bus_uv: 4_500_000,
        },
    };
    let bytes = postcard::to_stdvec(&e).unwrap();
    assert_eq!(
        bytes[1], 14,
        "SourceMissing 12, PowerFault 13, UnderVoltage 14, SensorAbsent 15, PowerRecovered 16"
    );
    assert_eq!(postcard::from_bytes::<Event>(&bytes).unwrap(), e);
    let kinds = [
        EventKind::PowerFault {
            source: "s".into(),
            message: "m".into(),
        },
        EventKind::SensorAbsent {
            source: "s".into(),
            message: "m".into(),
        },
        EventKind::PowerRecovered {
            source: "s".into(),
            failures: 3,
            gap_us: 9,
        },
    ];
    for (kind, index) in kinds.into_iter().zip([13u8, 15, 16]) {
        let bytes = postcard::to_stdvec(&kind).unwrap();
        assert_eq!(bytes[0], index, "{}", kind.name());
        assert_eq!(postcard::from_bytes::<EventKind>(&bytes).unwrap(), kind);
    }
}

#[test]
fn raising_a_thread_s_priority_never_lowers_it() {
    std::thread::spawn(|| {
        use super::reader::{raise_thread_priority, set_thread_nice, thread_nice};
        // Lowering one's own priority is always allowed.
        let start = thread_nice().unwrap();
        let at = (start + 5).min(19);
        set_thread_nice(at).unwrap();
        assert_eq!(thread_nice().unwrap(), at);
        assert_eq!(
            raise_thread_priority(19).unwrap(),
            at,
            "already higher: kept"
        );
        assert_eq!(raise_thread_priority(at).unwrap(), at);
        assert_eq!(thread_nice().unwrap(), at);
    })
    .join()
    .unwrap();
}
