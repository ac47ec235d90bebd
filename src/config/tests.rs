use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("edgewatt.toml"))
}

fn invalid(text: &str) -> (usize, usize, String) {
    match parse(text) {
        Err(ConfigError::Invalid {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        other => panic!("expected an invalid-config error, got {other:?}"),
    }
}

#[test]
fn the_store_sampler_and_roots_options_come_from_the_config_and_its_defaults() {
    let c = parse(
        "state_dir = \"/tmp/s\"\n[store]\nsegment_max_bytes = 65536\nsegment_max_age_s = 60\n\
         fsync_interval_ms = 250\nretain_bytes = 1048576\n\
         [sampler]\ncost_report_interval_s = 5\nproc_root = \"/p\"\nsys_root = \"/s\"\n",
    )
    .unwrap();
    let o = c.store_options();
    assert_eq!(o.dir, PathBuf::from("/tmp/s"));
    assert_eq!(
        (
            o.segment_max_bytes,
            o.segment_max_age_s,
            o.fsync_interval_ms,
            o.retain_bytes
        ),
        (65_536, 60, 250, 1 << 20)
    );
    assert_eq!(o.max_pending_bytes, crate::store::MAX_PENDING_BYTES);
    assert_eq!(c.sampler.options().cost_every_us, 5_000_000);
    assert_eq!(c.sampler.roots(), Roots::new("/p", "/s"));
    // The options' own defaults are the default configuration's.
    let d = Config::default();
    assert_eq!(
        d.store.options("/x".into()),
        StoreConfig::default().options("/x".into())
    );
    assert_eq!(d.store.options("/x".into()).segment_max_bytes, 8 << 20);
    assert_eq!(SamplerOptions::default(), d.sampler.options());
    assert_eq!(Roots::default(), d.sampler.roots());
}

#[test]
fn empty_file_means_defaults() {
    let c = parse("").unwrap();
    assert_eq!(c.sampler.rate_hz, 10);
    assert_eq!(c.sampler.interval_us(), 100_000);
    assert_eq!(c.store.fsync_interval_ms, 5000);
    assert_eq!(c.store.key_block_interval_s, 20);
    assert_eq!(c.store.segment_max_bytes, 8 << 20);
    assert_eq!(c.clock.step_threshold_ms, 500);
    assert_eq!(c.sampler.throttled_interval_ms, 1000);
    let o = c.sampler.options();
    assert_eq!(
        (o.throttled_interval_us, o.cost_every_us),
        (1_000_000, 60_000_000)
    );
}

#[test]
fn the_get_throttled_interval_is_read_and_bounded() {
    let c = parse(
        "[sampler]
throttled_interval_ms = 250
",
    )
    .unwrap();
    assert_eq!(c.sampler.throttled_interval_ms, 250);
    assert_eq!(c.sampler.options().throttled_interval_us, 250_000);
    let (line, column, message) = invalid(
        "[sampler]
throttled_interval_ms = 5
",
    );
    assert_eq!((line, column), (2, 25));
    assert!(
        message.contains("5 is out of range: expected 10–3600000 ms"),
        "{message}"
    );
}

#[test]
fn values_are_read() {
    let c = parse(
        "state_dir = \"/tmp/ew\"\ndevice_id = \"pi-7\"\n[sampler]\nrate_hz = 50\n\
         [store]\nfsync_interval_ms = 250\nretain_bytes = 1048576\n",
    )
    .unwrap();
    assert_eq!(c.state_dir, PathBuf::from("/tmp/ew"));
    assert_eq!(c.device_id.as_deref(), Some("pi-7"));
    assert_eq!(c.sampler.rate_hz, 50);
    assert_eq!(c.sampler.interval_us(), 20_000);
    assert_eq!(c.store.fsync_interval_ms, 250);
    assert_eq!(c.store.retain_bytes, 1 << 20);
}

#[test]
fn an_unknown_key_names_line_and_column() {
    let (line, column, message) = invalid("[sampler]\nrate_hz = 10\nrate = 5\n");
    assert_eq!((line, column), (3, 1));
    assert!(message.contains("unknown field `rate`"), "{message}");
}

#[test]
fn an_out_of_range_value_names_its_position_and_range() {
    let (line, column, message) = invalid("[sampler]\n  rate_hz = 500\n");
    assert_eq!((line, column), (2, 13));
    assert!(
        message.contains("500 is out of range: expected 1–100 Hz"),
        "{message}"
    );
    let (line, _, message) = invalid("[store]\nfsync_interval_ms = 5\n");
    assert_eq!(line, 2);
    assert!(message.contains("100–600000 ms"), "{message}");
}

#[test]
fn a_wrong_type_is_an_error() {
    let (line, _, message) = invalid("[clock]\nstep_threshold_ms = \"soon\"\n");
    assert_eq!(line, 2);
    assert!(message.contains("invalid type"), "{message}");
}

#[test]
fn the_error_message_reads_file_line_column() {
    let e = parse("bogus = 1\n").unwrap_err().to_string();
    assert!(
        e.starts_with("edgewatt.toml:1:1: unknown field `bogus`"),
        "{e}"
    );
}

#[test]
fn a_missing_explicit_file_is_an_error_naming_it() {
    let e = Config::load(Some(Path::new("/nonexistent/edgewatt.toml"))).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/edgewatt.toml"), "{e}");
}

#[test]
fn rate_flag_is_bounded_like_the_file() {
    let mut c = Config::default();
    c.set_rate_hz(100).unwrap();
    assert_eq!(c.sampler.interval_us(), 10_000);
    assert!(c.set_rate_hz(0).is_err());
    assert!(c.set_rate_hz(101).is_err());
}

#[test]
fn effective_config_round_trips_through_toml() {
    let mut c = Config {
        device_id: Some("pi".into()),
        ..Config::default()
    };
    c.sampler.rate_hz = 20;
    assert_eq!(parse(&c.to_toml()).unwrap(), c);
}

#[test]
fn bad_power_values_name_their_key_position_and_range() {
    // (config, line, column, text the message must hold)
    let cases = [
        (
            "[power.ina219]\nshunt_uohm = 1\n",
            2,
            14,
            "power.ina219.shunt_uohm: 1 µΩ is too small a shunt for max_current_ma = 6500",
        ),
        (
            "[power.ina219]\nbus = 1\naveraging = 7\n",
            3,
            13,
            "power.ina219.averaging: 7 is not an averaging count: use 1, 2, 4, 8, 16, 32, 64 or 128",
        ),
        (
            "[power.ina219]\naddress = 0x50\n",
            2,
            11,
            "power.ina219.address: 0x50 is out of range: an INA219 answers at 0x40..=0x4F",
        ),
        (
            "[power.ina219]\nmax_poll_hz = 0\n",
            2,
            15,
            "power.ina219.max_poll_hz: 0 is out of range: expected at least 1 Hz",
        ),
        (
            "[power]\nsource = \"pmic\"\n[power.pmic]\ninterval_ms = 0\n",
            4,
            15,
            "power.pmic.interval_ms: 0 is out of range: expected 1–60000 ms",
        ),
        (
            "[power.rapl]\ninterval_ms = 60001\n",
            2,
            15,
            "power.rapl.interval_ms: 60001 is out of range: expected 1–60000 ms",
        ),
        (
            "[power.ina219]\nunder_voltage_uv = -1\n",
            2,
            20,
            "power.ina219.under_voltage_uv: -1 is out of range: expected 0–16000000 µV",
        ),
        (
            "[power]\nsource = \"replay\"\n",
            2,
            10,
            "power.source: \"replay\" needs power.replay.path",
        ),
        (
            "power = { ina219 = { shunt_uohm = 100000, max_current_ma = 5000 } }\n",
            1,
            35,
            "power.ina219.shunt_uohm: 5000 mA through 100000 µΩ drops 500 mV",
        ),
    ];
    for (text, line, column, expected) in cases {
        let got = invalid(text);
        assert_eq!((got.0, got.1), (line, column), "{text:?}: {}", got.2);
        assert!(got.2.starts_with(expected), "{text:?}: {}", got.2);
    }
}

#[test]
fn a_bad_value_left_at_its_default_points_at_its_table() {
    // shunt_uohm keeps its default (10 mΩ); 50 mA leaves too few current steps.
    let (line, column, message) =
        invalid("[sampler]\nrate_hz = 10\n[power.ina219]\nmax_current_ma = 1\n");
    assert!(
        message.starts_with("power.ina219.shunt_uohm: "),
        "{message}"
    );
    assert_eq!((line, column), (3, 1), "{message}");
}

#[test]
fn good_power_values_pass() {
    let c = parse(
        "[power]\nsource = \"replay\"\n[power.replay]\npath = \"log\"\n\
         [power.ina219]\naddress = 0x4F\nshunt_uohm = 20000\nmax_current_ma = 4000\naveraging = 128\n",
    )
    .unwrap();
    assert_eq!(c.power.ina219.averaging, 128);
    assert_eq!(c.power.replay_path().unwrap(), Path::new("log"));
}
