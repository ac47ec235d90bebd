//! The fit against known truth: synthetic logs from a known power model (`synth::calib`),
//! read back into cost rows, fitted.

use super::*;
use crate::cost::CostLog;
use crate::cost::CostOptions;
use crate::cost::RowKind;
use crate::logread::Filter;
use crate::logread::LogSource;
use crate::synth::calib::spread;
use crate::synth::calib::write;
use crate::synth::calib::PowerTruth;
use crate::synth::calib::SynthLog;
use crate::synth::calib::SynthRun;

const TRUTH: PowerTruth = PowerTruth {
    idle_w: 3.2,
    cpu_w_per_pct: 0.038,
    ram_w_per_mb: 0.0015,
    cpu_ghz_w_per_pct_ghz: 0.0,
};

fn fit_log(log: &SynthLog) -> Result<FitReport, CalibrateError> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), log).unwrap();
    let source = LogSource::dir(dir.path());
    let costs = CostLog::read(&source, Filter::default(), CostOptions::default()).unwrap();
    let (pts, excluded) = points(&costs.rows);
    let meta = FitMeta {
        id: "synthetic-pi-test".into(),
        device_id: "synthetic-pi".into(),
        fitted_at: "2026-01-01T00:00:00Z".into(),
        description: String::new(),
    };
    fit(&pts, &excluded.to_string(), meta)
}

fn within(got: f64, want: f64, rel: f64) {
    assert!((got - want).abs() <= rel * want.abs(), "{got} vs {want}");
}

#[test]
fn calibrate_recovers_known_coefficients_within_2_pct() {
    let report = fit_log(&SynthLog::new(TRUTH, spread(12, false))).unwrap();
    let m = report.calibration.model;
    within(m.idle_w, TRUTH.idle_w, 0.02);
    within(m.cpu_w_per_pct, TRUTH.cpu_w_per_pct, 0.02);
    within(m.ram_w_per_mb, TRUTH.ram_w_per_mb, 0.02);
    assert_eq!(
        m.cpu_ghz_w_per_pct_ghz, None,
        "one clock: no frequency term"
    );
    // 12 runs and 3 idle lead-ins, 5 folds.
    assert_eq!((report.points, report.folds), (15, 5));
    let cv = &report.cv.summary;
    assert!(cv.mape_pct < 0.5 && cv.r2.unwrap() > 0.999, "{cv:?}");
    let p = &report.calibration.provenance;
    assert_eq!((p.runs, p.cv_folds), (15, 5));
    assert_eq!(p.energy_source, "ina219");
    assert!(!report.calibration.board_average);
}

#[test]
fn the_frequency_term_is_kept_only_when_it_lowers_the_cv_error() {
    let with = PowerTruth {
        cpu_ghz_w_per_pct_ghz: 0.01,
        ..TRUTH
    };
    let report = fit_log(&SynthLog::new(with, spread(12, true))).unwrap();
    assert!(report.freq_kept, "{:?} vs {:?}", report.cv_freq, report.cv);
    let m = report.calibration.model;
    within(m.cpu_ghz_w_per_pct_ghz.unwrap(), 0.01, 0.02);
    within(m.cpu_w_per_pct, TRUTH.cpu_w_per_pct, 0.02);
    within(m.idle_w, TRUTH.idle_w, 0.02);
    // The same clocks without a frequency effect: the term does not pay for itself.
    let report = fit_log(&SynthLog::new(TRUTH, spread(12, true))).unwrap();
    assert!(report.cv_freq.is_some() && !report.freq_kept);
    assert_eq!(report.calibration.model.cpu_ghz_w_per_pct_ghz, None);
}

fn error(log: &SynthLog) -> String {
    fit_log(log).unwrap_err().to_string()
}

#[test]
fn too_little_data_says_what_to_collect() {
    let e = error(&SynthLog::new(TRUTH, spread(4, false)));
    assert!(
        e.starts_with("only 5 runs with trusted measured energy, at least 8"),
        "{e}"
    );
    assert!(e.contains("plans/calibrate.toml"), "{e}");
    let one_load: Vec<SynthRun> = spread(12, false)
        .into_iter()
        .map(|r| SynthRun {
            load_pct: 50.0,
            ..r
        })
        .collect();
    // Without idle lead-ins (which are a load of their own: idle).
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &SynthLog::new(TRUTH, one_load)).unwrap();
    let source = LogSource::dir(dir.path());
    let mut costs = CostLog::read(&source, Filter::default(), CostOptions::default()).unwrap();
    costs.rows.retain(|r| r.kind == RowKind::Run);
    let (pts, excluded) = points(&costs.rows);
    let e = fit(&pts, &excluded.to_string(), fit_meta())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("too narrow a load range: the runs' mean machine CPU spans 5"),
        "{e}"
    );
}

#[test]
fn no_usable_runs_is_a_clear_message_never_nan() {
    let failed: Vec<SynthRun> = spread(10, false)
        .into_iter()
        .map(|r| SynthRun { ok: false, ..r })
        .collect();
    let mut log = SynthLog::new(TRUTH, failed);
    log.runs_per_plan = 100;
    let e = error(&log);
    assert!(e.contains("left out: 10 failed"), "{e}");
    assert!(e.starts_with("only 1 runs"), "the idle lead-in alone: {e}");
    let e = fit(&[], "0 rows read", fit_meta()).unwrap_err().to_string();
    assert!(
        e.starts_with("no runs with trusted measured energy (0 rows read)"),
        "{e}"
    );
    let mut log = SynthLog::new(TRUTH, spread(10, false));
    log.ina219 = false;
    let e = error(&log);
    assert!(e.starts_with("no runs with trusted measured energy"), "{e}");
    assert!(
        e.contains("13 without measured energy"),
        "runs and idle lead-ins: {e}"
    );
    let mut log = SynthLog::new(TRUTH, spread(10, false));
    log.outage = 0.2;
    let e = error(&log);
    assert!(e.contains("10 with untrusted energy or usage"), "{e}");
}

fn fit_meta() -> FitMeta {
    FitMeta {
        id: "x".into(),
        device_id: String::new(),
        fitted_at: String::new(),
        description: String::new(),
    }
}

#[test]
fn run_errors_name_the_worst_run() {
    let p = |e: f64| Point {
        key: None,
        label: format!("r{e}"),
        run_id: Some(e as u64),
        device_id: String::new(),
        x: [1.0, 0.0, 0.0, 0.0],
        cpu_mean_pct: 0.0,
        idle: false,
        energy_j: e,
        source: String::new(),
    };
    let pts = [p(10.0), p(20.0), p(40.0)];
    // +10 %, −5 %, 0 %.
    let s = errors(&pts, &[11.0, 19.0, 40.0]).unwrap();
    assert!((s.summary.mape_pct - 5.0).abs() < 1e-12);
    assert!((s.summary.bias_pct - 5.0 / 3.0).abs() < 1e-12);
    assert_eq!((s.worst_label.as_str(), s.worst_run_id), ("r10", Some(10)));
    assert!((s.summary.worst.error_pct - 10.0).abs() < 1e-9);
    // A measured 0 is refused, never a NaN.
    assert_eq!(errors(&[p(0.0)], &[1.0]), Err(CalibrateError::Singular));
}

/// A point measured by `source` (empty: an exported runs file without the column).
fn metered(source: &str) -> Point {
    Point {
        key: None,
        label: "w/pp64".into(),
        run_id: None,
        device_id: "pi".into(),
        x: [10.0, 100.0, 1000.0, 0.0],
        cpu_mean_pct: 10.0,
        idle: false,
        energy_j: 40.0,
        source: source.into(),
    }
}

#[test]
fn one_meter_prefers_the_ina219_then_the_pmic_then_any_named_meter() {
    let kept = |sources: &[&str]| {
        let (pts, meter, left_out) = one_meter(sources.iter().map(|s| metered(s)).collect());
        (pts.len(), meter, left_out.len())
    };
    assert_eq!(kept(&["pmic", "ina219", "ina219"]), (2, "ina219".into(), 1));
    assert_eq!(kept(&["rapl", "pmic"]), (1, "pmic".into(), 1));
    // Points of no named meter (an exported file without `energy_source`) are not a meter
    // to keep over a named one: "" sorts first.
    assert_eq!(kept(&["", "rapl", "rapl"]), (2, "rapl".into(), 1));
    assert_eq!(kept(&["", ""]), (2, String::new(), 0));
    assert_eq!(kept(&[]), (0, String::new(), 0));
}

#[test]
fn a_ram_term_that_fits_below_zero_is_dropped_and_the_rest_fitted_again() {
    // A board whose power falls as RAM use grows: no such thing, so the term goes.
    let odd = PowerTruth {
        ram_w_per_mb: -0.001,
        ..TRUTH
    };
    let report = fit_log(&SynthLog::new(odd, spread(12, false))).unwrap();
    within(report.ram_dropped.unwrap(), -0.001, 0.02);
    let m = report.calibration.model;
    assert_eq!(m.ram_w_per_mb, 0.0);
    assert!(m.idle_w > 0.0 && m.cpu_w_per_pct > 0.0, "{m:?}");
    // The file it writes loads (a negative coefficient would be refused).
    let text = report.calibration.to_toml();
    Calibration::parse(&text, std::path::Path::new("c.toml")).unwrap();
    // The true model keeps its RAM term.
    let report = fit_log(&SynthLog::new(TRUTH, spread(12, false))).unwrap();
    assert_eq!(report.ram_dropped, None);
}

#[test]
fn a_cpu_term_that_fits_below_zero_is_an_error_saying_what_to_collect() {
    let odd = PowerTruth {
        cpu_w_per_pct: -0.02,
        ..TRUTH
    };
    let e = fit_log(&SynthLog::new(odd, spread(12, false))).unwrap_err();
    assert!(
        matches!(e, CalibrateError::NotPositive { what: "cpu_w_per_pct", value } if value < 0.0),
        "{e:?}"
    );
    assert!(e.to_string().contains("plans/calibrate.toml"), "{e}");
}

#[test]
fn a_frequency_fit_whose_ram_term_is_below_zero_is_not_kept() {
    // The true power has a frequency term and a RAM term below 0, and RAM use is higher on
    // the runs at the higher clock: without the frequency term RAM soaks up the clock's
    // watts and fits above 0, with it RAM fits below 0 (and the fit is exact).
    let pts: Vec<Point> = (0..12u32)
        .map(|i| {
            let c = 5.0 + 8.0 * f64::from(i);
            let f = if i % 2 == 0 { 1.5 } else { 2.4 };
            let m = 100.0 + if i % 2 == 0 { 0.0 } else { 400.0 } + 30.0 * f64::from(i % 3);
            let p = 3.0 + 0.03 * c + 0.01 * c * f - 0.0005 * m;
            let t = 10.0;
            Point {
                key: None,
                label: format!("r{i}"),
                run_id: Some(u64::from(i)),
                device_id: "pi".into(),
                x: [t, c * t, m * t, c * f * t],
                cpu_mean_pct: c,
                idle: false,
                energy_j: p * t,
                source: "ina219".into(),
            }
        })
        .collect();
    let report = fit(&pts, "", fit_meta()).unwrap();
    assert_eq!(
        report.ram_dropped, None,
        "the fit without the clock keeps RAM"
    );
    let m = report.calibration.model;
    assert!(m.ram_w_per_mb >= 0.0, "{m:?}");
    // The file it writes loads.
    let text = report.calibration.to_toml();
    Calibration::parse(&text, std::path::Path::new("c.toml")).unwrap();
}
