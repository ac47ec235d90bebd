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
