//! systemd integration: READY once logging works, STOPPING at shutdown, and watchdog
//! pings driven by the sampling loop's progress (a stuck loop stops the pings, so
//! systemd restarts the daemon). Outside systemd every call is a no-op.
//!
//! Datagrams go out non-blocking: the notify socket's queue is short (10 datagrams by
//! default), and a reader that stops reading must never stall the sampling loop. A
//! message that does not fit is dropped and counted; systemd reads its socket, so this
//! only happens under a test harness or a broken supervisor.

use std::io::ErrorKind;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::SocketAddr;
use std::os::unix::net::UnixDatagram;

pub(super) struct Notifier {
    /// The socket and systemd's address; `None` outside systemd.
    target: Option<(UnixDatagram, SocketAddr)>,
    /// Half the watchdog timeout, µs; `None` without a watchdog.
    ping_every_us: Option<u64>,
    last_ping_us: u64,
    /// Messages dropped because the socket's queue was full.
    dropped: u64,
}

impl Notifier {
    pub(super) fn new() -> Self {
        let target = std::env::var_os("NOTIFY_SOCKET").and_then(|path| {
            connect(path.as_bytes())
                .map_err(|e| log::warn!("NOTIFY_SOCKET {path:?} unusable: {e}; no sd_notify"))
                .ok()
        });
        Self {
            ping_every_us: target.as_ref().and(watchdog_usec()).map(|us| us / 2),
            target,
            last_ping_us: 0,
            dropped: 0,
        }
    }

    fn send(&mut self, msg: &str) {
        let Some((sock, addr)) = &self.target else {
            return;
        };
        match sock.send_to_addr(msg.as_bytes(), addr) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                self.dropped += 1;
                if self.dropped.is_power_of_two() {
                    log::warn!(
                        "sd_notify: the notify socket is not being read; {} messages dropped",
                        self.dropped
                    );
                }
            }
            Err(e) => log::debug!("sd_notify: {e}"),
        }
    }

    pub(super) fn ready(&mut self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}\n"));
    }

    /// Called after each completed tick.
    pub(super) fn progress(&mut self, now_us: u64) {
        if let Some(every) = self.ping_every_us {
            if now_us.saturating_sub(self.last_ping_us) >= every {
                self.last_ping_us = now_us;
                self.send("WATCHDOG=1\n");
            }
        }
    }

    /// A reload begins (`READY=1` follows when it is done).
    pub(super) fn reloading(&mut self) {
        let now_us = crate::clock::mono_us();
        self.send(&format!("RELOADING=1\nMONOTONIC_USEC={now_us}\n"));
    }

    pub(super) fn stopping(&mut self) {
        self.send("STOPPING=1\n");
    }
}

/// An unbound non-blocking datagram socket and the address in `NOTIFY_SOCKET`: a path,
/// or `@name` for the abstract namespace.
fn connect(path: &[u8]) -> std::io::Result<(UnixDatagram, SocketAddr)> {
    let addr = match path.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name)?,
        None => SocketAddr::from_pathname(std::ffi::OsStr::from_bytes(path))?,
    };
    let sock = UnixDatagram::unbound()?;
    sock.set_nonblocking(true)?;
    Ok((sock, addr))
}

/// `WATCHDOG_USEC`, when systemd set a watchdog for this very process
/// (`WATCHDOG_PID` absent or equal to our pid).
fn watchdog_usec() -> Option<u64> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    match std::env::var("WATCHDOG_PID") {
        Ok(pid) if pid.parse::<u32>().ok()? != std::process::id() => None,
        _ => (usec > 0).then_some(usec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abstract_and_path_addresses_parse() {
        let (_, a) = connect(b"@edgewatt-test").unwrap();
        assert_eq!(a.as_abstract_name(), Some(&b"edgewatt-test"[..]));
        let (_, p) = connect(b"/run/systemd/notify").unwrap();
        assert_eq!(
            p.as_pathname(),
            Some(std::path::Path::new("/run/systemd/notify"))
        );
    }

    #[test]
    fn a_full_queue_drops_instead_of_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.sock");
        let _unread = UnixDatagram::bind(&path).unwrap();
        let mut n = Notifier {
            target: Some(connect(path.as_os_str().as_bytes()).unwrap()),
            ping_every_us: Some(1),
            last_ping_us: 0,
            dropped: 0,
        };
        // Far more than any datagram queue holds; a blocking send would hang here.
        for t in 1..=2_000 {
            n.progress(t * 10);
        }
        assert!(n.dropped > 0, "the unread queue filled up");
        assert!(n.dropped < 2_000, "the first messages were delivered");
    }
}
