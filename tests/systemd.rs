//! The systemd protocol, against a real notify socket: READY once logging works,
//! watchdog pings while the sampling loop makes progress, STOPPING at the end.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use crate::common::edgewatt;

#[test]
fn ready_watchdog_and_stopping_reach_the_notify_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    // Read while the daemon runs, as systemd does: the datagram queue is short and a
    // full one blocks the sender.
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let reader = std::thread::spawn(move || {
        let mut messages = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = sock.recv(&mut buf) {
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            let last = m.trim() == "STOPPING=1";
            messages.push(m);
            if last {
                break;
            }
        }
        messages
    });
    // systemd sets WATCHDOG_PID to the service's pid: the shell's, kept by exec.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("WATCHDOG_PID=$$ exec \"$0\" run --duration-s 1.2 --rate-hz 20 --state-dir \"$1\"")
        .arg(edgewatt().get_program())
        .arg(dir.path().join("state"))
        .env("RUST_LOG", "warn")
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "200000")
        .output()
        .unwrap();
    crate::common::succeeded(out);
    let messages = reader.join().unwrap();
    assert!(messages[0].starts_with("READY=1"), "{messages:?}");
    assert!(
        messages[0].contains("STATUS=sampling at 20 Hz"),
        "{messages:?}"
    );
    let pings = messages.iter().filter(|m| m.trim() == "WATCHDOG=1").count();
    // 1.2 s of progress with a ping due every 100 ms.
    assert!((8..=14).contains(&pings), "{pings} pings: {messages:?}");
    assert_eq!(messages.last().map(|m| m.trim()), Some("STOPPING=1"));
}

/// The shipped unit file.
fn unit() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/edgewatt.service")
}

/// `tool args…`'s output; panics naming the Debian package to install if it is missing.
pub fn tool_output(tool: &str, package: &str, args: &[&std::ffi::OsStr]) -> std::process::Output {
    std::process::Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {tool} ({e}): install it (apt-get install {package}; scripts/test.sh does)")
        })
}

#[test]
fn the_unit_s_exposure_per_systemd_analyze_security_is_at_most_3() {
    let out = tool_output(
        "systemd-analyze",
        "systemd",
        &[
            "security".as_ref(),
            "--offline=true".as_ref(),
            unit().as_os_str(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let level: f64 = text
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for edgewatt.service: "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no overall exposure level in:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(level <= 3.0, "exposure {level} > 3.0:\n{text}");
}

/// `Key=value` lines of the unit, in order.
fn directives(key: &str) -> Vec<String> {
    let text = std::fs::read_to_string(unit()).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_unit_keeps_workers_deaths_from_stopping_it_and_hides_no_source() {
    assert_eq!(directives("OOMPolicy"), ["continue"]);
    // SIGHUP reloads; stopping is SIGTERM, well inside the stop timeout.
    assert_eq!(directives("ExecReload"), ["/bin/kill -HUP $MAINPID"]);
    assert_eq!(directives("KillSignal"), ["SIGTERM"]);
    assert_eq!(directives("TimeoutStopSec"), ["30"]);
    assert_eq!(directives("UMask"), ["0027"]);
    assert_eq!(directives("StateDirectoryMode"), ["0750"]);
    assert_eq!(directives("CapabilityBoundingSet"), [""]);
    for key in [
        "PrivateTmp",
        "RestrictNamespaces",
        "RestrictRealtime",
        "RestrictSUIDSGID",
    ] {
        assert_eq!(directives(key), ["yes"], "{key}");
    }
    // What edgewatt reads must stay visible: /proc/stat and /proc/meminfo (ProcSubset=pid
    // hides them), the I2C buses and the PMIC mailbox (PrivateDevices hides them).
    assert!(directives("ProcSubset").is_empty());
    assert!(directives("PrivateDevices").is_empty());
    assert_eq!(directives("DeviceAllow"), ["char-i2c rw", "/dev/vcio rw"]);
}
