//! `edgewatt upload` and the daemon's upload thread against a real S3 server (moto 5.2.5,
//! started by the tests on loopback), with a fault-injecting proxy in between.

mod cases;
mod fleet;
mod kill;
mod metrics;
mod proxy;
mod server;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering;

use edgewatt::clock::Anchor;
use edgewatt::config::StoreConfig;
use edgewatt::record::Event;
use edgewatt::record::EventKind;
use edgewatt::record::Record;
use edgewatt::record::SealReason;
use edgewatt::store::SegmentIdent;
use edgewatt::store::Writer;
use sha2::Digest;

use super::common::edgewatt;
use server::S3;

const DEVICE: &str = "pi-test";
/// 2023-11-14T22:13:20Z: the day in the keys of the segments made here.
const WALL0_US: i64 = 1_700_000_000_000_000;
const DAY: &str = "2023-11-14";
const PART_BYTES: u64 = 5 << 20;

/// A bucket name no other test uses.
fn bucket(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Writes sealed segments of at least each of `sizes` bytes into `dir` (then closes the
/// writer, which seals one more, small one). Returns every sealed segment's path.
fn make_segments(dir: &Path, sizes: &[u64]) -> Vec<PathBuf> {
    let mut opts = StoreConfig::default().options(dir.to_path_buf());
    opts.segment_max_bytes = u64::MAX;
    let ident = SegmentIdent {
        device_id: DEVICE.into(),
        boot_id: "boot-a".into(),
        host: "pi5".into(),
    };
    let anchor = |mono_us: u64| Anchor {
        mono_us,
        wall_unix_us: WALL0_US + mono_us as i64,
    };
    let (mut w, _) = Writer::open(opts, ident, anchor(1_000)).unwrap();
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut len = 0u64;
    for (i, &size) in sizes.iter().enumerate() {
        let mut written = 0u64;
        while written < size {
            let chunk = (size - written).min(256 << 10) as usize;
            let toml: String = (0..chunk)
                .map(|_| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    char::from(b' ' + (rng % 94) as u8)
                })
                .collect();
            w.append(&Record::Event(Event {
                mono_us: 2_000 + len,
                kind: EventKind::Config { toml },
            }))
            .unwrap();
            written += chunk as u64;
            len += 1;
        }
        w.sync().unwrap();
        w.rotate(10_000 + i as u64, anchor(10_000 + i as u64))
            .unwrap();
    }
    w.close(SealReason::Shutdown, 1_000_000).unwrap();
    let mut out: Vec<PathBuf> = edgewatt::store::list_segments(dir)
        .unwrap()
        .into_iter()
        .map(|s| s.path)
        .collect();
    out.sort();
    out
}

fn sha256_file(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The key a segment goes to under prefix `fleet`.
fn key_of(segment: &Path) -> String {
    let name = segment.file_name().unwrap().to_str().unwrap();
    format!("fleet/device={DEVICE}/date={DAY}/{name}")
}

/// A credentials file (mode 0600) in `dir` holding `key_id` and `secret`.
fn credentials(dir: &Path, key_id: &str, secret: &str) -> PathBuf {
    let path = dir.join("s3-credentials");
    std::fs::write(
        &path,
        format!("[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A config in `dir` uploading `state` to `bucket` at `endpoint`, with `extra` lines
/// appended to `[upload]` (and `store_extra` to `[store]`).
fn config(
    dir: &Path,
    state: &Path,
    endpoint: &str,
    bucket: &str,
    creds: &Path,
    extra: &str,
    store_extra: &str,
) -> PathBuf {
    let path = dir.join("edgewatt.toml");
    std::fs::write(
        &path,
        format!(
            "state_dir = {state:?}\ndevice_id = \"{DEVICE}\"\n\
             [store]\nfsync_interval_ms = 100\n{store_extra}\n\
             [upload]\nendpoint = \"{endpoint}\"\nbucket = \"{bucket}\"\nallow_http = true\n\
             prefix = \"fleet\"\ncredentials_file = {creds:?}\n\
             multipart_threshold_bytes = {PART_BYTES}\npart_size_bytes = {PART_BYTES}\n\
             backoff_initial_ms = 10\nbackoff_max_ms = 100\n{extra}\n"
        ),
    )
    .unwrap();
    path
}

/// `edgewatt upload --config CONFIG` with debug logging (so every log line is there to read).
fn upload(config: &Path) -> Output {
    edgewatt()
        .env("RUST_LOG", "debug")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["upload", "--config"])
        .arg(config)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The keys of a segment's objects: the segment, then its runs and samples Parquet.
fn keys_of(segment: &Path) -> [String; 3] {
    let key = key_of(segment);
    let stem = key.trim_end_matches(".ewlog").to_owned();
    [
        key,
        format!("{stem}.runs.parquet"),
        format!("{stem}.samples.parquet"),
    ]
}

/// Asserts the bucket holds exactly one intact copy of each of `segments` with its two
/// Parquet files, and nothing else (and no multipart upload left open).
#[track_caller]
fn assert_bucket_holds(s3: &S3, bucket: &str, segments: &[PathBuf]) {
    let (stored, uploads) = s3.list(bucket);
    let mut want: Vec<String> = segments.iter().flat_map(|p| keys_of(p)).collect();
    want.sort();
    let got: Vec<String> = stored.iter().map(|o| o.key.clone()).collect();
    assert_eq!(got, want, "each segment once, with its Parquet");
    for p in segments {
        let key = key_of(p);
        let o = stored.iter().find(|o| o.key == key).unwrap();
        assert_eq!(
            (o.size, o.sha256.as_str()),
            (std::fs::metadata(p).unwrap().len(), sha256_file(p).as_str()),
            "{key} intact"
        );
    }
    for o in &stored {
        assert_eq!(
            o.meta_sha256.as_deref(),
            Some(o.sha256.as_str()),
            "{}",
            o.key
        );
    }
    assert_eq!(uploads, 0, "no multipart upload left open");
}

/// Asserts the bucket holds one intact copy of each of `segments` at its key, with its
/// Parquet, and no second copy of any of them under another key of its partition.
#[track_caller]
fn assert_bucket_has(s3: &S3, bucket: &str, segments: &[PathBuf]) {
    let (stored, uploads) = s3.list(bucket);
    for p in segments {
        let [key, runs, samples] = keys_of(p);
        let copies: Vec<_> = stored.iter().filter(|o| o.key == key).collect();
        assert_eq!(copies.len(), 1, "{key} once: {stored:?}");
        assert_eq!(copies[0].sha256, sha256_file(p), "{key} intact");
        let stem = key.trim_end_matches(".ewlog");
        let beside = stored
            .iter()
            .filter(|o| o.key.starts_with(stem) && o.key.ends_with(".ewlog"))
            .count();
        assert_eq!(beside, 1, "no other copy of {key}: {stored:?}");
        for k in [runs, samples] {
            assert_eq!(stored.iter().filter(|o| o.key == k).count(), 1, "{k}");
        }
    }
    assert_eq!(uploads, 0, "no multipart upload left open");
}
