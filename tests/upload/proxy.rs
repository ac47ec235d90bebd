//! A fault-injecting TCP proxy between the uploader and the S3 server: it drops the
//! connection after N bytes, answers 500 to the first N requests, or stalls the transfer
//! after N bytes (and says so), and counts the bytes it forwards to the server.

use std::io::Read;
use std::io::Write;
use std::net::Shutdown;
use std::net::TcpListener;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::Condvar;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Cut the connection (both ways) once this many bytes went to the server in all.
    DropAfter(u64),
    /// Answer `500 InternalError` to this many requests (each on its own connection).
    Fail500(u32),
    /// Stop forwarding this many bytes after a request line holding the marker went to
    /// the server; [`Proxy::wait_stalled`].
    StallAfterRequest(&'static str, u64),
}

#[derive(Debug, Default)]
struct State {
    fault: Option<Fault>,
    /// Client bytes forwarded to the server.
    upstream_bytes: u64,
    /// Faults injected (connections dropped, 500s answered, stalls).
    injected: u32,
    stalled: bool,
    /// Connections held by a stall, released (shut down) by [`Proxy::set_fault`].
    held: Vec<TcpStream>,
    /// `upstream_bytes` when the stall's marker was forwarded.
    marker_at: Option<u64>,
    /// Request lines forwarded (`PUT /bucket/key?partNumber=2&uploadId=… HTTP/1.1`).
    requests: Vec<String>,
}

pub struct Proxy {
    pub port: u16,
    shared: Arc<(Mutex<State>, Condvar)>,
}

impl Proxy {
    /// A proxy on a free loopback port in front of `127.0.0.1:upstream_port`.
    pub fn start(upstream_port: u16, fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = State {
            fault: Some(fault),
            ..State::default()
        };
        let shared = Arc::new((Mutex::new(state), Condvar::new()));
        let s = Arc::clone(&shared);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let s = Arc::clone(&s);
                std::thread::spawn(move || connection(client, upstream_port, &s));
            }
        });
        Self { port, shared }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Changes the fault (and counts injections from 0); connections held by a stall are
    /// cut.
    pub fn set_fault(&self, fault: Fault) {
        let mut st = self.shared.0.lock().unwrap();
        st.fault = Some(fault);
        st.injected = 0;
        st.marker_at = None;
        for c in st.held.drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
        st.stalled = false;
    }

    pub fn upstream_bytes(&self) -> u64 {
        self.shared.0.lock().unwrap().upstream_bytes
    }

    /// Forgets the bytes and request lines counted so far.
    pub fn reset_counts(&self) {
        let mut st = self.shared.0.lock().unwrap();
        st.upstream_bytes = 0;
        st.requests.clear();
    }

    /// The request lines forwarded so far.
    pub fn requests(&self) -> Vec<String> {
        self.shared.0.lock().unwrap().requests.clone()
    }

    pub fn injected(&self) -> u32 {
        self.shared.0.lock().unwrap().injected
    }

    /// Waits until a stall holds the transfer (at most 120 s: then the test fails).
    pub fn wait_stalled(&self) {
        let (m, cv) = &*self.shared;
        let st = m.lock().unwrap();
        let (st, timeout) = cv
            .wait_timeout_while(st, Duration::from_secs(120), |st| !st.stalled)
            .unwrap();
        assert!(
            !timeout.timed_out(),
            "no transfer reached the stall: {st:?}"
        );
    }
}

fn connection(mut client: TcpStream, upstream_port: u16, shared: &Arc<(Mutex<State>, Condvar)>) {
    let fail = {
        let mut st = shared.0.lock().unwrap();
        match st.fault {
            Some(Fault::Fail500(n)) if st.injected < n => {
                st.injected += 1;
                true
            }
            _ => false,
        }
    };
    if fail {
        answer_500(&mut client);
        return;
    }
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
        return;
    };
    let (c2, u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    // Server to client: as it comes.
    std::thread::spawn(move || {
        let (mut from, mut to) = (u2, c2);
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
    to_server(client, upstream, shared);
}

/// Forwards client bytes to the server, counting them and applying the byte faults.
fn to_server(
    mut client: TcpStream,
    mut upstream: TcpStream,
    shared: &Arc<(Mutex<State>, Condvar)>,
) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let (allowed, fault) = {
            let mut st = shared.0.lock().unwrap();
            let lines = request_lines(&buf[..n]);
            let limit = match st.fault {
                Some(Fault::DropAfter(b)) => Some(b),
                Some(Fault::StallAfterRequest(marker, b)) => {
                    if st.marker_at.is_none() && lines.iter().any(|l| l.contains(marker)) {
                        st.marker_at = Some(st.upstream_bytes);
                    }
                    st.marker_at.map(|at| at + b)
                }
                _ => None,
            };
            st.requests.extend(lines);
            let allowed = limit.map_or(n as u64, |b| {
                (b.saturating_sub(st.upstream_bytes)).min(n as u64)
            });
            st.upstream_bytes += allowed;
            let fault = if allowed < n as u64 {
                st.fault.take()
            } else {
                None
            };
            (allowed as usize, fault)
        };
        if upstream.write_all(&buf[..allowed]).is_err() {
            break;
        }
        match fault {
            Some(Fault::DropAfter(_)) => {
                let mut st = shared.0.lock().unwrap();
                st.injected += 1;
                st.fault = Some(Fault::None);
                let _ = client.shutdown(Shutdown::Both);
                let _ = upstream.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::StallAfterRequest(..)) => {
                let (m, cv) = &**shared;
                let mut st = m.lock().unwrap();
                st.injected += 1;
                st.stalled = true;
                st.held.push(client);
                st.held.push(upstream);
                cv.notify_all();
                return;
            }
            _ => {}
        }
    }
    let _ = upstream.shutdown(Shutdown::Write);
}

/// Reads one request (headers and `Content-Length` body) and answers 500, closing.
fn answer_500(client: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let len: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let _ = std::io::copy(&mut Read::take(&mut *client, len), &mut std::io::sink());
    let body =
        "<Error><Code>InternalError</Code><Message>injected by the test proxy</Message></Error>";
    let reply = format!(
        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.write_all(reply.as_bytes());
    let _ = client.shutdown(Shutdown::Both);
}

/// The HTTP request lines in `chunk` (a request's head is written in one piece, so its
/// line is whole in one read).
fn request_lines(chunk: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(chunk);
    text.split("\r\n")
        .filter(|l| l.ends_with(" HTTP/1.1"))
        .filter(|l| {
            ["GET ", "PUT ", "POST ", "HEAD ", "DELETE "]
                .iter()
                .any(|m| l.starts_with(m))
        })
        .map(str::to_owned)
        .collect()
}
