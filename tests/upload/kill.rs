//! The daemon killed in the middle of a multipart upload, then restarted: the parts the
//! server acknowledged are not sent again, and the bucket ends with one intact copy.

use std::io::BufRead;
use std::io::BufReader;
use std::process::Stdio;

use super::proxy::Fault;
use super::proxy::Proxy;
use super::server::s3;
use super::*;
use crate::common::signal;
use crate::common::Ready;

#[test]
fn a_daemon_killed_mid_upload_resumes_without_sending_acknowledged_parts_again() {
    let Some(s3) = s3() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let big: u64 = 16 << 20;
    let segments = make_segments(&state, &[big, 40 << 10]);
    let b = bucket("kill");
    s3.create_bucket(&b);
    let creds = credentials(tmp.path(), &s3.key_id, &s3.secret);
    // The proxy stalls the transfer 1 MiB into part 2: the daemon has saved part 1's
    // acknowledgment by then, as it saves each before sending the next.
    let proxy = Proxy::start(s3.port, Fault::StallAfterRequest("partNumber=2&", 1 << 20));
    let cfg = config(
        tmp.path(),
        &state,
        &proxy.endpoint(),
        &b,
        &creds,
        "enabled = true\ninterval_s = 1",
        "",
    );
    let ready = Ready::new(tmp.path());
    let mut daemon = ready.spawn(
        edgewatt()
            .args(["run", "--config"])
            .arg(&cfg)
            .stderr(Stdio::null()),
    );
    proxy.wait_stalled();
    signal(daemon.id(), libc::SIGKILL);
    daemon.wait().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join("upload-manifest.json")).unwrap())
            .unwrap();
    let key = key_of(&segments[0]);
    let parts = manifest["multipart"][&key]["parts"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(parts, 1, "part 1 acknowledged before the kill: {manifest}");

    // Restarted, with the network healthy: it goes on from part 2.
    proxy.set_fault(Fault::None);
    proxy.reset_counts();
    let mut daemon = ready.spawn(
        edgewatt()
            .env("RUST_LOG", "info")
            .args(["run", "--config"])
            .arg(&cfg)
            .stderr(Stdio::piped()),
    );
    let mut pending: Vec<String> = segments
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    let mut lines = Vec::new();
    for line in BufReader::new(daemon.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        // A segment's last object is its samples Parquet.
        pending.retain(|name| {
            !(line.contains(&format!("uploaded {name} as ")) && line.contains(".samples.parquet"))
        });
        lines.push(line);
        if pending.is_empty() {
            break;
        }
    }
    signal(daemon.id(), libc::SIGTERM);
    assert!(daemon.wait().unwrap().success());
    assert!(pending.is_empty(), "not uploaded: {pending:?}\n{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("resuming the multipart upload") && l.contains("1 of 4 parts")),
        "{lines:#?}"
    );
    let requests = proxy.requests();
    assert!(
        requests.iter().all(|r| !r.contains("partNumber=1&")),
        "part 1 was acknowledged before the kill: not sent again: {requests:#?}"
    );
    assert!(
        requests.iter().any(|r| r.contains("partNumber=4&")),
        "{requests:#?}"
    );
    assert_bucket_has(s3, &b, &segments);
}
