//! The Prometheus endpoint of the real `edgewatt run`, scraped over HTTP and parsed by
//! the reference parser (`prometheus_client.parser.text_string_to_metric_families`, the
//! pinned PyPI package scripts/lib/setup.sh installs into target/pyenv). Without it the
//! tests fail, unless EDGEWATT_SKIP_PROMETHEUS_PARSER=1 says to skip them.

use std::io::Read;
use std::io::Write;
use std::net::SocketAddr;
use std::net::TcpStream;
use std::path::Path;
use std::path::PathBuf;
use std::process::Child;
use std::process::Command;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::common::edgewatt;
use crate::common::signal;
use crate::common::Ready;

/// The parser's venv python, or `None` when the environment says to skip.
pub(crate) fn parser_python() -> Option<PathBuf> {
    if std::env::var_os("EDGEWATT_SKIP_PROMETHEUS_PARSER").is_some_and(|v| v == "1") {
        eprintln!("EDGEWATT_SKIP_PROMETHEUS_PARSER=1: the endpoint is not checked");
        return None;
    }
    let python = crate::common::test_venv().join("bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import prometheus_client.parser"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import prometheus_client: run scripts/test.sh (it installs it), or \
         `. scripts/lib/setup.sh && ensure_test_python`; EDGEWATT_SKIP_PROMETHEUS_PARSER=1 \
         skips these tests",
        python.display()
    );
    Some(python)
}

/// What the reference parser makes of `text`: one JSON object per family.
pub(crate) fn parse(python: &Path, text: &str) -> Vec<Value> {
    const SCRIPT: &str = "import json, sys\n\
from prometheus_client.parser import text_string_to_metric_families\n\
out = [{'name': f.name, 'type': f.type, 'help': f.documentation,\n\
        'samples': [{'name': s.name, 'labels': s.labels, 'value': s.value} for s in f.samples]}\n\
       for f in text_string_to_metric_families(sys.stdin.read())]\n\
print(json.dumps(out))\n";
    let mut child = Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the parser refused the page: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One HTTP request; the whole answer (the server closes the connection).
fn http(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// `GET /metrics`: the body of a 200 answer.
pub(crate) fn scrape(addr: SocketAddr) -> String {
    let answer = http(addr, "GET /metrics HTTP/1.1\r\nHost: edgewatt\r\n\r\n");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("Content-Type: text/plain; version=0.0.4"));
    body.to_owned()
}

/// The value of the sample `name` whose labels include `labels`.
pub(crate) fn sample(families: &[Value], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    families
        .iter()
        .flat_map(|f| f["samples"].as_array().unwrap())
        .find(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][k] == *v))
        .map(|s| s["value"].as_f64().unwrap())
}

/// A flat 4 W replay trace of 600 s at 10 Hz.
fn write_trace(dir: &Path) -> PathBuf {
    let path = dir.join("trace.csv");
    let text: String = (0..6000)
        .map(|i| format!("{},5000000,800000,4000000\n", i * 100_000))
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// A config with the endpoint on a free loopback port, the replay source, the Pi 5
/// fixture's /sys (known temperature, frequency, throttling) and the real /proc.
fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("edgewatt.toml");
    let sys = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pi5/sys");
    std::fs::write(
        &path,
        format!(
            "state_dir = \"{}\"\n{extra}\n[sampler]\nrate_hz = 20\nsys_root = \"{}\"\n\
             [store]\nfsync_interval_ms = 100\n[power]\nsource = \"replay\"\n\
             [power.replay]\npath = \"{}\"\n[metrics]\nenabled = true\n\
             listen = \"127.0.0.1:0\"\n",
            dir.join("state").display(),
            sys.display(),
            write_trace(dir).display()
        ),
    )
    .unwrap();
    path
}

/// `edgewatt run` with `config`, once READY; the endpoint's address from READY's status.
/// Watchdog pings every 200 ms of the sampling loop's progress pace the scrapes.
fn start(ready: &Ready, config: &Path) -> (Child, SocketAddr) {
    let (child, message) = ready.spawn_ready(
        edgewatt()
            .args(["run", "--config"])
            .arg(config)
            .env("WATCHDOG_USEC", "400000"),
    );
    let url = message
        .split("metrics on http://")
        .nth(1)
        .unwrap_or_else(|| panic!("no metrics address in {message:?}"));
    let addr = url.split('/').next().unwrap().parse().unwrap();
    (child, addr)
}

/// Waits until the sampling loop has made progress since this call: two watchdog pings
/// sent after it (the tick before the first may have begun earlier).
pub(crate) fn progress(ready: &Ready) {
    ready.drain();
    ready.wait_for("WATCHDOG=1", 2);
}

/// Scrapes, with the sampling loop's progress between tries, until `done` holds of the
/// parsed page.
pub(crate) fn scrape_until(
    ready: &Ready,
    python: &Path,
    addr: SocketAddr,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    for _ in 0..600 {
        let families = parse(python, &scrape(addr));
        if done(&families) {
            return families;
        }
        progress(ready);
    }
    panic!("the endpoint never showed what the test waits for");
}

/// Every family has its HELP; counters are typed so (the parser drops `_total` from a
/// counter family's name, not from its samples'); without an uploader, no upload metrics.
fn check_help_types_and_no_upload(first: &[Value]) {
    for f in first {
        assert!(!f["help"].as_str().unwrap().is_empty(), "{f}");
        let counter = f["samples"][0]["name"]
            .as_str()
            .unwrap()
            .ends_with("_total");
        assert_eq!(f["type"] == "counter", counter, "{f}");
    }
    assert!(
        !first
            .iter()
            .any(|f| f["name"].as_str().unwrap().starts_with("edgewatt_upload")),
        "no uploader: no upload metrics"
    );
}

#[test]
fn edgewatt_run_serves_metrics_that_the_reference_parser_reads() {
    let Some(python) = parser_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ready = Ready::new(dir.path());
    let (mut child, addr) = start(&ready, &write_config(dir.path(), ""));
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");

    // Power reaches the endpoint at a flush; the busy share after a second of ticks.
    let first = scrape_until(&ready, &python, addr, |f| {
        sample(f, "edgewatt_power_watts", &[]).is_some()
            && sample(f, "edgewatt_cpu_busy_ratio", &[]).is_some()
    });
    let get = |f: &[Value], name: &str, labels: &[(&str, &str)]| {
        sample(f, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in {f:#?}"))
    };
    assert_eq!(
        get(&first, "edgewatt_power_watts", &[("source", "replay")]),
        4.0
    );
    assert!(get(&first, "edgewatt_power_reading_age_seconds", &[]) >= 0.0);
    let busy = get(&first, "edgewatt_cpu_busy_ratio", &[]);
    assert!((0.0..=1.0).contains(&busy), "{busy}");
    // The fixture's readings, in base units.
    let temp = first
        .iter()
        .find(|f| f["name"] == "edgewatt_soc_temperature_celsius")
        .unwrap();
    assert_eq!(temp["samples"][0]["value"].as_f64(), Some(52.3));
    assert!(temp["samples"][0]["labels"]["zone"]
        .as_str()
        .unwrap()
        .contains("cpu-thermal"));
    assert_eq!(
        get(
            &first,
            "edgewatt_cpu_frequency_hertz",
            &[("policy", "policy0")]
        ),
        2.4e9
    );
    assert_eq!(get(&first, "edgewatt_throttled", &[]), f64::from(0x5_0005));
    assert_eq!(
        get(
            &first,
            "edgewatt_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    check_help_types_and_no_upload(&first);

    // Counters only grow; ticks do while the loop makes progress.
    progress(&ready);
    let second = parse(&python, &scrape(addr));
    for counter in [
        "edgewatt_sampler_late_ticks_total",
        "edgewatt_sampler_read_errors_total",
        "edgewatt_store_errors_total",
    ] {
        assert!(
            get(&second, counter, &[]) >= get(&first, counter, &[]),
            "{counter}"
        );
    }
    let ticks = |f: &[Value]| get(f, "edgewatt_sampler_ticks_total", &[]);
    assert!(ticks(&second) > ticks(&first));

    // HEAD, another path, another method.
    let head = http(addr, "HEAD /metrics HTTP/1.1\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && head.ends_with("\r\n\r\n"));
    assert!(http(addr, "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 "));
    assert!(http(addr, "DELETE /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405 "));

    signal(child.id(), libc::SIGTERM);
    assert!(child.wait().unwrap().success());
    assert!(
        TcpStream::connect(addr).is_err(),
        "the endpoint stops with it"
    );
}

#[test]
fn a_taken_port_leaves_the_daemon_sampling_and_says_why_in_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = write_config(dir.path(), "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("127.0.0.1:0", &taken.local_addr().unwrap().to_string());
    std::fs::write(&config, text).unwrap();
    let ready = Ready::new(dir.path());
    let (mut child, message) = ready.spawn_ready(edgewatt().args(["run", "--config"]).arg(&config));
    assert!(
        message.contains(&format!(
            "metrics: cannot listen on {}",
            taken.local_addr().unwrap()
        )),
        "{message}"
    );
    signal(child.id(), libc::SIGTERM);
    assert!(child.wait().unwrap().success(), "sampling went on");
}

#[test]
fn a_bad_listen_address_is_refused_naming_where() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[metrics]\nenabled = true\nlisten = \"localhost:9464\"\n",
    )
    .unwrap();
    let out = edgewatt()
        .args(["config", "check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("bad.toml:3:"), "{err}");
    assert!(
        err.contains("\"localhost:9464\" is not an IP:PORT address"),
        "{err}"
    );
}

#[cfg(feature = "llama")]
#[test]
fn the_last_run_s_speed_and_joules_per_token_match_its_logged_record() {
    let Some(python) = parser_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "name = \"tiny\"\n[[workload]]\nname = \"llm\"\nmodel = \"{}\"\n\
             prompt_tokens = [64]\ngen_tokens = 200\nthreads = [1]\n",
            crate::llama::models().llama.display()
        ),
    )
    .unwrap();
    let config = write_config(dir.path(), &format!("plans = [\"{}\"]", plan.display()));
    let ready = Ready::new(dir.path());
    let (mut child, addr) = start(&ready, &config);
    let ok = [("outcome", "ok")];
    let page = scrape_until(&ready, &python, addr, |f| {
        sample(f, "edgewatt_runs_total", &ok).is_some_and(|n| n >= 1.0)
    });
    signal(child.id(), libc::SIGTERM);
    assert!(child.wait().unwrap().success());

    let records = crate::common::dump(&dir.path().join("state"));
    let run = records.iter().find(|r| r["type"] == "run").unwrap();
    let tokens = run["generated_tokens"].as_f64().unwrap();
    let decode_s = run["decode_us"].as_f64().unwrap() / 1e6;
    let tps = sample(
        &page,
        "edgewatt_last_run_tokens_per_second",
        &[("phase", "decode")],
    );
    assert!(
        (tps.unwrap() - tokens / decode_s).abs() < 1e-6 * tps.unwrap(),
        "{tps:?}"
    );
    // Measured by the replay source, and the same figure as the logged run's.
    let jpt = |energy| {
        let labels = [
            ("source", "replay"),
            ("phase", "decode"),
            ("energy", energy),
        ];
        sample(&page, "edgewatt_last_run_joules_per_token", &labels).unwrap()
    };
    let decode = run["energy"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == "Decode")
        .unwrap_or_else(|| panic!("{}", run["energy"]));
    let gross_j = decode[1]["gross_uj"].as_f64().unwrap() / 1e6;
    assert!(
        (jpt("gross") - gross_j / tokens).abs() < 1e-9,
        "{}",
        jpt("gross")
    );
    // A flat 4 W with a 4 W baseline: nothing above idle.
    assert!(jpt("net").abs() < 1e-6, "{}", jpt("net"));
    assert!(jpt("gross") > 0.0);
    let coverage = sample(&page, "edgewatt_last_run_energy_coverage_ratio", &[]).unwrap();
    assert!((0.5..=1.0).contains(&coverage), "{coverage}");
}
