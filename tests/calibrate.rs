//! `edgewatt calibrate` end to end on synthetic logs with a known power model, written
//! through the real store writer (`synth::calib`): from state directories and from
//! exported runs, the errors it prints, the file it writes, and exit 2 with what to
//! collect when it cannot fit.

use std::path::Path;
use std::process::Output;

use edgewatt::estimate::Calibration;
use edgewatt::synth::calib::spread;
use edgewatt::synth::calib::write;
use edgewatt::synth::calib::PowerTruth;
use edgewatt::synth::calib::SynthLog;
use edgewatt::synth::calib::SynthRun;

use crate::common::edgewatt;
use crate::common::succeeded;

mod dirs;
mod pooled;

pub const TRUTH: PowerTruth = PowerTruth {
    idle_w: 3.2,
    cpu_w_per_pct: 0.038,
    ram_w_per_mb: 0.0015,
    cpu_ghz_w_per_pct_ghz: 0.0,
};

pub fn synth_dir(log: &SynthLog) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), log).unwrap();
    dir
}

fn calibrate(state: &Path, args: &[&str]) -> Output {
    edgewatt()
        .arg("calibrate")
        .args(args)
        .arg("--state-dir")
        .arg(state)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Relative error of `got`, panicking above `rel`.
fn within(what: &str, got: f64, want: f64, rel: f64) -> f64 {
    let e = (got - want).abs() / want.abs();
    assert!(e <= rel, "{what}: {got} vs {want} ({:.2} %)", e * 100.0);
    e
}

fn check_truth(cal: &Calibration) {
    let m = cal.model;
    let errs = [
        within("idle_w", m.idle_w, TRUTH.idle_w, 0.02),
        within("cpu_w_per_pct", m.cpu_w_per_pct, TRUTH.cpu_w_per_pct, 0.02),
        within("ram_w_per_mb", m.ram_w_per_mb, TRUTH.ram_w_per_mb, 0.02),
    ];
    eprintln!("recovery errors (idle, cpu, ram): {errs:?}");
}

#[test]
fn calibrate_from_a_state_dir_recovers_known_coefficients_within_2_pct() {
    let dir = synth_dir(&SynthLog::new(TRUTH, spread(12, false)));
    let out = succeeded(calibrate(dir.path(), &["--id", "synthetic-pi-1"]));
    let text = stdout(&out);
    let path = dir.path().join("calibration/synthetic-pi.toml");
    let cal = Calibration::load(&path).unwrap();
    check_truth(&cal);
    assert_eq!(cal.id, "synthetic-pi-1");
    assert_eq!(cal.device_id, "synthetic-pi");
    assert!(!cal.board_average);
    assert_eq!((cal.provenance.runs, cal.provenance.cv_folds), (15, 5));
    assert_eq!(cal.provenance.energy_source, "ina219");
    assert!(cal.provenance.cv_mape_pct.unwrap() < 0.5, "{text}");
    assert!(
        text.starts_with(
            "calibrate: 15 runs fitted, 3 of them idle lead-ins (15 rows read (3 idle lead-ins)"
        ),
        "{text}"
    );
    assert!(
        text.contains("before (estimate:pi5-board-powerjoular, board average): MAPE "),
        "{text}"
    );
    assert!(
        text.contains("after (estimate:synthetic-pi-1, in-sample): MAPE 0."),
        "{text}"
    );
    assert!(text.contains("5-fold cross-validated): MAPE 0."), "{text}");
    assert!(text.contains("worst run "), "{text}");
    assert!(text.contains("PMIC→INA219: not fitted: the INA219 and the PMIC overlap for 0 s"));
    assert!(!text.contains("NaN"), "{text}");
    // The next calibrate compares against this one: the error before is now small.
    let again = stdout(&succeeded(calibrate(dir.path(), &["--id", "x"])));
    assert!(
        again.contains("before (estimate:synthetic-pi-1): MAPE 0."),
        "{again}"
    );
}

#[test]
fn a_ram_term_below_zero_is_dropped_and_said_so_and_the_file_loads() {
    let odd = PowerTruth {
        ram_w_per_mb: -0.001,
        ..TRUTH
    };
    let dir = synth_dir(&SynthLog::new(odd, spread(12, false)));
    let text = stdout(&succeeded(calibrate(dir.path(), &["--id", "no-ram"])));
    assert!(
        text.contains("RAM term: dropped: it fitted -0.00"),
        "{text}"
    );
    let cal = Calibration::load(&dir.path().join("calibration/synthetic-pi.toml")).unwrap();
    assert_eq!(cal.model.ram_w_per_mb, 0.0);
    within("idle_w", cal.model.idle_w, TRUTH.idle_w, 0.2);
    within(
        "cpu_w_per_pct",
        cal.model.cpu_w_per_pct,
        TRUTH.cpu_w_per_pct,
        0.2,
    );
}

#[test]
fn calibrate_fits_the_pmic_mapping_when_both_sources_were_logged() {
    let mut log = SynthLog::new(TRUTH, spread(10, false));
    log.pmic = Some((1.1451, 0.5879));
    let dir = synth_dir(&log);
    let out = succeeded(calibrate(dir.path(), &[]));
    let text = stdout(&out);
    assert!(text.contains("PMIC→INA219: total ≈ 1.14"), "{text}");
    // The idle lead-ins' energy is the INA219's too, as the runs' (rev-e: with as many
    // readings of each, the PMIC's won on its name, and the lead-ins were left out).
    assert!(text.starts_with("calibrate: 13 runs fitted"), "{text}");
    assert!(!stderr(&out).contains("another meter"), "{}", stderr(&out));
    let cal = Calibration::load(&dir.path().join("calibration/synthetic-pi.toml")).unwrap();
    let m = cal.pmic_to_total.unwrap();
    within("k", m.k, 1.1451, 0.01);
    assert!((m.c_w - 0.5879).abs() < 0.05, "{m:?}");
}

/// A pool of an INA219 board and a PMIC-only board is fitted on the INA219's runs, and
/// the board left out is named.
#[test]
fn a_pool_names_the_board_whose_meter_is_left_out() {
    let mut pmic_only = SynthLog::new(TRUTH, spread(10, false));
    pmic_only.device_id = "pi-pmic".into();
    pmic_only.ina219 = false;
    pmic_only.pmic = Some((1.1451, 0.5879));
    let mut ina = SynthLog::new(TRUTH, spread(10, false));
    ina.device_id = "pi-ina".into();
    ina.seed = 2;
    let (a, b) = (synth_dir(&ina), synth_dir(&pmic_only));
    let pooled = a.path().join("pool.toml");
    let out = succeeded(calibrate(
        a.path(),
        &[
            "--dir",
            a.path().to_str().unwrap(),
            "--dir",
            b.path().to_str().unwrap(),
            "--pool",
            "-o",
            pooled.to_str().unwrap(),
        ],
    ));
    let e = stderr(&out);
    assert!(
        e.contains(
            "13 runs measured by another meter than ina219 left out (every run of pi-pmic: \
             not in this fit)"
        ),
        "{e}"
    );
    // The counts add up to the rows read.
    assert!(
        stdout(&out).starts_with(
            "calibrate: 13 runs fitted, 3 of them idle lead-ins (26 rows read (6 idle \
             lead-ins); left out: 0 failed, 0 without measured energy, 0 with untrusted \
             energy or usage, 13 measured by another meter)"
        ),
        "{}",
        stdout(&out)
    );
    check_truth(&Calibration::load(&pooled).unwrap());
}

/// The documented route for a board with both meters: the daemon logs the INA219 and a
/// second `edgewatt run` (its own config and state directory) logs the PMIC over the same
/// seconds of the same boot; `calibrate --dir A --dir B` pairs them.
#[test]
fn the_pmic_mapping_pairs_two_state_directories_of_one_boot() {
    let mut ina = SynthLog::new(TRUTH, spread(10, false));
    ina.pmic = None;
    let mut pmic = ina.clone();
    pmic.ina219 = false;
    pmic.pmic = Some((1.1451, 0.5879));
    let (a, b) = (synth_dir(&ina), synth_dir(&pmic));
    let (a_arg, b_arg) = (a.path().to_str().unwrap(), b.path().to_str().unwrap());
    // Both directories hold the synthetic runs (same device, boot and run ids), each
    // measured by its own meter: each run is fitted once, measured by the INA219 (the PMIC
    // reads low), whichever directory is named first.
    let mut fitted = Vec::new();
    for (first, second) in [(a_arg, b_arg), (b_arg, a_arg)] {
        let path = a
            .path()
            .join(format!("calibration/first-{}.toml", fitted.len()));
        let args = [
            "--dir",
            first,
            "--dir",
            second,
            "-o",
            path.to_str().unwrap(),
        ];
        let out = succeeded(calibrate(a.path(), &args));
        let text = stdout(&out);
        assert!(text.contains("PMIC→INA219: total ≈ 1.14"), "{text}");
        assert!(text.starts_with("calibrate: 13 runs fitted"), "{text}");
        let e = stderr(&out);
        assert!(e.contains("runs or idle spans were read twice"), "{e}");
        let cal = Calibration::load(&path).unwrap();
        assert_eq!(cal.provenance.energy_source, "ina219");
        check_truth(&cal);
        let m = cal.pmic_to_total.unwrap();
        within("k", m.k, 1.1451, 0.01);
        fitted.push(cal.model);
    }
    assert_eq!(fitted[0], fitted[1]);
}

fn exit2(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{}", stdout(out));
    let e = stderr(out);
    assert!(!e.contains("NaN") && !e.contains("panicked"), "{e}");
    e
}

#[test]
fn too_little_data_exits_2_saying_what_to_collect() {
    let few = synth_dir(&SynthLog::new(TRUTH, spread(4, false)));
    let e = exit2(&calibrate(few.path(), &[]));
    assert!(
        e.contains("only 5 runs with trusted measured energy, at least 8"),
        "{e}"
    );
    assert!(e.contains("plans/calibrate.toml"), "{e}");
    assert!(!few.path().join("calibration").exists(), "nothing written");
    let empty = tempfile::tempdir().unwrap();
    let e = exit2(&calibrate(empty.path(), &[]));
    assert!(
        e.contains("no runs with trusted measured energy (0 rows read"),
        "{e}"
    );
    let mut failed = SynthLog::new(
        TRUTH,
        spread(9, false)
            .into_iter()
            .map(|r| SynthRun { ok: false, ..r })
            .collect(),
    );
    failed.runs_per_plan = 100;
    let dir = synth_dir(&failed);
    let e = exit2(&calibrate(dir.path(), &[]));
    assert!(e.contains("left out: 9 failed"), "{e}");
    let mut unmeasured = SynthLog::new(TRUTH, spread(10, false));
    unmeasured.ina219 = false;
    let dir = synth_dir(&unmeasured);
    let e = exit2(&calibrate(dir.path(), &[]));
    assert!(e.contains("13 without measured energy"), "{e}");
}

#[test]
fn runs_of_one_load_are_too_narrow_a_range() {
    // Every run alike (one load, one length, one RAM use, one token length): beside the
    // idle lead-in, CPU and RAM above idle move together and cannot be told apart.
    let same: Vec<SynthRun> = spread(12, false)
        .into_iter()
        .map(|r| SynthRun {
            load_pct: 50.0,
            duration_s: 5.0,
            ram_mb: 200.0,
            prompt_tokens: 64,
            ..r
        })
        .collect();
    let mut log = SynthLog::new(TRUTH, same);
    log.runs_per_plan = 100;
    let dir = synth_dir(&log);
    let e = exit2(&calibrate(dir.path(), &[]));
    assert!(
        e.starts_with("edgewatt: error: the runs cannot separate the terms"),
        "{e}"
    );
    assert!(e.contains("plans/calibrate.toml"), "{e}");
    // A device id no run has: named with those read, not runs to collect (outside review,
    // stop 27).
    let e = exit2(&calibrate(dir.path(), &["--device", "other-pi"]));
    assert!(
        e.contains(
            "no runs of device other-pi with trusted measured energy; those read are of \
             synthetic-pi: check --device"
        ),
        "{e}"
    );
    assert!(!e.contains("plans/calibrate.toml"), "{e}");
}

#[test]
fn a_calibration_of_another_device_is_refused_unless_forced() {
    let dir = synth_dir(&SynthLog::new(TRUTH, spread(10, false)));
    succeeded(calibrate(dir.path(), &["--id", "mine"]));
    let cal = dir.path().join("calibration/synthetic-pi.toml");
    let other = dir.path().join("other.toml");
    let text = std::fs::read_to_string(&cal)
        .unwrap()
        .replace("device_id = \"synthetic-pi\"", "device_id = \"pi-b\"");
    std::fs::write(&other, text).unwrap();
    let export = |extra: &[&str]| {
        edgewatt()
            .args(["export", "runs", "--calibration", other.to_str().unwrap()])
            .args(extra)
            .arg("--state-dir")
            .arg(dir.path())
            .output()
            .unwrap()
    };
    let e = exit2(&export(&[]));
    assert!(
        e.contains("was fitted on device pi-b, not synthetic-pi"),
        "{e}"
    );
    assert!(e.contains("--force-calibration"), "{e}");
    let out = succeeded(export(&["--force-calibration"]));
    assert!(stdout(&out).contains("estimate:mine"));
    // Bad values are named at file:line:column.
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(&cal)
        .unwrap()
        .replace("cpu_w_per_pct = ", "cpu_w_per_pct = \"x\" #");
    std::fs::write(&bad, text).unwrap();
    let out = edgewatt()
        .args(["export", "runs", "--calibration", bad.to_str().unwrap()])
        .arg("--state-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    let e = exit2(&out);
    assert!(e.contains("bad.toml:"), "{e}");
}

/// A segment whose header is damaged: its runs' device is unknown. They were taken for a
/// second device, so calibrate refused the whole log ("runs come from 2 devices (,
/// synthetic-pi)", advising --device or --pool); it fits the one known device and says
/// what it left out.
#[test]
fn runs_of_a_damaged_header_are_left_out_not_taken_for_a_second_device() {
    let mut log = SynthLog::new(TRUTH, spread(24, false));
    log.flushing = Some(edgewatt::synth::calib::Flushing {
        flush_us: 5_000_000,
        flushes_per_segment: 6,
    });
    // A plan every two runs: a run whose plan's lead-in is in the damaged segment is left
    // out too (its usage is above another baseline); the others are plenty to fit.
    log.runs_per_plan = 2;
    let dir = synth_dir(&log);
    let segs: Vec<_> = (edgewatt::store::list_segments(dir.path())
        .unwrap()
        .into_iter())
    .map(|s| s.path)
    .collect();
    let mut bytes = std::fs::read(&segs[1]).unwrap();
    bytes[30] = 0; // in the header frame: a 0x00 cuts it
    std::fs::write(&segs[1], bytes).unwrap();
    let out_file = dir.path().join("cal.toml");
    let out = calibrate(
        dir.path(),
        &["--id", "x", "-o", out_file.to_str().unwrap(), "--no-cache"],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("unknown device") && err.contains("left out"),
        "{err}"
    );
    let cal = Calibration::load(&out_file).unwrap();
    assert_eq!(cal.device_id, "synthetic-pi");
}
