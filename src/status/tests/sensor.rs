//! The power sensor's state: lost after a fault with no readings since, absent, or none
//! configured.

use super::*;

#[test]
fn a_power_fault_without_readings_after_it_is_a_lost_sensor() {
    let dir = tempfile::tempdir().unwrap();
    let config = cfg(dir.path());
    let fault = event(
        30 * S + 50_000,
        EventKind::PowerFault {
            source: "ina219".into(),
            message: "I2C NACK (failure 1 of this outage)".into(),
        },
    );
    let _w = session(&config, 30 * S, vec![fault]);
    let st = status_at(&config, at(31 * S));
    assert_eq!(st.sensor.state, "lost");
    assert_eq!(kinds(&st), [ConditionKind::SensorLost]);
    assert_eq!(
        st.conditions[0].message,
        "power sensor lost: I2C NACK (failure 1 of this outage)"
    );
    // Recovered: readings again, healthy.
    let dir = tempfile::tempdir().unwrap();
    let config = cfg(dir.path());
    let fault = event(
        10 * S + 50_000,
        EventKind::PowerFault {
            source: "ina219".into(),
            message: "NACK".into(),
        },
    );
    let _w = session(&config, 30 * S, vec![fault]);
    assert!(status_at(&config, at(31 * S)).healthy());
}

#[test]
fn an_absent_sensor_and_no_sensor_at_all_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = cfg(dir.path());
    config.power.source = crate::power::registry::SourceChoice::None;
    let absent = event(
        0,
        EventKind::SensorAbsent {
            source: "ina219".into(),
            message: "no INA219 at 0x40 on /dev/i2c-1".into(),
        },
    );
    // A session of events only: no power readings.
    let (mut w, _) = Writer::open(
        config.store_options(),
        SegmentIdent::new("pi".into(), "boot".into()),
        at(0),
    )
    .unwrap();
    w.append(&event(
        0,
        EventKind::Start {
            version: "0.1.0".into(),
            pid: 1,
            interval_us: 100_000,
        },
    ))
    .unwrap();
    w.append(&event(
        0,
        EventKind::Config {
            toml: config.to_toml(),
        },
    ))
    .unwrap();
    w.sync().unwrap();
    let st = status_at(&config, at(S));
    assert_eq!(st.sensor.state, "none");
    assert_eq!(
        st.sensor.message.as_deref(),
        Some("no power source configured: estimates only")
    );
    assert!(st.healthy(), "{:?}", st.conditions);
    w.append(&absent).unwrap();
    w.sync().unwrap();
    let st = status_at(&config, at(S));
    assert_eq!(kinds(&st), [ConditionKind::SensorAbsent]);
}
