//! The old-log fixture: tests/fixtures/log-v1 is a state directory written once, through
//! the real store writer, by the edgewatt of format version 1 (the program is
//! tests/fixtures/make_log_v1.rs). Its bytes are never regenerated: their sha256 is pinned
//! here, and every later edgewatt must read every record of it, field for field, to the
//! values built in `expected` (not to a re-encoding of what was read).

mod expected;
mod runs;

use std::path::Path;
use std::path::PathBuf;

use edgewatt::clock::Anchor;
use edgewatt::power::SourceId;
use edgewatt::record::BlockBase;
use edgewatt::record::Event;
use edgewatt::record::EventKind;
use edgewatt::record::Record;
use edgewatt::record::Run;
use edgewatt::record::SampleDecoder;
use edgewatt::record::Seal;
use edgewatt::record::SealReason;
use edgewatt::sampler::Sample;
use edgewatt::sampler::SampleLayout;
use edgewatt::store::Item;
use edgewatt::store::SegmentHeader;
use edgewatt::store::SegmentReader;
use expected::ev;
use expected::T0_US;
use expected::WALL_US;
use sha2::Digest;

/// The fixture's files and their sha256: the bytes written once.
const FILES: [(&str, &str); 4] = [
    (
        "00000000000000000000.ewlog",
        "b421ffb6be99c5f008c4fc3e17c25d557605d8faf23a5bbb20ff32c0379de052",
    ),
    (
        "00000000000000000032.ewlog",
        "2802e05be933a61c39e23c643759679dc07a0d085c9340393337f42744c10e98",
    ),
    (
        "00000000000000000036.ewlog",
        "45afacccd756ee85870f0463b49fd1f85f79c7ad12b675a3d0b4c0293440a3ea",
    ),
    (
        "00000000000000000040.ewlog",
        "827c329ff0564c07181dc53c96ce3dce06500cb9f1041a3ef514470c735492ef",
    ),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/log-v1")
}

/// What one frame holds.
enum Want {
    Event(Event),
    Samples(BlockBase, Vec<Sample>),
    Power(
        SourceId,
        &'static str,
        u64,
        Vec<edgewatt::power::PowerReading>,
    ),
    Run(Box<Run>),
    Seal(Seal),
}

fn event(mono_us: u64, kind: EventKind) -> Want {
    Want::Event(ev(mono_us, kind))
}

fn samples(base: BlockBase, layout: &SampleLayout, from: u64, n: u64) -> Want {
    Want::Samples(
        base,
        (from..from + n)
            .map(|i| expected::sample(layout, i))
            .collect(),
    )
}

fn power(source: SourceId, label: &'static str, n: u64, t_us: u64, period_us: u64) -> Want {
    let readings = expected::readings(source, n, t_us, period_us);
    Want::Power(source, label, period_us, readings)
}

fn seal(reason: SealReason, frames: u64, dropped_bytes: u64, mono_us: u64) -> Want {
    Want::Seal(Seal {
        reason,
        frames,
        dropped_bytes,
        mono_us,
    })
}

fn start(mono_us: u64, pid: u32) -> Want {
    event(
        mono_us,
        EventKind::Start {
            version: "0.1.0".into(),
            pid,
            interval_us: 100_000,
        },
    )
}

const INA219: &str = "ina219 0x40 on /dev/i2c-1, shunt 0.1 Ω";

/// Every frame of the fixture, by segment: (first seq, anchor mono µs, frames).
fn fixture() -> Vec<(u64, u64, Vec<Want>)> {
    let (l1, l2) = (expected::layout1(), expected::layout2());
    let mut seg1 = vec![
        start(T0_US - 4_000, 812),
        event(
            T0_US - 3_000,
            EventKind::Config {
                toml: "state_dir = \"/var/lib/edgewatt\"\nplans = []\n\n[sampler]\nrate_hz = 10\n"
                    .into(),
            },
        ),
        event(
            T0_US - 2_000,
            EventKind::SourceMissing {
                source: "/sys/devices/platform/soc/soc:firmware/get_throttled".into(),
                message: "not found: throttling flags are not recorded".into(),
            },
        ),
        event(
            T0_US - 1_000,
            EventKind::SensorAbsent {
                source: "ina219".into(),
                message: "ina219 not found at /dev/i2c-1 0x40: no answer".into(),
            },
        ),
        samples(BlockBase::Key(l1.clone()), &l1, 0, 4),
        samples(BlockBase::After { seq: 4 }, &l1, 4, 4),
        samples(BlockBase::After { seq: 5 }, &l1, 8, 4),
        power(SourceId::Ina219, INA219, 5, T0_US, 1_100),
        power(
            SourceId::Pmic,
            "pmic: PMIC rails (vcgencmd pmic_read_adc)",
            3,
            T0_US,
            100_000,
        ),
        power(SourceId::Replay, "replay: trace.csv", 3, T0_US, 200_000),
        power(SourceId::Rapl, "rapl: package-0", 3, T0_US, 50_000),
    ];
    seg1.extend(expected::middle_events().into_iter().map(Want::Event));
    seg1.extend(runs::runs().map(|r| Want::Run(Box::new(r))));
    seg1.push(event(
        T0_US + 9_000_000,
        EventKind::Stop {
            reason: "rotate for the fixture".into(),
        },
    ));
    seg1.push(seal(SealReason::Rotated, 31, 0, T0_US + 9_100_000));
    let seg2 = vec![
        samples(BlockBase::Key(l2.clone()), &l2, 100, 3),
        event(
            T0_US + 9_500_000,
            EventKind::ProcExit {
                pid: 2001,
                role: "llama-server".into(),
            },
        ),
        event(
            T0_US + 9_600_000,
            EventKind::Stop {
                reason: "SIGTERM".into(),
            },
        ),
        seal(SealReason::Shutdown, 3, 0, T0_US + 9_700_000),
    ];
    let seg3 = vec![
        start(T0_US + 20_000_100, 813),
        samples(BlockBase::Key(l1.clone()), &l1, 200, 2),
        power(SourceId::Ina219, INA219, 2, T0_US + 20_000_000, 1_100),
        seal(SealReason::Recovered, 3, 3, T0_US + 30_000_000),
    ];
    let seg4 = vec![
        event(
            T0_US + 30_000_100,
            EventKind::Recovered {
                segment: "00000000000000000036.ewlog".into(),
                good_frames: 3,
                dropped_bytes: 3,
            },
        ),
        seal(SealReason::Shutdown, 1, 0, T0_US + 30_000_200),
    ];
    vec![
        (0, T0_US - 5_000, seg1),
        (32, T0_US + 9_100_000, seg2),
        (36, T0_US + 20_000_000, seg3),
        (40, T0_US + 30_000_000, seg4),
    ]
}

#[test]
fn the_fixture_bytes_are_the_ones_written_once() {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, FILES.map(|(n, _)| n.to_owned()));
    for (name, sha) in FILES {
        let bytes = std::fs::read(dir().join(name)).unwrap();
        let got: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            got, sha,
            "{name} changed: the old-log fixture is never rewritten"
        );
    }
}

/// Checks one frame against what it should hold; `dec` follows sample block chains.
fn check(seq: u64, rec: &Record, want: &Want, dec: &mut SampleDecoder) {
    match (rec, want) {
        (Record::Event(got), Want::Event(e)) => assert_eq!(got, e, "seq {seq}"),
        (Record::Samples(b), Want::Samples(base, samples)) => {
            assert_eq!(&b.base, base, "seq {seq}");
            assert_eq!((b.count, b.codec), (samples.len() as u32, 1), "seq {seq}");
            let (layout, got) = dec.decode(seq, b).unwrap();
            if let BlockBase::Key(l) = base {
                assert_eq!(&layout, l);
            }
            assert_eq!(got.len(), samples.len());
            for (g, w) in got.iter().zip(samples) {
                assert_eq!(g, w, "seq {seq}, tick {}", w.tick);
            }
        }
        (Record::Power(b), Want::Power(source, label, period_us, readings)) => {
            let code = [
                SourceId::Ina219,
                SourceId::Pmic,
                SourceId::Replay,
                SourceId::Rapl,
            ]
            .iter()
            .position(|s| s == source)
            .unwrap() as u8;
            assert_eq!(b.source, code, "seq {seq}: wire ids are 0 ina219 … 3 rapl");
            assert_eq!((b.label.as_str(), b.period_us), (*label, *period_us));
            assert_eq!((b.count, b.codec), (readings.len() as u32, 1));
            assert_eq!(&b.decode().unwrap(), readings, "seq {seq}");
        }
        (Record::Run(got), Want::Run(run)) => assert_eq!(got, run, "seq {seq}"),
        (Record::Seal(got), Want::Seal(s)) => assert_eq!(got, s, "seq {seq}"),
        (got, _) => panic!("seq {seq}: unexpected record {got:?}"),
    }
}

#[test]
fn the_fuzz_invariants_hold_on_every_segment_of_the_old_log() {
    // Every frame intact and surviving a re-encode (a Run v1 as Run v2), twice over: the
    // reader's items and the scan from offset 0 (which also sees the header as one).
    for ((_, _, frames), (name, _)) in fixture().iter().zip(FILES) {
        let bytes = std::fs::read(dir().join(name)).unwrap();
        let header_and_frames = 2 * frames.len() + 1;
        assert_eq!(
            edgewatt::store::fuzzing::decode_segment(&bytes),
            header_and_frames,
            "{name}"
        );
    }
}

#[test]
fn every_record_of_the_old_log_reads_field_for_field() {
    let want = fixture();
    assert_eq!(want.len(), FILES.len());
    for ((first_seq, anchor_us, frames), (name, _)) in want.iter().zip(FILES) {
        let reader = SegmentReader::open(&dir().join(name)).unwrap();
        let header = reader.header().expect("an intact header");
        assert_eq!(
            header,
            &SegmentHeader {
                format_version: 1,
                device_id: "fixture-pi5-0001".into(),
                boot_id: "6b1f4a52-3c1d-4e1b-9a57-0c2a3f1d7e11".into(),
                anchor: Anchor {
                    mono_us: *anchor_us,
                    wall_unix_us: WALL_US + *anchor_us as i64,
                },
                first_seq: *first_seq,
                writer: "0.1.0".into(),
                host: "pi5-fixture".into(),
            }
        );
        let mut dec = SampleDecoder::new();
        let items: Vec<Item> = reader.items().collect();
        assert_eq!(items.len(), frames.len(), "{name}");
        for (k, (item, want)) in items.iter().zip(frames).enumerate() {
            let Item::Frame { frame, .. } = item else {
                panic!("{name}: item {k} is not a frame: {item:?}");
            };
            assert_eq!(frame.seq, first_seq + k as u64, "{name}");
            check(frame.seq, &frame.record, want, &mut dec);
        }
    }
}
