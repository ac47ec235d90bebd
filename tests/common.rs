//! Helpers shared by the integration tests.

use std::io::BufRead;
use std::io::BufReader;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::path::PathBuf;
use std::process::Child;
use std::process::Command;
use std::process::Output;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub fn edgewatt() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_edgewatt"));
    c.env("RUST_LOG", "warn");
    // The report's cache of cost rows goes under the build's scratch directory, not the
    // user's ~/.cache (one file per state directory: tests do not share any).
    c.env(
        "XDG_CACHE_HOME",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("xdg-cache"),
    );
    c
}

/// The test venv scripts/lib/setup.sh makes: `pyenv` in the target directory this build
/// uses (`CARGO_TARGET_DIR`, else `target/`), the parent of `CARGO_TARGET_TMPDIR`.
pub fn test_venv() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is under the target directory")
        .join("pyenv")
}

/// Panics with the process's stderr unless it succeeded; returns it.
pub fn succeeded(out: Output) -> Output {
    assert!(
        out.status.success(),
        "edgewatt failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs edgewatt with `args` and the given state dir; panics with its stderr if it fails.
pub fn ok(state_dir: &Path, args: &[&str]) -> Output {
    let out = edgewatt()
        .args(args)
        .arg("--state-dir")
        .arg(state_dir)
        .output();
    succeeded(out.expect("spawn edgewatt"))
}

/// `edgewatt run --duration-s SECONDS --config CONFIG`, which must succeed.
pub fn run_config(config: &Path, seconds: &str) -> Output {
    let out = edgewatt()
        .args(["run", "--duration-s", seconds, "--config"])
        .arg(config)
        .output();
    succeeded(out.expect("spawn edgewatt"))
}

/// Sends `sig` to a child process.
pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
}

/// Every record of the state dir, via `dump --format jsonl`.
pub fn dump(state_dir: &Path) -> Vec<Value> {
    jsonl(&ok(state_dir, &["dump", "--format", "jsonl"]).stdout)
}

/// Every record `dump` still reads from a damaged state dir, and what it said on stderr.
/// `dump` must exit 1 (it skipped damaged data) saying so, and 0 with `--allow-damaged`,
/// printing the same records.
pub fn dump_damaged(state_dir: &Path) -> (Vec<Value>, String) {
    let run = |extra: &[&str]| {
        edgewatt()
            .args(["dump", "--format", "jsonl"])
            .args(extra)
            .arg("--state-dir")
            .arg(state_dir)
            .output()
            .expect("spawn edgewatt")
    };
    let out = run(&[]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "damage skipped: exit 1; {err}");
    assert!(
        err.contains("skipped damaged data") && err.contains("--allow-damaged"),
        "{err}"
    );
    let allowed = run(&["--allow-damaged"]);
    assert_eq!(allowed.status.code(), Some(0), "--allow-damaged: exit 0");
    assert_eq!(allowed.stdout, out.stdout, "the same records either way");
    (jsonl(&out.stdout), err)
}

/// JSON lines, one value each.
pub fn jsonl(bytes: &[u8]) -> Vec<Value> {
    std::str::from_utf8(bytes)
        .expect("utf-8 JSON lines")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// Per-segment summaries, via `inspect --format json`, which must find no damage.
pub fn inspect(state_dir: &Path) -> Vec<Value> {
    jsonl(&ok(state_dir, &["inspect", "--format", "json"]).stdout)
}

/// Per-segment summaries of a damaged state dir: `inspect` exits 1, or 0 with
/// `--allow-damaged`, printing the same summaries.
pub fn inspect_damaged(state_dir: &Path) -> Vec<Value> {
    let out = edgewatt()
        .args(["inspect", "--format", "json", "--state-dir"])
        .arg(state_dir)
        .output()
        .expect("spawn edgewatt");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "damage found: exit 1; {err}");
    assert!(err.contains("--allow-damaged"), "{err}");
    let allowed = ok(
        state_dir,
        &["inspect", "--format", "json", "--allow-damaged"],
    );
    assert_eq!(allowed.stdout, out.stdout);
    jsonl(&out.stdout)
}

/// A config file with a fast fsync, written into `dir`.
pub fn fast_config(dir: &Path, fsync_interval_ms: u64) -> std::path::PathBuf {
    let path = dir.join("edgewatt.toml");
    std::fs::write(
        &path,
        format!("[store]\nfsync_interval_ms = {fsync_interval_ms}\n[sampler]\ncost_report_interval_s = 1\n"),
    )
    .expect("write config");
    path
}

/// A flat 4 W power trace for the `replay` source (5 V, 0.8 A, 4 W), 60 s at 100 Hz,
/// written to `dir/trace.csv`; returns its path.
pub fn write_flat_4w_trace(dir: &Path) -> PathBuf {
    let path = dir.join("trace.csv");
    let text: String = (0..6000)
        .map(|i| format!("{},5000000,800000,4000000\n", i * 10_000))
        .collect();
    std::fs::write(&path, text).expect("write trace");
    path
}

/// Ticks the daemon skipped because it was starved of CPU (`sampler_late` events' `missed`).
pub fn missed_ticks(records: &[Value]) -> u64 {
    records
        .iter()
        .filter(|r| r["event"] == "sampler_late")
        .filter_map(|r| r["missed"].as_u64())
        .sum()
}

/// Starts `edgewatt run` processes and waits for each one's `READY=1` on a notify socket
/// of its own, as systemd does: the daemon says it once its segment is open and its start
/// event written, so a test's clock starts there and not at a slow process start.
pub struct Ready {
    path: PathBuf,
    sock: UnixDatagram,
}

impl Ready {
    pub fn new(dir: &Path) -> Self {
        let path = dir.join("notify.sock");
        let sock = UnixDatagram::bind(&path).expect("bind notify socket");
        sock.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("socket timeout");
        Self { path, sock }
    }

    /// `edgewatt run --rate-hz RATE_HZ --state-dir STATE`, once it is ready.
    pub fn run(&self, state: &Path, rate_hz: u32) -> Child {
        self.spawn(
            edgewatt()
                .args(["run", "--rate-hz", &rate_hz.to_string(), "--state-dir"])
                .arg(state),
        )
    }

    /// Spawns `cmd` with `NOTIFY_SOCKET` set and returns once it said `READY=1`; kills it
    /// and panics if it does not within 60 s.
    pub fn spawn(&self, cmd: &mut Command) -> Child {
        self.spawn_ready(cmd).0
    }

    /// [`spawn`](Self::spawn), also returning the `READY=1` message (with its `STATUS=`).
    pub fn spawn_ready(&self, cmd: &mut Command) -> (Child, String) {
        let mut child = cmd
            .env("NOTIFY_SOCKET", &self.path)
            .spawn()
            .expect("spawn edgewatt");
        let mut buf = [0u8; 4096];
        let failure = loop {
            match self.recv(&mut buf) {
                Ok(n) if buf[..n].starts_with(b"READY=1") => {
                    return (child, String::from_utf8_lossy(&buf[..n]).into_owned())
                }
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        let _ = child.kill();
        let status = child.wait();
        panic!("no READY=1 from edgewatt: {failure}; it ended with {status:?}");
    }

    /// The next message; a wait interrupted by a signal (EINTR: a timed wait is not
    /// restarted after the test process was stopped and continued) goes on.
    fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            match self.sock.recv(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }

    /// Discards the messages already queued, so that the next ones waited for were sent
    /// after this call.
    pub fn drain(&self) {
        self.sock.set_nonblocking(true).expect("non-blocking");
        let mut buf = [0u8; 4096];
        while self.sock.recv(&mut buf).is_ok() {}
        self.sock.set_nonblocking(false).expect("blocking");
    }

    /// Waits for `n` more messages that start with `prefix` (e.g. `WATCHDOG=1`, sent as
    /// the sampling loop makes progress); panics if they do not come within 60 s each.
    pub fn wait_for(&self, prefix: &str, n: usize) {
        let mut buf = [0u8; 4096];
        let mut seen = 0;
        while seen < n {
            match self.recv(&mut buf) {
                Ok(len) => seen += usize::from(buf[..len].starts_with(prefix.as_bytes())),
                Err(e) => panic!("{seen} of {n} {prefix:?} messages: {e}"),
            }
        }
    }
}

/// Lines of the child's stderr as they come, and all of them at the end.
pub struct StderrLines {
    rx: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl StderrLines {
    pub fn of(child: &mut Child) -> Self {
        let err = child.stderr.take().expect("stderr piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits (at most a minute) for a line containing `text`.
    pub fn wait_for(&mut self, text: &str) -> String {
        loop {
            match self.rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no line with {text:?} ({e}); stderr so far: {:#?}",
                    self.seen
                ),
            }
        }
    }

    pub fn rest(mut self) -> Vec<String> {
        self.seen.extend(self.rx.iter());
        self.seen
    }
}
