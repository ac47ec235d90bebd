use super::*;

fn on() -> UploadConfig {
    UploadConfig {
        enabled: true,
        endpoint: "https://s3.example.net".into(),
        bucket: "fleet".into(),
        ..UploadConfig::default()
    }
}

#[track_caller]
fn refused(cfg: &UploadConfig, key: &str, words: &str) {
    let err = cfg.check().unwrap_err();
    assert_eq!(err.key, key, "{err}");
    assert!(err.message.contains(words), "{err}");
}

#[test]
fn defaults_and_a_full_section_pass() {
    UploadConfig::default().check().unwrap();
    on().check().unwrap();
    assert!(!UploadConfig::default().configured());
    assert!(on().configured());
}

#[test]
fn endpoints_are_parsed_with_their_ports() {
    let ep = Endpoint::parse("http://127.0.0.1:9000/").unwrap();
    assert_eq!(
        (ep.https, ep.host.as_str(), ep.port),
        (false, "127.0.0.1", 9000)
    );
    assert_eq!(ep.authority(), "127.0.0.1:9000");
    let ep = Endpoint::parse("https://[::1]:8443").unwrap();
    assert_eq!((ep.host.as_str(), ep.port), ("[::1]", 8443));
    assert_eq!(Endpoint::parse("https://s3.x").unwrap().authority(), "s3.x");
    for bad in [
        "s3.x",
        "ftp://x",
        "https://",
        "https://x:0",
        "https://x:99999",
        "https://x/b",
    ] {
        assert!(Endpoint::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn bad_endpoint_and_bucket_name_their_key() {
    let mut c = on();
    c.endpoint = "http://s3.lan:9000".into();
    refused(&c, "endpoint", "allow_http");
    c.allow_http = true;
    c.check().unwrap();
    refused(
        &UploadConfig {
            endpoint: String::new(),
            ..on()
        },
        "endpoint",
        "no endpoint",
    );
    refused(
        &UploadConfig {
            bucket: String::new(),
            ..on()
        },
        "bucket",
        "no bucket",
    );
    refused(
        &UploadConfig {
            bucket: "Fleet".into(),
            ..on()
        },
        "bucket",
        "not a bucket name",
    );
    refused(
        &UploadConfig {
            bucket: "ab".into(),
            ..on()
        },
        "bucket",
        "3–63",
    );
    let dotted = UploadConfig {
        bucket: "a.b.c".into(),
        path_style: false,
        ..on()
    };
    refused(&dotted, "bucket", "path_style = true");
}

#[test]
fn bad_region_prefix_sizes_and_pacing_name_their_key() {
    refused(
        &UploadConfig {
            region: "US East".into(),
            ..on()
        },
        "region",
        "us-east-1",
    );
    for p in ["/x", "x/", "a//b", "a/../b"] {
        refused(
            &UploadConfig {
                prefix: p.into(),
                ..on()
            },
            "prefix",
            "must not",
        );
    }
    refused(
        &UploadConfig {
            part_size_bytes: 1 << 20,
            ..on()
        },
        "part_size_bytes",
        "5242880",
    );
    let small = UploadConfig {
        multipart_threshold_bytes: 6 << 20,
        ..on()
    };
    refused(&small, "multipart_threshold_bytes", "part_size_bytes");
    refused(
        &UploadConfig {
            max_attempts: 0,
            ..on()
        },
        "max_attempts",
        "1–100",
    );
    let backoff = UploadConfig {
        backoff_max_ms: 10,
        backoff_initial_ms: 20,
        ..on()
    };
    refused(&backoff, "backoff_max_ms", "20–3600000");
    refused(
        &UploadConfig {
            interval_s: 0,
            ..on()
        },
        "interval_s",
        "out of range",
    );
}
