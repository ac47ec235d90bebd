//! The moto S3 server the upload tests run against: one per test process, started on a
//! free loopback port by tests/upload/s3_server.py, ready when it has printed its port and
//! the credentials of an IAM user (it checks them on an authenticated request first).

use std::io::BufRead;
use std::io::BufReader;
use std::io::Write;
use std::path::PathBuf;
use std::process::Child;
use std::process::ChildStdin;
use std::process::ChildStdout;
use std::process::Command;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::OnceLock;

use serde_json::Value;

/// Set to skip the tests that need the S3 server (they fail without it otherwise).
pub const SKIP_ENV: &str = "EDGEWATT_SKIP_S3_TESTS";

pub struct S3 {
    pub port: u16,
    pub key_id: String,
    pub secret: String,
    io: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
    _child: Child,
}

/// An object in a bucket, as the server has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub key: String,
    pub size: u64,
    /// SHA-256 of the bytes the server returns.
    pub sha256: String,
    /// The `edgewatt-sha256` metadata the uploader set.
    pub meta_sha256: Option<String>,
}

/// The test venv's Python (moto, duckdb with httpfs, pyarrow).
pub fn python() -> PathBuf {
    let venv = std::env::var_os("S3_VENV").map_or_else(crate::common::test_venv, PathBuf::from);
    venv.join("bin/python")
}

/// The server, started on first use; `None` only when [`SKIP_ENV`] is set and it is not
/// installed. Panics (the test fails) when it is not installed otherwise.
pub fn s3() -> Option<&'static S3> {
    static SERVER: OnceLock<Option<S3>> = OnceLock::new();
    SERVER.get_or_init(start).as_ref()
}

fn start() -> Option<S3> {
    let python = python();
    if !python.exists() {
        if std::env::var_os(SKIP_ENV).is_some() {
            eprintln!(
                "{SKIP_ENV} is set and {} is missing: S3 tests skipped",
                python.display()
            );
            return None;
        }
        panic!(
            "the S3 test server is not installed ({} is missing): run scripts/test.sh, or \
             `. scripts/lib/setup.sh && ensure_test_python`; set {SKIP_ENV}=1 to skip these tests",
            python.display()
        );
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/upload/s3_server.py");
    let mut child = Command::new(&python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("read the server's first line");
    let hello: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
        panic!("moto did not start ({e}): {line:?}; is moto[server] 5.2.5 installed?")
    });
    Some(S3 {
        port: u16::try_from(hello["port"].as_u64().unwrap()).unwrap(),
        key_id: hello["key_id"].as_str().unwrap().to_owned(),
        secret: hello["secret"].as_str().unwrap().to_owned(),
        io: Mutex::new((stdin, stdout)),
        _child: child,
    })
}

impl S3 {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn command(&self, line: &str) -> Value {
        let mut io = self.io.lock().unwrap();
        writeln!(io.0, "{line}").unwrap();
        io.0.flush().unwrap();
        let mut answer = String::new();
        io.1.read_line(&mut answer).unwrap();
        let v: Value = serde_json::from_str(&answer).unwrap();
        assert!(v.get("error").is_none(), "{line}: {v}");
        v
    }

    pub fn create_bucket(&self, name: &str) {
        self.command(&format!("bucket {name}"));
    }

    /// Every object of `bucket`, by key, and the number of multipart uploads not completed.
    pub fn list(&self, bucket: &str) -> (Vec<Stored>, usize) {
        let v = self.command(&format!("list {bucket}"));
        let objects = v["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| Stored {
                key: o["key"].as_str().unwrap().to_owned(),
                size: o["size"].as_u64().unwrap(),
                sha256: o["sha256"].as_str().unwrap().to_owned(),
                meta_sha256: o["meta_sha256"].as_str().map(str::to_owned),
            })
            .collect();
        (objects, v["uploads"].as_array().unwrap().len())
    }
}
