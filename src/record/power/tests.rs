use super::*;
use crate::record::power_flags as flags;
use crate::record::Frame;
use crate::record::Record;

fn ina(t: u64, bus_uv: i64, current_ua: i64, power_uw: i64) -> PowerReading {
    PowerReading {
        mono_us: t,
        source: SourceId::Ina219,
        bus_uv: Some(bus_uv),
        current_ua: Some(current_ua),
        power_uw,
        shunt_uv: Some(current_ua / 100),
        flags: 0,
    }
}

#[test]
fn round_trip_keeps_every_value_and_the_label() {
    let mut rs: Vec<PowerReading> = (0..500)
        .map(|i| {
            ina(
                1_000_000 + i * 8_510,
                5_080_000 - i as i64 * 4_000,
                600_000 + i as i64 * 200,
                3_048_000 + i as i64 * 4_000,
            )
        })
        .collect();
    rs[7].flags = flags::STUCK | flags::UNDER_VOLTAGE;
    rs[9].bus_uv = None;
    let mut b = PowerBlockBuilder::new(SourceId::Ina219, "ina219 /dev/i2c-1 addr=0x40", 8_510);
    for r in &rs {
        b.push(r).unwrap();
    }
    assert_eq!(b.len(), 500);
    let block = b.finish().unwrap();
    assert!(b.is_empty());
    assert_eq!(block.count, 500);
    assert_eq!(block.period_us, 8_510);
    assert_eq!(block.label, "ina219 /dev/i2c-1 addr=0x40");
    assert_eq!(block.source_id(), Some(SourceId::Ina219));
    assert_eq!(block.decode().unwrap(), rs);
    // A steady rate codes to zeros: far below 6 columns × 500 × 8 bytes.
    assert!(block.data.len() < 400, "{} bytes", block.data.len());
}

#[test]
fn extremes_and_missing_values_survive() {
    let rs = [
        PowerReading {
            mono_us: u64::MAX,
            source: SourceId::Pmic,
            bus_uv: None,
            current_ua: Some(i64::MAX),
            power_uw: i64::MIN,
            shunt_uv: Some(i64::MIN + 1),
            flags: u32::MAX,
        },
        PowerReading::power_only(0, SourceId::Pmic, i64::MAX),
    ];
    let mut b = PowerBlockBuilder::new(SourceId::Pmic, "pmic", 100_000);
    for r in &rs {
        b.push(r).unwrap();
    }
    assert_eq!(b.finish().unwrap().decode().unwrap(), rs);
}

#[test]
fn other_sources_and_reserved_values_are_refused() {
    let mut b = PowerBlockBuilder::new(SourceId::Ina219, "x", 1);
    let pmic = PowerReading::power_only(1, SourceId::Pmic, 1);
    assert_eq!(b.push(&pmic), Err(BlockError::LayoutMismatch));
    let mut bad = ina(1, 1, 1, 1);
    bad.bus_uv = Some(i64::MIN);
    assert!(matches!(b.push(&bad), Err(BlockError::Unrepresentable(_))));
    assert!(b.finish().is_none());
}

#[test]
fn corrupt_blocks_are_reported_not_panicked_on() {
    let mut b = PowerBlockBuilder::new(SourceId::Rapl, "rapl", 100_000);
    b.push(&PowerReading::power_only(1, SourceId::Rapl, 5))
        .unwrap();
    let good = b.finish().unwrap();
    let mut unknown = good.clone();
    unknown.codec = 9;
    assert_eq!(unknown.decode(), Err(BlockError::UnknownCodec(9)));
    let mut wrong_count = good.clone();
    wrong_count.count = 2;
    assert!(matches!(wrong_count.decode(), Err(BlockError::Corrupt(_))));
    let mut bad_source = good.clone();
    bad_source.source = 200;
    assert!(matches!(bad_source.decode(), Err(BlockError::Corrupt(_))));
    let mut cut = good;
    cut.data.truncate(cut.data.len() / 2);
    assert!(matches!(cut.decode(), Err(BlockError::Corrupt(_))));
}

#[test]
fn power_is_record_variant_3_and_round_trips_in_a_frame() {
    let mut b = PowerBlockBuilder::new(SourceId::Ina219, "l", 10);
    b.push(&ina(5, 5_000_000, 1_000, 5_000)).unwrap();
    let frame = Frame {
        seq: 1,
        record: Record::Power(b.finish().unwrap()),
    };
    let bytes = postcard::to_stdvec(&frame).unwrap();
    assert_eq!(bytes[0], 1, "seq varint");
    assert_eq!(bytes[1], 3, "Record::Power is variant index 3");
    assert_eq!(postcard::from_bytes::<Frame>(&bytes).unwrap(), frame);
    assert_eq!(frame.record.type_name(), "power");
}
