//! Which meter measured a run, and which the estimate is of: the notes of "estimated vs
//! measured" when they differ.

use super::four_runs;
use super::log_dir;
use super::markdown;
use super::report;

/// A board measured by its PMIC alone, its estimate the whole board's (the shipped board
/// average): the error is said to be mostly the meter's, with what to do (rev-e: a 59 %
/// error with no note).
#[test]
fn a_pmic_measured_board_against_a_whole_board_estimate_says_so() {
    let runs = four_runs();
    let dir = log_dir(runs, 1, |l| {
        l.ina219 = false;
        l.pmic = Some((1.30, 0.2));
    });
    let (code, json, _) = report(&[dir.path()], &[]);
    assert_eq!(code, 0);
    let errors = &json["estimate_errors"][0];
    assert_eq!(errors["measured"], "pmic", "{errors}");
    assert!(
        errors["problem"].as_str().unwrap().starts_with(
            "4 of these runs measured by the PMIC (the SoC's rails: it misses the 5 V side"
        ),
        "{errors}"
    );
    // The runs table says what the measured figure is of, beside the board's estimate.
    let md = markdown(dir.path());
    let runs = md.split("## Runs").nth(1).unwrap();
    assert_eq!(
        runs.matches("(PMIC rails, not the whole board)").count(),
        4,
        "{runs}"
    );
    // Measured by the INA219: no such note.
    let runs = four_runs();
    let dir = log_dir(runs, 1, |_| {});
    let (_, json, _) = report(&[dir.path()], &[]);
    assert!(json["estimate_errors"][0]["problem"].is_null(), "{json}");
    assert!(!markdown(dir.path()).contains("PMIC rails"));
}

/// The note of `report` over `dir` with the calibration `cal`, on its estimate row.
fn note_with(dir: &std::path::Path, cal: &std::path::Path) -> serde_json::Value {
    let (code, json, stderr) = report(&[dir], &["--calibration", cal.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    json["estimate_errors"][0]["problem"].clone()
}

/// A calibration fitted against the PMIC: no note on the PMIC's runs (the estimate is of
/// what the PMIC reads), a note on the INA219's. A calibration with the mapping on a
/// PMIC-only board: its runs are compared as corrected to the whole board, no note.
#[test]
fn the_note_follows_what_the_estimate_and_the_meter_are_of() {
    let spread = edgewatt::synth::calib::spread(10, false);
    let pmic_only = log_dir(spread.clone(), 1, |l| {
        l.ina219 = false;
        l.pmic = Some((1.30, 0.2));
    });
    let both = log_dir(spread.clone(), 2, |l| l.pmic = Some((1.30, 0.2)));
    let ina = log_dir(spread, 3, |_| {});
    let cals = tempfile::tempdir().unwrap();
    let fit = |dir: &std::path::Path, name: &str| {
        let path = cals.path().join(name);
        crate::common::ok(dir, &["calibrate", "-o", path.to_str().unwrap()]);
        path
    };
    let of_pmic = fit(pmic_only.path(), "pmic.toml");
    let mapped = fit(both.path(), "mapped.toml");
    assert!(note_with(pmic_only.path(), &of_pmic).is_null());
    let note = note_with(ina.path(), &of_pmic);
    assert!(
        note.as_str()
            .unwrap()
            .contains("runs measured of the whole board against an estimate of the PMIC's power"),
        "{note}"
    );
    assert!(note_with(pmic_only.path(), &mapped).is_null());
}
