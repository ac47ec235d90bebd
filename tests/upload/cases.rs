//! One-shot uploads: first upload, repeats, faults, wrong credentials, a missing bucket,
//! and retention under pressure while the server is unreachable.

use std::io::BufRead;
use std::io::BufReader;
use std::process::Stdio;

use super::proxy::Fault;
use super::proxy::Proxy;
use super::server::s3;
use super::*;

#[test]
fn a_first_upload_places_each_segment_once_and_repeats_send_nothing() {
    let Some(s3) = s3() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let segments = make_segments(&state, &[200 << 10, 12 << 20, 100 << 10]);
    assert_eq!(segments.len(), 4);
    let b = bucket("first");
    s3.create_bucket(&b);
    let creds = credentials(tmp.path(), &s3.key_id, &s3.secret);
    let direct = config(tmp.path(), &state, &s3.endpoint(), &b, &creds, "", "");
    let out = upload(&direct);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("4 segments uploaded, 0 pending"), "{log}");
    assert_bucket_holds(s3, &b, &segments);

    // Again, through a proxy that counts what is sent: the manifest has everything.
    let proxy = Proxy::start(s3.port, Fault::None);
    let via = config(tmp.path(), &state, &proxy.endpoint(), &b, &creds, "", "");
    let out = upload(&via);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("0 segments uploaded, 0 pending"),
        "{}",
        text(&out)
    );
    assert_eq!(proxy.upstream_bytes(), 0, "nothing sent, not even a HEAD");

    // The manifest lost: every object is found on the server by HEAD, none is sent.
    std::fs::remove_file(state.join("upload-manifest.json")).unwrap();
    let out = upload(&via);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("4 segments uploaded, 0 pending"), "{log}");
    assert_eq!(log.matches(", 0 sent,").count(), 4, "{log}");
    assert_eq!(
        log.matches("already on the server").count(),
        12,
        "each segment and its two Parquet files: {log}"
    );
    assert!(
        proxy.upstream_bytes() < 16 << 10,
        "HEADs only: {} bytes",
        proxy.upstream_bytes()
    );
    assert_bucket_holds(s3, &b, &segments);
}

#[test]
fn a_dropped_connection_and_server_errors_are_retried_to_one_intact_copy() {
    let Some(s3) = s3() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let segments = make_segments(&state, &[11 << 20, 300 << 10]);
    let b = bucket("faults");
    s3.create_bucket(&b);
    let creds = credentials(tmp.path(), &s3.key_id, &s3.secret);
    // Cut in the middle of the second part of the multipart upload.
    let proxy = Proxy::start(s3.port, Fault::DropAfter(PART_BYTES + (2 << 20)));
    let cfg = config(tmp.path(), &state, &proxy.endpoint(), &b, &creds, "", "");
    let out = upload(&cfg);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert_eq!(proxy.injected(), 1, "the connection was dropped once");
    assert!(
        log.contains("UploadPart") && log.contains("trying again"),
        "{log}"
    );
    assert_bucket_holds(s3, &b, &segments);

    // The first three requests of the next pass get 500s: retried, then it goes on.
    let all = make_segments(&state, &[64 << 10]);
    proxy.set_fault(Fault::Fail500(3));
    let out = upload(&cfg);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert_eq!(proxy.injected(), 3, "three 500s answered");
    assert!(log.matches("HTTP 500 InternalError").count() >= 3, "{log}");
    assert_bucket_holds(s3, &b, &all);
}

/// `edgewatt run` with `cfg` at debug level, stopped (SIGTERM) once it logs that the
/// server refused the credentials; its stderr lines.
fn run_until_refused(cfg: &std::path::Path) -> Vec<String> {
    let mut child = edgewatt()
        .env("RUST_LOG", "debug")
        .args(["run", "--duration-s", "300", "--config"])
        .arg(cfg)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut stopped = false;
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if !stopped && line.contains("refused the credentials") {
            super::super::common::signal(child.id(), libc::SIGTERM);
            stopped = true;
        }
        lines.push(line);
    }
    assert!(child.wait().unwrap().success(), "{lines:#?}");
    lines
}

#[test]
fn wrong_credentials_are_a_clear_error_that_leaks_nothing_and_deletes_nothing() {
    let Some(s3) = s3() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let segments = make_segments(&state, &[50 << 10]);
    let b = bucket("creds");
    s3.create_bucket(&b);
    let wrong_secret = "wRoNg/secret+that-must-never-be-shown";
    for (key_id, code) in [
        (s3.key_id.as_str(), "SignatureDoesNotMatch"),
        ("AKIANOTAKEY0000000", "InvalidAccessKeyId"),
    ] {
        let creds = credentials(tmp.path(), key_id, wrong_secret);
        let cfg = config(
            tmp.path(),
            &state,
            &s3.endpoint(),
            &b,
            &creds,
            "",
            "retain_bytes = 4096",
        );
        let out = upload(&cfg);
        let log = text(&out);
        assert_eq!(out.status.code(), Some(2), "{log}");
        assert!(
            log.contains("refused the credentials") && log.contains(code),
            "{log}"
        );
        assert!(
            log.contains(creds.to_str().unwrap()),
            "names the file: {log}"
        );
        assert!(!log.contains(wrong_secret), "the secret leaked: {log}");
        assert!(log.contains("2 pending"), "{log}");
    }
    // The daemon with the same credentials: the error is logged, sampling goes on, the
    // secret is in no log line and no record; retention (4096 bytes) deletes nothing.
    let creds = credentials(tmp.path(), &s3.key_id, wrong_secret);
    let cfg = config(
        tmp.path(),
        &state,
        &s3.endpoint(),
        &b,
        &creds,
        "enabled = true",
        "retain_bytes = 4096",
    );
    let lines = run_until_refused(&cfg);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("upload:") && l.contains("SignatureDoesNotMatch")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().all(|l| !l.contains(wrong_secret)),
        "{lines:#?}"
    );
    let records = super::super::common::dump(&state);
    assert!(records
        .iter()
        .all(|r| !r.to_string().contains(wrong_secret)));
    for s in &segments {
        assert!(s.exists(), "{} was not uploaded: kept", s.display());
    }
    let (stored, _) = s3.list(&b);
    assert!(stored.is_empty(), "{stored:?}");
}

#[test]
fn a_missing_bucket_is_named_and_nothing_is_deleted() {
    let Some(s3) = s3() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let segments = make_segments(&state, &[10 << 10]);
    let b = bucket("missing");
    let creds = credentials(tmp.path(), &s3.key_id, &s3.secret);
    let cfg = config(tmp.path(), &state, &s3.endpoint(), &b, &creds, "", "");
    let out = upload(&cfg);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains(&format!(
            "bucket {b:?} does not exist at {}: create it",
            s3.endpoint()
        )),
        "{log}"
    );
    assert!(segments.iter().all(|s| s.exists()));
}

#[test]
fn retention_keeps_what_an_unreachable_server_has_not_acknowledged() {
    let Some(s3) = s3() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let segments = make_segments(&state, &[100 << 10; 5]);
    let b = bucket("retention");
    s3.create_bucket(&b);
    let creds = credentials(tmp.path(), &s3.key_id, &s3.secret);
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let budget = "retain_bytes = 150000";
    let unreachable = format!("http://127.0.0.1:{closed}");
    let cfg = config(
        tmp.path(),
        &state,
        &unreachable,
        &b,
        &creds,
        "enabled = true",
        budget,
    );
    let out = edgewatt()
        .args(["run", "--duration-s", "0.5", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("not uploaded yet"),
        "retention says why it waits: {log}"
    );
    for s in &segments {
        assert!(s.exists(), "{} deleted before it was uploaded", s.display());
    }

    // The server back: everything is uploaded, and the next start's retention deletes
    // the oldest acknowledged segments.
    let cfg = config(
        tmp.path(),
        &state,
        &s3.endpoint(),
        &b,
        &creds,
        "enabled = true",
        budget,
    );
    let out = upload(&cfg);
    assert!(out.status.success(), "{}", text(&out));
    assert_bucket_has(s3, &b, &segments);
    let out = edgewatt()
        .args(["run", "--duration-s", "0.2", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    for s in &segments[..4] {
        assert!(
            !s.exists(),
            "{} was uploaded and over the budget: deleted",
            s.display()
        );
    }
}

#[test]
fn a_bad_upload_section_is_refused_at_load_naming_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("edgewatt.toml");
    let cases = [
        (
            "endpoint = \"http://s3.lan:9000\"\nbucket = \"fleet\"",
            2,
            "upload.endpoint",
            "allow_http",
        ),
        (
            "endpoint = \"https://s3.lan\"\nbucket = \"Fleet_Logs\"",
            3,
            "upload.bucket",
            "not a bucket name",
        ),
        (
            "enabled = true\nbucket = \"fleet\"",
            1,
            "upload.endpoint",
            "no endpoint",
        ),
        (
            "part_size_bytes = 1024",
            2,
            "upload.part_size_bytes",
            "5242880",
        ),
    ];
    for (section, line, key, words) in cases {
        std::fs::write(&path, format!("[upload]\n{section}\n")).unwrap();
        let out = edgewatt()
            .args(["config", "check", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        let at = format!("{}:{line}:", path.display());
        assert!(
            err.contains(&at) && err.contains(key) && err.contains(words),
            "{section}: {err}"
        );
    }
}

#[test]
fn retention_at_open_and_at_rotation_skips_held_segments_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let segments = make_segments(&dir, &[20 << 10, 20 << 10, 20 << 10]);
    let keep = segments[1].clone();
    let held = keep.clone();
    let mut opts = StoreConfig::default().options(dir.clone());
    opts.retain_bytes = 4096;
    opts.retention_hold = edgewatt::store::RetentionHold::new(move |p| p != held);
    let ident = SegmentIdent {
        device_id: DEVICE.into(),
        boot_id: "boot-b".into(),
        host: "pi5".into(),
    };
    let at = |mono_us| Anchor {
        mono_us,
        wall_unix_us: WALL0_US + 5_000_000,
    };
    let (mut w, _) = Writer::open(opts, ident, at(1)).unwrap();
    for s in &segments {
        assert_eq!(s.exists(), *s == keep, "{}", s.display());
    }
    let rotation = w.rotate(2, at(2)).unwrap();
    assert_eq!(rotation.held, std::slice::from_ref(&keep));
    assert_eq!(rotation.deleted, std::slice::from_ref(&rotation.sealed));
    assert!(keep.exists());
    w.close(SealReason::Shutdown, 3).unwrap();
}
