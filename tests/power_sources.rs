//! PMIC (fixtures, mailbox fallback to the command), replay, RAPL, and absent sensors.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

use edgewatt::clock::FakeClock;
use edgewatt::power::detect;
use edgewatt::power::detect::Absent;
use edgewatt::power::pmic;
use edgewatt::power::pmic::PmicConfig;
use edgewatt::power::pmic::PmicSource;
use edgewatt::power::rapl::counter_delta;
use edgewatt::power::rapl::RaplSource;
use edgewatt::power::reader::run_loop;
use edgewatt::power::reader::PowerMsg;
use edgewatt::power::reader::PowerNotice;
use edgewatt::power::reader::PowerReader;
use edgewatt::power::reader::ReaderConfig;
use edgewatt::power::registry::SourceChoice;
use edgewatt::power::replay::ReplaySource;
use edgewatt::power::vcio;
use edgewatt::power::PowerConfig;
use edgewatt::power::PowerError;
use edgewatt::power::PowerReading;
use edgewatt::power::PowerSource;
use edgewatt::power::SourceId;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pmic")
        .join(name);
    fs::read_to_string(&path).unwrap()
}

#[test]
fn pmic_fixtures_sum_v_times_i_over_paired_rails() {
    // Σ V×I computed separately with exact decimals: 1.477697060181 W and 6.675804761595 W.
    let idle = pmic::parse(&fixture("pi5_idle.txt")).unwrap();
    assert_eq!(
        (idle.power_uw(), idle.paired(), idle.rails.len()),
        (1_477_697, 12, 14)
    );
    assert_eq!(idle.ext5v_uv(), Some(5_121_680));
    let load = pmic::parse(&fixture("pi5_load.txt")).unwrap();
    assert_eq!(load.power_uw(), 6_675_805);
    assert_eq!(load.ext5v_uv(), Some(4_989_120));
    let core = load.rail("VDD_CORE").unwrap();
    assert_eq!((core.ua, core.uv), (Some(6_224_210), Some(861_733)));
}

#[test]
fn pmic_pairs_by_name_not_by_order_or_channel() {
    let adc = pmic::parse(&fixture("reordered_unpaired.txt")).unwrap();
    // 3V3_SYS 0.1 A × 3.3 V + VDD_CORE 2.5 A × 0.8 V; 1V8_SYS has no voltage line.
    assert_eq!((adc.power_uw(), adc.paired()), (2_330_000, 2));
    assert_eq!(adc.rail("1V8_SYS").unwrap().uv, None);
    assert_eq!(adc.ext5v_uv(), Some(5_100_000));
}

#[test]
fn pmic_malformed_output_names_the_line() {
    let err = pmic::parse(&fixture("malformed.txt")).unwrap_err();
    assert!(matches!(err, PowerError::Parse { line: 2, .. }), "{err}");
    assert!(
        err.to_string().contains("value does not end in its unit"),
        "{err}"
    );
    let none = pmic::parse("     EXT5V_V volt(24)=5.10000000V\n").unwrap_err();
    assert!(none.to_string().contains("no rail has both"), "{none}");
}

/// A fake `vcgencmd` that prints a fixture when asked for `pmic_read_adc`.
pub fn fake_vcgencmd(dir: &Path, fixture_name: &str) -> PathBuf {
    let fixture_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pmic")
        .join(fixture_name);
    let script = dir.join("vcgencmd");
    fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1\" = pmic_read_adc ] || exit 2\ncat '{}'\n",
            fixture_path.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn pmic_falls_back_from_the_mailbox_to_the_command() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file opens but refuses the mailbox ioctl (ENOTTY), like a non-Pi kernel.
    let not_vcio = dir.path().join("vcio");
    fs::write(&not_vcio, b"").unwrap();
    let cfg = PmicConfig {
        vcio: not_vcio,
        vcgencmd: fake_vcgencmd(dir.path(), "pi5_load.txt"),
        interval_ms: 100,
    };
    let mut s = PmicSource::open(&cfg).unwrap();
    assert!(!s.uses_mailbox());
    assert_eq!(s.period_us(), 100_000);
    assert!(s.label().contains("no 5 V input current"), "{}", s.label());
    let r = s.poll(7).unwrap().unwrap();
    let mut want = PowerReading::power_only(7, SourceId::Pmic, 6_675_805);
    want.bus_uv = Some(4_989_120);
    assert_eq!(r, want);
    assert_eq!(s.under_voltage_uv(), Some(4_630_000));
}

#[test]
fn pmic_absent_says_why_for_both_routes() {
    let cfg = PmicConfig {
        vcio: PathBuf::from("/nonexistent/vcio"),
        vcgencmd: PathBuf::from("/nonexistent/vcgencmd"),
        interval_ms: 100,
    };
    let err = PmicSource::open(&cfg).err().unwrap().to_string();
    assert!(err.starts_with("pmic not found at /nonexistent/vcio or `/nonexistent/vcgencmd`"));
    assert!(
        err.contains("mailbox: /nonexistent/vcio:") && err.contains("command:"),
        "{err}"
    );
}

#[test]
fn mailbox_request_and_reply_layout() {
    let mut buf = [0u32; vcio::BUFFER_WORDS];
    vcio::build_request("pmic_read_adc", &mut buf).unwrap();
    assert_eq!(buf[0] as usize, vcio::BUFFER_WORDS * 4);
    assert_eq!(buf[0], 1052, "6 header words + 1024-byte slot + end tag");
    assert_eq!(&buf[1..6], &[0, 0x0003_0080, 1024, 0, 0]);
    assert_eq!(buf[6].to_ne_bytes(), *b"pmic");
    assert_eq!(buf[vcio::BUFFER_WORDS - 1], 0, "end tag");
    // The firmware answers in place.
    buf[1] = 0x8000_0000;
    let reply = b"  EXT5V_V volt(24)=5.1V\0";
    for (i, chunk) in reply.chunks(4).enumerate() {
        let mut w = [0u8; 4];
        w[..chunk.len()].copy_from_slice(chunk);
        buf[6 + i] = u32::from_ne_bytes(w);
    }
    let mut out = String::new();
    assert!(!vcio::read_reply(&mut buf, &mut out).unwrap());
    assert_eq!(out, "  EXT5V_V volt(24)=5.1V");
    buf[5] = 3;
    assert!(vcio::read_reply(&mut buf, &mut out)
        .unwrap_err()
        .to_string()
        .contains("error 3"));
    buf[5] = 0;
    buf[6..6 + 256].fill(0x4141_4141);
    assert!(
        vcio::read_reply(&mut buf, &mut out).unwrap(),
        "a full slot may be cut"
    );
    assert!(vcio::build_request(&"x".repeat(1023), &mut buf).is_err());
}

#[test]
fn replay_plays_the_trace_on_the_clock_and_ends() {
    let csv = "mono_us,bus_uv,current_ua,power_uw\n# recorded\n\
               1000,5100000,600000,3060000\n\
               11000,,,3100000\n\
               31000,5000000,700000,3500000\n";
    let mut src = ReplaySource::from_csv(csv, "t.csv").unwrap();
    assert_eq!((src.len(), src.period_us()), (3, 10_000));
    let clock = FakeClock::new(500_000);
    let (tx, rx) = mpsc::channel();
    let stats = run_loop(
        &mut src,
        &clock,
        &ReaderConfig::default(),
        &tx,
        &AtomicBool::new(false),
        Some(10_000_000),
    );
    drop(tx);
    let msgs: Vec<PowerMsg> = rx.iter().collect();
    let times: Vec<(u64, i64)> = msgs
        .iter()
        .filter_map(|m| match m {
            PowerMsg::Reading(r) => Some((r.mono_us, r.power_uw)),
            PowerMsg::Notice { .. } => None,
        })
        .collect();
    assert_eq!(
        times,
        [
            (500_000, 3_060_000),
            (510_000, 3_100_000),
            (530_000, 3_500_000)
        ]
    );
    assert!(
        matches!(&msgs.last().unwrap(), PowerMsg::Notice { notice, .. } if *notice == PowerNotice::Fault { source: "replay".into(), message: "replay: end of trace; power reader stopped".into() })
    );
    assert_eq!(stats.readings, 3);
    let bad = ReplaySource::from_csv("10,1,2,3\n5,1,2,3\n", "b.csv").unwrap_err();
    assert!(
        bad.to_string().contains("line 2") && bad.to_string().contains("backwards"),
        "{bad}"
    );
    let short = ReplaySource::from_csv("10,1,2\n", "b.csv").unwrap_err();
    assert!(
        short.to_string().contains("expected 4 fields, found 3"),
        "{short}"
    );
}

fn rapl_zone(root: &Path, name: &str, energy: u64, max: u64) {
    let dir = root.join(name);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("name"), format!("package-{}\n", &name[11..])).unwrap();
    fs::write(dir.join("energy_uj"), format!("{energy}\n")).unwrap();
    fs::write(dir.join("max_energy_range_uj"), format!("{max}\n")).unwrap();
}

#[test]
fn rapl_sums_packages_and_handles_the_counter_wrap() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    rapl_zone(root, "intel-rapl:0", 1_000_000, 262_143_328_850);
    rapl_zone(root, "intel-rapl:1", 262_143_000_000, 262_143_328_850);
    rapl_zone(root, "intel-rapl:0:0", 5, 10); // a subzone: not counted twice
    let mut s = RaplSource::open(root, 100).unwrap();
    assert!(s.label().contains("[package-0,package-1]"), "{}", s.label());
    assert_eq!(
        s.poll(1_000_000).unwrap(),
        None,
        "first poll only sets the origin"
    );
    fs::write(root.join("intel-rapl:0/energy_uj"), "1500000\n").unwrap();
    // Package 1 wrapped: 328 850 µJ to the top, then 171 150 µJ.
    fs::write(root.join("intel-rapl:1/energy_uj"), "171150\n").unwrap();
    let r = s.poll(1_100_000).unwrap().unwrap();
    // (500 000 + 500 000) µJ over 0.1 s = 10 W, at the middle of the interval.
    assert_eq!(
        r,
        PowerReading::power_only(1_050_000, SourceId::Rapl, 10_000_000)
    );
    assert_eq!(counter_delta(10, 4, 12), 6);
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        RaplSource::open(empty.path(), 100),
        Err(PowerError::Absent { .. })
    ));
}

#[test]
fn an_absent_sensor_is_reported_once_and_gives_no_source() {
    let (source, absent) = detect::start(
        || {
            Err(PowerError::Absent {
                source_name: "ina219",
                location: "/dev/i2c-1 address 0x40".into(),
                message: "NACK".into(),
            })
        },
        "ina219",
    );
    assert!(source.is_none());
    assert_eq!(
        absent,
        Some(Absent {
            source: "ina219".into(),
            message: "ina219 not found at /dev/i2c-1 address 0x40: NACK; no measured power, \
                      runs get estimates only"
                .into()
        })
    );
    let (none, no_event) = detect::start(|| Ok(None), "none");
    assert!(
        none.is_none() && no_event.is_none(),
        "source = none is not a warning"
    );
}

#[test]
fn the_reader_thread_delivers_a_replay_and_stops() {
    let src = ReplaySource::from_csv("0,,,1000\n500,,,2000\n1000,,,3000\n", "t.csv").unwrap();
    let reader = PowerReader::spawn(src, FakeClock::new(10), ReaderConfig::default()).unwrap();
    assert!(reader.label.starts_with("replay of t.csv (3 readings"));
    // The thread ends by itself at the end of the trace, which closes the channel.
    let msgs: Vec<PowerMsg> = reader.rx.iter().collect();
    let powers: Vec<i64> = msgs
        .iter()
        .filter_map(|m| match m {
            PowerMsg::Reading(r) => Some(r.power_uw),
            PowerMsg::Notice { .. } => None,
        })
        .collect();
    assert_eq!(powers, [1000, 2000, 3000]);
    let stats = reader.stop();
    assert_eq!((stats.readings, stats.failures), (3, 0));
}

#[test]
fn power_config_reads_from_toml_and_refuses_unknown_keys() {
    let cfg: PowerConfig = toml::from_str(
        "source = \"ina219\"\n[ina219]\naddress = 0x42\nshunt_uohm = 20000\nmax_current_ma = 4000\n",
    )
    .unwrap();
    assert_eq!(cfg.source, SourceChoice::Only(SourceId::Ina219));
    assert_eq!(
        (
            cfg.ina219.address,
            cfg.ina219.shunt_uohm,
            cfg.ina219.averaging
        ),
        (0x42, 20_000, 8)
    );
    assert_eq!(cfg.pmic.interval_ms, 100, "defaults for the rest");
    let err = toml::from_str::<PowerConfig>("[ina219]\nshunt_ohm = 0.01\n").unwrap_err();
    assert!(
        err.to_string().contains("unknown field `shunt_ohm`"),
        "{err}"
    );
    let off: PowerConfig = toml::from_str("source = \"none\"\n").unwrap();
    assert!(detect::open_configured(&off).unwrap().is_none());
}
