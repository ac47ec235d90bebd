//! A small HTTP/1.1 server on its own thread: `GET /metrics` (and `HEAD`), 404 for any
//! other path, 405 for any other method. One connection at a time, each answered and
//! closed (`Connection: close`); a client gets [`REQUEST_TIMEOUT`] in all to send its
//! request head of at most [`REQUEST_MAX_BYTES`], so a slow or bad client holds the
//! endpoint that long at most and never touches the sampling loop.

use std::io::Read;
use std::io::Write;
use std::net::IpAddr;
use std::net::Ipv4Addr;
use std::net::Ipv6Addr;
use std::net::SocketAddr;
use std::net::TcpListener;
use std::net::TcpStream;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use std::time::Instant;

use thiserror::Error;

use super::render;
use super::Metrics;

/// Time a client has to send its request head, and to take the answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest request head (request line and headers) read.
pub const REQUEST_MAX_BYTES: usize = 8192;
/// After a failed `accept` (out of file descriptors), wait this long before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

#[derive(Debug, Error)]
pub enum MetricsError {
    #[error(
        "metrics: cannot listen on {addr}: {source} (another process has the port, or the \
         address is not this board's; change [metrics] listen)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("metrics: cannot start the server thread: {0}")]
    Thread(std::io::Error),
}

/// The running server; stopped (and its thread joined) by [`Server::stop`] or drop.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens on `listen` and serves `metrics` from a thread `edgewatt-metrics`.
    pub fn start(listen: SocketAddr, metrics: Metrics) -> Result<Self, MetricsError> {
        let bind = |source| MetricsError::Bind {
            addr: listen,
            source,
        };
        let listener = TcpListener::bind(listen).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("edgewatt-metrics".to_owned())
            .spawn(move || accept_loop(&listener, &metrics, &flag))
            .map_err(MetricsError::Thread)?;
        Ok(Self {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Where it listens (the port chosen when `listen` said port 0).
    #[must_use]
    pub const fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and joins the thread (waits for a request being answered).
    pub fn stop(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept with a connection of our own.
        let ip = match self.addr.ip() {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        match TcpStream::connect_timeout(&SocketAddr::new(ip, self.addr.port()), REQUEST_TIMEOUT) {
            Ok(_) => {
                if thread.join().is_err() {
                    log::error!("metrics: the server thread panicked");
                }
            }
            // Not joined: the thread ends with the process.
            Err(e) => log::warn!("metrics: cannot wake the server thread to stop it: {e}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shut();
    }
}

fn accept_loop(listener: &TcpListener, metrics: &Metrics, stop: &AtomicBool) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match conn {
            Ok(stream) => {
                if let Err(e) = serve(stream, metrics) {
                    log::debug!("metrics: a client: {e}");
                }
            }
            Err(e) => {
                log::warn!("metrics: accept: {e}");
                std::thread::sleep(ACCEPT_BACKOFF);
            }
        }
    }
}

/// What a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `GET /metrics` (`head_only`: `HEAD`).
    Metrics {
        head_only: bool,
    },
    NotFound {
        head_only: bool,
    },
    MethodNotAllowed,
    BadRequest,
    TooLarge,
}

/// Reads the request head from `stream` within the deadline; `None`: the client went away
/// or was too slow.
fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        stream.set_read_timeout(Some(left))?;
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(None),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        head.extend_from_slice(&buf[..n]);
        if head_end(&head).is_some() || head.len() > REQUEST_MAX_BYTES {
            return Ok(Some(head));
        }
    }
}

/// Where the head ends (after its blank line), if it has.
fn head_end(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4);
    crlf.or_else(|| bytes.windows(2).position(|w| w == b"\n\n").map(|p| p + 2))
}

/// What the request head `bytes` asks for.
#[must_use]
pub fn parse_request(bytes: &[u8]) -> Request {
    let Some(end) = head_end(bytes) else {
        return if bytes.len() > REQUEST_MAX_BYTES {
            Request::TooLarge
        } else {
            Request::BadRequest
        };
    };
    if end > REQUEST_MAX_BYTES {
        return Request::TooLarge;
    }
    let Ok(head) = std::str::from_utf8(&bytes[..end]) else {
        return Request::BadRequest;
    };
    let line = head.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Request::BadRequest;
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Request::BadRequest;
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Request::MethodNotAllowed,
    };
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    if path == "/metrics" {
        Request::Metrics { head_only }
    } else {
        Request::NotFound { head_only }
    }
}

const PLAIN: &str = "Content-Type: text/plain; charset=utf-8\r\n";

fn serve(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    let Some(head) = read_head(&mut stream)? else {
        return Ok(());
    };
    let (status, extra, body, head_only) = match parse_request(&head) {
        Request::Metrics { head_only } => {
            let text = render::render(&metrics.snapshot(), crate::clock::mono_us());
            let ct = format!("Content-Type: {}\r\n", render::CONTENT_TYPE);
            ("200 OK", ct, text, head_only)
        }
        Request::NotFound { head_only } => (
            "404 Not Found",
            PLAIN.to_owned(),
            "not found: the metrics are at /metrics\n".to_owned(),
            head_only,
        ),
        Request::MethodNotAllowed => (
            "405 Method Not Allowed",
            format!("{PLAIN}Allow: GET, HEAD\r\n"),
            "only GET and HEAD\n".to_owned(),
            false,
        ),
        Request::BadRequest => (
            "400 Bad Request",
            PLAIN.to_owned(),
            "bad request\n".to_owned(),
            false,
        ),
        Request::TooLarge => (
            "431 Request Header Fields Too Large",
            PLAIN.to_owned(),
            format!("request head over {REQUEST_MAX_BYTES} bytes\n"),
            false,
        ),
    };
    let mut reply = format!(
        "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        reply.extend_from_slice(body.as_bytes());
    }
    stream.write_all(&reply)?;
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    drain(&mut stream);
    Ok(())
}

/// Reads what the client still sends (at most 64 KiB, for a second), so that closing does
/// not reset the connection before the client has read the answer.
fn drain(stream: &mut TcpStream) {
    const DRAIN_MAX_BYTES: usize = 64 << 10;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 4096];
    let mut total = 0;
    while total < DRAIN_MAX_BYTES {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => total += n,
        }
    }
}
