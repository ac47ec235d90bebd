//! A fleet read back: two synthetic devices uploaded to the moto server with their
//! per-segment Parquet; the SQL of docs/FLEET.md (extracted from the doc) on DuckDB over
//! `s3://` against `edgewatt report --source s3://…`; `report` and `export` over the bucket
//! against the same over the state directories.

use std::path::Path;
use std::path::PathBuf;
use std::process::Output;

use edgewatt::clock::Anchor;
use edgewatt::config::StoreConfig;
use edgewatt::record::SealReason;
use edgewatt::store::SegmentIdent;
use edgewatt::store::Writer;
use edgewatt::synth::calib::spread;
use edgewatt::synth::calib::write;
use edgewatt::synth::calib::PowerTruth;
use edgewatt::synth::calib::SynthLog;
use edgewatt::upload::mirror;
use serde_json::Value;

mod checks;
mod versions;

use checks::check_estimate_error;
use checks::check_j_per_token;
use checks::check_layout;
use checks::check_token_law;
use checks::close;

use super::bucket;
use super::credentials;
use super::server::python;
use super::server::S3;
use super::text;
use crate::common::edgewatt;

/// Two boards with different power (so their laws differ).
const TRUTHS: [PowerTruth; 2] = [
    PowerTruth {
        idle_w: 3.2,
        cpu_w_per_pct: 0.038,
        ram_w_per_mb: 0.0015,
        cpu_ghz_w_per_pct_ghz: 0.0,
    },
    PowerTruth {
        idle_w: 3.6,
        cpu_w_per_pct: 0.046,
        ram_w_per_mb: 0.0011,
        cpu_ghz_w_per_pct_ghz: 0.0,
    },
];

/// A state directory of `device`: 12 runs; with `idle_segment`, then a segment without runs.
/// The first device's last 4 runs are in a second plan with 2 s more each: a workload of
/// one name in two plans is two laws, in the SQL as in the report.
fn device_dir(root: &Path, device: &str, i: usize, idle_segment: bool) -> PathBuf {
    let dir = root.join(device);
    let mut runs = spread(12, false);
    if i == 0 {
        for r in &mut runs[8..] {
            r.case.plan = Some("quick");
            r.duration_s += 2.0;
        }
    }
    let mut log = SynthLog::new(TRUTHS[i], runs);
    log.device_id = device.to_owned();
    log.seed = 7 + i as u64;
    // The second with a 2 % hole in each run's readings (trusted, its phases too): SQL and
    // the report take its energy over the whole run alike.
    log.outage = 0.02 * i as f64;
    write(&dir, &log).unwrap();
    if idle_segment {
        let ident = SegmentIdent {
            device_id: device.to_owned(),
            boot_id: "boot-2".to_owned(),
            host: "synth".to_owned(),
        };
        let anchor = Anchor {
            mono_us: 0,
            wall_unix_us: 1_750_100_000_000_000,
        };
        let opts = StoreConfig::default().options(dir.clone());
        let (w, _) = Writer::open(opts, ident, anchor).unwrap();
        w.close(SealReason::Shutdown, 1_000).unwrap();
    }
    dir
}

/// A config uploading `state` (and naming the server for `--source s3://`).
fn fleet_config(root: &Path, state: &Path, s3: &S3, bucket: &str) -> PathBuf {
    let creds = credentials(root, &s3.key_id, &s3.secret);
    let name = state.file_name().unwrap().to_str().unwrap();
    let path = root.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "state_dir = {state:?}\ndevice_id = \"{name}\"\n\
             [upload]\nendpoint = \"{}\"\nbucket = \"{bucket}\"\nallow_http = true\n\
             prefix = \"fleet\"\ncredentials_file = {creds:?}\n",
            s3.endpoint()
        ),
    )
    .unwrap();
    path
}

fn run(args: &[&str], config: &Path) -> Output {
    let out = edgewatt()
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The SQL of docs/FLEET.md on `engine` (`duckdb`: reading the bucket from the server;
/// `spark`: over a local copy of its Parquet).
fn fleet_sql(engine: &str, s3: &S3, bucket: &str) -> Value {
    let doc = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/FLEET.md");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/upload/fleet_sql.py");
    let out = std::process::Command::new(python())
        .args([script, engine, doc])
        .arg(format!("s3://{bucket}/fleet"))
        .args([&s3.endpoint(), &s3.key_id, &s3.secret])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "fleet_sql.py {engine}: {}",
        text(&out)
    );
    json(&out)
}

/// Two devices uploaded to a new bucket under `fleet`.
struct Fleet {
    tmp: tempfile::TempDir,
    dirs: [PathBuf; 2],
    bucket: String,
    config: PathBuf,
}

/// Uploads two devices (pi-b with a segment without runs), checks every segment has its
/// two Parquet files, and that losing the manifest re-sends nothing (the same bytes).
fn uploaded_fleet(s3: &S3) -> Fleet {
    let tmp = tempfile::tempdir().unwrap();
    let a = device_dir(tmp.path(), "pi-a", 0, false);
    let b = device_dir(tmp.path(), "pi-b", 1, true);
    let bkt = bucket("fleet");
    s3.create_bucket(&bkt);
    let cfg_a = fleet_config(tmp.path(), &a, s3, &bkt);
    let cfg_b = fleet_config(tmp.path(), &b, s3, &bkt);
    run(&["upload"], &cfg_a);
    run(&["upload"], &cfg_b);
    let (stored, _) = s3.list(&bkt);
    let kinds = |suffix: &str| stored.iter().filter(|o| o.key.ends_with(suffix)).count();
    assert_eq!(
        (
            kinds(".ewlog"),
            kinds(".runs.parquet"),
            kinds(".samples.parquet")
        ),
        (3, 3, 3),
        "each segment with its two Parquet files: {stored:?}"
    );
    std::fs::remove_file(b.join("upload-manifest.json")).unwrap();
    let again = text(&run(&["upload"], &cfg_b));
    assert!(
        again.contains("(3 objects, ") && again.contains(", 0 sent,"),
        "the Parquet made again is the same: nothing sent: {again}"
    );
    assert_eq!(s3.list(&bkt).0.len(), stored.len(), "nothing beside");
    Fleet {
        tmp,
        dirs: [a, b],
        bucket: bkt,
        config: cfg_a,
    }
}

#[test]
fn fleet_sql_on_duckdb_over_s3_gives_the_report_s_numbers() {
    let Some(s3) = super::server::s3() else {
        return;
    };
    let fleet = uploaded_fleet(s3);
    let sql = fleet_sql("duckdb", s3, &fleet.bucket);
    check_layout(&sql);
    let mirror = fleet.tmp.path().join("mirror");
    let src = format!("s3://{}/fleet", fleet.bucket);
    let m = mirror.to_str().unwrap();
    let report = json(&run(
        &[
            "report", "--format", "json", "--source", &src, "--mirror", m,
        ],
        &fleet.config,
    ));
    check_token_law(&sql["token_law"], &report);
    check_j_per_token(&sql["j_per_token"], &report);
    check_estimate_error(&sql["estimate_error"], &report);
}

/// `report --source src --mirror mirror` three times: it fetches every segment, then
/// none, then the one damaged in the mirror in between. Returns the second.
fn report_twice_from_the_mirror(cfg: &Path, src: &str, mirror: &Path) -> Output {
    let m = mirror.to_str().unwrap();
    let report = || {
        run(
            &["report", "--format", "json", "--source", src, "--mirror", m],
            cfg,
        )
    };
    let first = report();
    assert!(
        text(&first).contains("fetched 3 segments ("),
        "{}",
        text(&first)
    );
    let again = report();
    let said = text(&again);
    assert!(
        said.contains("fetched 0 segments (0 bytes), 3 already in"),
        "{said}"
    );
    assert_eq!(first.stdout, again.stdout);
    // A copy damaged in the mirror (same size) is fetched again.
    let copy = mirror::device_groups(mirror).unwrap()[0].1[0].clone();
    let mut bytes = std::fs::read(&copy).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&copy, bytes).unwrap();
    let repaired = report();
    let said = text(&repaired);
    assert!(said.contains("fetched 1 segments ("), "{said}");
    assert_eq!(repaired.stdout, first.stdout);
    again
}

#[test]
fn report_and_export_over_the_bucket_equal_them_over_the_state_directories() {
    let Some(s3) = super::server::s3() else {
        return;
    };
    let fleet = uploaded_fleet(s3);
    let cfg = &fleet.config;
    let src = format!("s3://{}/fleet", fleet.bucket);
    let mirror = fleet.tmp.path().join("mirror");
    let m = mirror.to_str().unwrap();
    let again = report_twice_from_the_mirror(cfg, &src, &mirror);
    let [a, b] = fleet.dirs.each_ref().map(|d| d.to_str().unwrap());
    let dirs = ["--dir", a, "--dir", b];
    let mut local = json(&run(
        &[&["report", "--format", "json"][..], &dirs].concat(),
        cfg,
    ));
    let mut remote = json(&again);
    assert_eq!(remote["sources"][1], format!("{src} device=pi-b"));
    local["sources"] = Value::Null;
    remote["sources"] = Value::Null;
    assert_eq!(
        remote, local,
        "report over the bucket and over the directories"
    );
    // A directory laid out as the bucket is a source too.
    let local_src = mirror.join("fleet");
    let from_mirror = run(
        &[
            "report",
            "--format",
            "json",
            "--source",
            local_src.to_str().unwrap(),
        ],
        cfg,
    );
    let mut from_mirror = json(&from_mirror);
    from_mirror["sources"] = Value::Null;
    assert_eq!(from_mirror, local);
    for what in ["runs", "samples"] {
        let from_dirs = run(&[&["export", what][..], &dirs].concat(), cfg);
        let from_bucket = run(&["export", what, "--source", &src, "--mirror", m], cfg);
        assert!(from_dirs.stdout.len() > 1000, "{what}");
        assert!(
            from_bucket.stdout == from_dirs.stdout,
            "export {what} over the bucket and over the directories"
        );
    }
}

/// Set to skip the Spark test (it fails without pyspark otherwise).
const SKIP_SPARK_ENV: &str = "EDGEWATT_SKIP_SPARK_TESTS";

#[test]
fn fleet_sql_on_spark_gives_what_duckdb_gives() {
    let Some(s3) = super::server::s3() else {
        return;
    };
    if std::env::var_os(SKIP_SPARK_ENV).is_some() {
        eprintln!("{SKIP_SPARK_ENV} is set: the Spark test is skipped");
        return;
    }
    let fleet = uploaded_fleet(s3);
    let duck = fleet_sql("duckdb", s3, &fleet.bucket);
    let spark = fleet_sql("spark", s3, &fleet.bucket);
    check_layout(&spark);
    assert_eq!(spark["partitions"], duck["partitions"]);
    for q in ["token_law", "j_per_token", "estimate_error"] {
        let (d, s) = (duck[q].as_array().unwrap(), spark[q].as_array().unwrap());
        assert_eq!(s.len(), d.len(), "{q}");
        assert!(!s.is_empty(), "{q}");
        for (srow, drow) in s.iter().zip(d) {
            let (srow, drow) = (srow.as_object().unwrap(), drow.as_object().unwrap());
            assert_eq!(
                srow.keys().collect::<Vec<_>>(),
                drow.keys().collect::<Vec<_>>()
            );
            for (k, v) in srow {
                close(&format!("{q} {k}"), v, &drow[k]);
            }
        }
    }
}

#[test]
fn a_bucket_source_that_cannot_be_read_says_why_and_leaks_no_secret() {
    let Some(s3) = super::server::s3() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("pi-x");
    std::fs::create_dir_all(&state).unwrap();
    let bkt = bucket("fleet-errors");
    s3.create_bucket(&bkt);
    let report = |cfg: &Path, src: &str| {
        let out = edgewatt()
            .args(["report", "--source", src, "--mirror"])
            .arg(tmp.path().join("m"))
            .arg("--config")
            .arg(cfg)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{src}: {}", text(&out));
        text(&out)
    };
    let secret = "wrong-secret-0123456789abcdef";
    let creds = credentials(tmp.path(), &s3.key_id, secret);
    let cfg = tmp.path().join("wrong.toml");
    std::fs::write(
        &cfg,
        format!(
            "state_dir = {state:?}\n[upload]\nendpoint = \"{}\"\nallow_http = true\n\
             credentials_file = {creds:?}\n",
            s3.endpoint()
        ),
    )
    .unwrap();
    let said = report(&cfg, &format!("s3://{bkt}/fleet"));
    assert!(
        said.contains("ListObjectsV2")
            && said.contains(&bkt)
            && said.contains("refused the credentials"),
        "{said}"
    );
    assert!(!said.contains(secret), "{said}");
    credentials(tmp.path(), &s3.key_id, &s3.secret);
    let said = report(&cfg, "s3://no-such-bucket-here/fleet");
    assert!(
        said.contains("\"no-such-bucket-here\" does not exist"),
        "{said}"
    );
    let bare = tmp.path().join("bare.toml");
    std::fs::write(&bare, format!("state_dir = {state:?}\n")).unwrap();
    let said = report(&bare, &format!("s3://{bkt}/fleet"));
    assert!(said.contains("no [upload] endpoint"), "{said}");
    let said = report(&bare, state.to_str().unwrap());
    assert!(said.contains("no segments under"), "{said}");
}
