//! The daemon's Prometheus endpoint shows the upload backlog and the last upload error,
//! read with the reference parser while the daemon uploads to the real S3 server.

use super::server::s3;
use super::*;
use crate::common::Ready;
use crate::metrics::parser_python;
use crate::metrics::sample;
use crate::metrics::scrape_until;

#[test]
fn the_endpoint_shows_the_backlog_and_the_last_error_until_the_upload_goes_through() {
    let Some(python) = parser_python() else {
        return;
    };
    let Some(s3) = s3() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let segments = make_segments(&state, &[20 << 10, 30 << 10]);
    let backlog_bytes: u64 = segments
        .iter()
        .map(|s| std::fs::metadata(s).unwrap().len())
        .sum();
    let b = bucket("metrics");
    let creds = credentials(tmp.path(), &s3.key_id, &s3.secret);
    let cfg = config(
        tmp.path(),
        &state,
        &s3.endpoint(),
        &b,
        &creds,
        "enabled = true\ninterval_s = 1\n[metrics]\nenabled = true\nlisten = \"127.0.0.1:0\"",
        "",
    );
    let ready = Ready::new(tmp.path());
    let (mut daemon, message) = ready.spawn_ready(
        edgewatt()
            .args(["run", "--config"])
            .arg(&cfg)
            .env("WATCHDOG_USEC", "400000")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY"),
    );
    let addr = metrics_address(&message);

    // The bucket does not exist yet: every pass fails, and says so.
    let failing = scrape_until(&ready, &python, addr, |f| {
        sample(f, "edgewatt_upload_last_error", &[]).is_some()
    });
    let error = last_error(&failing);
    assert!(
        error.contains(&format!("bucket {b:?} does not exist")),
        "{error}"
    );
    assert!(
        !error.contains(&s3.secret),
        "the secret in the error: {error}"
    );
    assert_eq!(
        sample(&failing, "edgewatt_upload_backlog_segments", &[]),
        Some(segments.len() as f64)
    );
    assert_eq!(
        sample(&failing, "edgewatt_upload_backlog_bytes", &[]),
        Some(backlog_bytes as f64)
    );

    // With the bucket there, the next pass uploads everything: no backlog, no error.
    s3.create_bucket(&b);
    let done = scrape_until(&ready, &python, addr, |f| {
        sample(f, "edgewatt_upload_backlog_segments", &[]) == Some(0.0)
    });
    assert_eq!(
        sample(&done, "edgewatt_upload_backlog_bytes", &[]),
        Some(0.0)
    );
    assert!(
        !done
            .iter()
            .any(|f| f["name"] == "edgewatt_upload_last_error"),
        "the error is gone once a pass goes through"
    );
    assert_bucket_holds(s3, &b, &segments);
    crate::common::signal(daemon.id(), libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());
}

/// The endpoint's address in the daemon's READY status.
fn metrics_address(status: &str) -> std::net::SocketAddr {
    status
        .split("metrics on http://")
        .nth(1)
        .and_then(|url| url.split('/').next())
        .unwrap_or_else(|| panic!("no metrics address in {status:?}"))
        .parse()
        .unwrap()
}

/// The message label of `edgewatt_upload_last_error`.
fn last_error(families: &[serde_json::Value]) -> String {
    let family = families
        .iter()
        .find(|f| f["name"] == "edgewatt_upload_last_error")
        .unwrap();
    family["samples"][0]["labels"]["message"]
        .as_str()
        .unwrap()
        .to_owned()
}
