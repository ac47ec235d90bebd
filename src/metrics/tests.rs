use std::io::Read;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use super::render::escape_label;
use super::render::redact;
use super::render::render;
use super::server::parse_request;
use super::server::Request;
use super::server::REQUEST_MAX_BYTES;
use super::*;

fn full() -> Snapshot {
    Snapshot {
        ticks_total: 120,
        late_ticks_total: 2,
        read_errors_total: 3,
        cpu_busy_ratio: Some(0.25),
        mem_available_kb: Some(1024),
        temps_mc: vec![Labelled {
            name: "thermal_zone0:cpu-thermal".into(),
            value: Some(51_350),
        }],
        freqs_khz: vec![
            Labelled {
                name: "policy0".into(),
                value: Some(2_400_000),
            },
            Labelled {
                name: "policy4".into(),
                value: None,
            },
        ],
        throttled: Some(0x5_0005),
        power: Some(PowerNow {
            source: "ina219",
            power_uw: 4_250_000,
            mono_us: 1_000_000,
        }),
        store_errors_total: 0,
        store_pending_bytes: 77,
        runs_ok_total: 4,
        runs_failed_total: 1,
        last_run: Some(LastRun {
            prefill_tokens_per_s: 300.0,
            decode_tokens_per_s: 40.5,
            energy: Some(RunJoules {
                source: "ina219".into(),
                decode_gross_j_per_token: Some(0.125),
                decode_net_j_per_token: None,
                prefill_gross_j_per_token: Some(0.01),
                prefill_net_j_per_token: Some(0.004),
                coverage_ratio: 0.98,
            }),
        }),
        upload: None,
    }
}

/// The value of the sample line that starts with `series` (name and labels).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

#[test]
fn every_family_has_help_and_type_once_and_values_are_in_base_units() {
    let text = render(&full(), 3_500_000);
    for name in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let name = name.split(' ').next().unwrap();
        assert_eq!(
            text.matches(&format!("# TYPE {name} ")).count(),
            1,
            "{name}"
        );
        assert_eq!(
            text.matches(&format!("# HELP {name} ")).count(),
            1,
            "{name}"
        );
    }
    let v = |s: &str| value(&text, s);
    assert_eq!(v("edgewatt_power_watts{source=\"ina219\"}"), Some(4.25));
    assert_eq!(
        v("edgewatt_power_reading_age_seconds{source=\"ina219\"}"),
        Some(2.5)
    );
    assert_eq!(v("edgewatt_cpu_busy_ratio"), Some(0.25));
    assert_eq!(v("edgewatt_memory_available_bytes"), Some(1_048_576.0));
    assert_eq!(
        v("edgewatt_soc_temperature_celsius{zone=\"thermal_zone0:cpu-thermal\"}"),
        Some(51.35)
    );
    assert_eq!(
        v("edgewatt_cpu_frequency_hertz{policy=\"policy0\"}"),
        Some(2.4e9)
    );
    assert!(
        !text.contains("policy4"),
        "an unreadable policy is left out"
    );
    assert_eq!(v("edgewatt_throttled"), Some(f64::from(0x5_0005)));
    assert_eq!(v("edgewatt_sampler_late_ticks_total"), Some(2.0));
    assert_eq!(v("edgewatt_sampler_read_errors_total"), Some(3.0));
    assert_eq!(v("edgewatt_runs_total{outcome=\"failed\"}"), Some(1.0));
    assert_eq!(
        v("edgewatt_last_run_tokens_per_second{phase=\"decode\"}"),
        Some(40.5)
    );
    let jpt = "edgewatt_last_run_joules_per_token{source=\"ina219\",phase=";
    assert_eq!(
        v(&format!("{jpt}\"decode\",energy=\"gross\"}}")),
        Some(0.125)
    );
    assert_eq!(v(&format!("{jpt}\"decode\",energy=\"net\"}}")), None);
    assert_eq!(
        v(&format!("{jpt}\"prefill\",energy=\"net\"}}")),
        Some(0.004)
    );
    assert!(text.ends_with('\n'));
}

#[test]
fn what_is_not_known_is_left_out_not_shown_as_zero() {
    let text = render(&Snapshot::default(), 0);
    for absent in [
        "edgewatt_power",
        "edgewatt_cpu_busy_ratio",
        "edgewatt_soc_temperature",
        "edgewatt_throttled",
        "edgewatt_last_run",
        "edgewatt_upload",
    ] {
        assert!(!text.contains(absent), "{absent} in:\n{text}");
    }
    assert_eq!(value(&text, "edgewatt_sampler_ticks_total"), Some(0.0));
    let mut nan = full();
    nan.cpu_busy_ratio = Some(f64::NAN);
    assert!(!render(&nan, 0).contains("edgewatt_cpu_busy_ratio "));
}

#[test]
fn upload_status_appears_once_the_uploader_fills_it_without_secrets() {
    let m = Metrics::new();
    m.update(|s| *s = full());
    assert!(!render(&m.snapshot(), 0).contains("edgewatt_upload"));
    m.set_upload(UploadStatus {
        backlog_segments: 3,
        backlog_bytes: 24_000_000,
        last_error: Some(
            "PUT https://AKIA:hunter2@s3.example/b/k?X-Amz-Signature=abc failed: \"503\"".into(),
        ),
    });
    let text = render(&m.snapshot(), 0);
    assert_eq!(value(&text, "edgewatt_upload_backlog_segments"), Some(3.0));
    assert_eq!(value(&text, "edgewatt_upload_backlog_bytes"), Some(2.4e7));
    let line = text
        .lines()
        .find(|l| l.starts_with("edgewatt_upload_last_error{"))
        .unwrap();
    assert_eq!(
        line,
        r#"edgewatt_upload_last_error{message="PUT https://s3.example/b/k failed: \"503\""} 1"#
    );
}

#[test]
fn redact_cuts_credentials_and_length() {
    assert_eq!(
        redact("auth token=abc123 Credential=AKIA/x secret_key=s ok=1"),
        "auth token=… Credential=… secret_key=… ok=1"
    );
    let long = "x".repeat(500);
    assert_eq!(redact(&long).chars().count(), 201);
    assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

#[test]
fn requests_are_parsed_strictly() {
    let cases: [(&[u8], Request); 9] = [
        (
            b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
            Request::Metrics { head_only: false },
        ),
        (
            b"HEAD /metrics?x=1 HTTP/1.0\r\n\r\n",
            Request::Metrics { head_only: true },
        ),
        (
            b"GET / HTTP/1.1\n\n",
            Request::NotFound { head_only: false },
        ),
        (
            b"GET /metricsx HTTP/1.1\r\n\r\n",
            Request::NotFound { head_only: false },
        ),
        (b"POST /metrics HTTP/1.1\r\n\r\n", Request::MethodNotAllowed),
        (b"GET /metrics\r\n\r\n", Request::BadRequest),
        (b"GET metrics HTTP/1.1\r\n\r\n", Request::BadRequest),
        (b"\xff\xfe /metrics HTTP/1.1\r\n\r\n", Request::BadRequest),
        (b"GET /metrics HTTP/1.1\r\n", Request::BadRequest),
    ];
    for (bytes, want) in cases {
        assert_eq!(
            parse_request(bytes),
            want,
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }
    let big = vec![b'a'; REQUEST_MAX_BYTES + 1];
    assert_eq!(parse_request(&big), Request::TooLarge);
}

/// Sends `request` to `server` and reads the whole answer.
fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(request).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_server_answers_get_head_404_405_and_outlasts_a_stalled_client() {
    let metrics = Metrics::new();
    metrics.update(|s| *s = full());
    let server = Server::start("127.0.0.1:0".parse().unwrap(), metrics.clone()).unwrap();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);

    // A client that sends half a request and stalls: the next one is still answered.
    let mut stalled = TcpStream::connect(addr).unwrap();
    stalled.write_all(b"GET /metr").unwrap();

    let get = exchange(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let (head, body) = get.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"));
    assert!(head.contains(&format!("Content-Length: {}", body.len())));
    assert_eq!(value(body, "edgewatt_sampler_ticks_total"), Some(120.0));

    let head_only = exchange(addr, b"HEAD /metrics HTTP/1.1\r\n\r\n");
    assert!(head_only.starts_with("HTTP/1.1 200 OK\r\n") && head_only.ends_with("\r\n\r\n"));
    let not_found = exchange(addr, b"GET /other HTTP/1.1\r\n\r\n");
    assert!(not_found.starts_with("HTTP/1.1 404 "), "{not_found}");
    let post = exchange(addr, b"POST /metrics HTTP/1.1\r\n\r\n");
    assert!(post.starts_with("HTTP/1.1 405 ") && post.contains("Allow: GET, HEAD"));
    let huge = exchange(addr, &vec![b'a'; REQUEST_MAX_BYTES + 2000]);
    assert!(huge.starts_with("HTTP/1.1 431 "), "{huge}");

    // A changed snapshot shows at the next scrape.
    metrics.update(|s| s.ticks_total = 121);
    let again = exchange(addr, b"GET /metrics HTTP/1.1\r\n\r\n");
    assert!(
        again.contains("\nedgewatt_sampler_ticks_total 121\n"),
        "{again}"
    );
    drop(stalled);
    server.stop();
    assert!(
        TcpStream::connect(addr).is_err(),
        "stopped: nothing listens"
    );
}

#[test]
fn a_taken_port_is_an_error_naming_the_address() {
    let first = Server::start("127.0.0.1:0".parse().unwrap(), Metrics::new()).unwrap();
    let err = Server::start(first.local_addr(), Metrics::new()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&first.local_addr().to_string()), "{msg}");
    assert!(msg.contains("[metrics] listen"), "{msg}");
}
