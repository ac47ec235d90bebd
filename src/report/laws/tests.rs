//! The per-phase figures of the report (J per token, energy per phase) on runs whose
//! energy is known by hand.

use super::*;
use crate::cost::CostLog;
use crate::cost::CostOptions;
use crate::derive::energy::run_energy;
use crate::derive::energy::Baseline;
use crate::derive::energy::BaselineFrom;
use crate::derive::energy::RunSpec;
use crate::derive::energy::Tokens;
use crate::derive::Window;
use crate::logread::Filter;
use crate::logread::LogSource;
use crate::record::PowerReading;
use crate::record::RunPhase;
use crate::record::SourceId;
use crate::synth::calib::spread;
use crate::synth::calib::write;
use crate::synth::calib::PowerTruth;
use crate::synth::calib::SynthLog;

const S: u64 = 1_000_000;

/// Three text runs of one group from a synthetic log, to be given known energy.
fn rows() -> Vec<RunCost> {
    let truth = PowerTruth {
        idle_w: 3.0,
        cpu_w_per_pct: 0.04,
        ram_w_per_mb: 0.0,
        cpu_ghz_w_per_pct_ghz: 0.0,
    };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &SynthLog::new(truth, spread(3, false))).unwrap();
    let source = LogSource::dir(dir.path());
    let rows = CostLog::read(&source, Filter::default(), CostOptions::default())
        .unwrap()
        .rows;
    rows.into_iter()
        .filter(|r| r.kind == RowKind::Run)
        .collect()
}

/// A text run: load [0, 1] s, prefill [1, 2] s, decode [2, 30] s at 3 W from 100 ms
/// readings but for `missing` (reading indices), 1 W idle stored; 20 prompt and 28
/// generated tokens.
fn give_energy(r: &mut RunCost, missing: std::ops::Range<u64>) {
    let readings: Vec<PowerReading> = (0..=300)
        .filter(|i| !missing.contains(i))
        .map(|i| PowerReading::power_only(i * S / 10, SourceId::Ina219, 3_000_000))
        .collect();
    let phases = [
        (RunPhase::Load, Window::spanning(0, S)),
        (RunPhase::Prefill, Window::spanning(S, 2 * S)),
        (RunPhase::Decode, Window::spanning(2 * S, 30 * S)),
    ];
    let e = run_energy(
        &readings,
        &RunSpec {
            source_label: "ina219 test",
            period_us: S / 10,
            run: Window::spanning(0, 30 * S),
            phases: &phases,
            baseline: BaselineFrom::Stored(Baseline {
                window: Window::spanning(0, S),
                power_uw: 1_000_000,
                coverage_ppm: 1_000_000,
            }),
            tokens: Tokens {
                prompt: 20,
                generated: 28,
            },
        },
    );
    r.energy = Some(e);
    (r.prompt_tokens, r.generated_tokens) = (20, 28);
    r.phase_s = [Some(1.0), None, Some(1.0), None, Some(28.0)];
    r.trust = crate::cost::Trust {
        energy: true,
        energy_net: true,
        usage: true,
        worker: true,
        reasons: Vec::new(),
    };
}

#[test]
fn a_phase_poorly_covered_is_left_out_of_the_j_per_token_and_the_phase_energy() {
    let mut rows = rows();
    assert_eq!(rows.len(), 3);
    // Readings 1.2–1.8 s missing: 1.1–1.9 s is a hole (0.8 s > the 0.4 s maximum gap).
    // The run is 97.3 % covered (29.2 s of 30 s): trusted, unflagged. Its prefill is 20 %
    // covered: 2 W × 0.2 s = 0.4 J net, 0.02 J per token, against 2 J and 0.1 J per token.
    give_energy(&mut rows[0], 12..19);
    give_energy(&mut rows[1], 0..0);
    give_energy(&mut rows[2], 0..0);
    let holed = rows[0].energy.as_ref().unwrap();
    assert_eq!(holed.run.coverage_ppm, 973_333);
    let prefill = holed.phase(RunPhase::Prefill).unwrap();
    assert_eq!(
        (prefill.coverage_ppm, prefill.net_uj),
        (200_000, Some(400_000))
    );
    let report = Report::build(&rows, &ReportOptions::default());
    assert!(report.runs.iter().all(|r| r.flags.is_empty()));
    let law = &report.llm[0];
    // Prefill: the two runs that cover it, 2 J / 20 tokens each (not (0.1 + 0.1 + 0.02)/3).
    let p = law.prefill_j_per_token.unwrap();
    assert!((p.value - 0.1).abs() < 1e-12, "{p:?}");
    // Decode is covered in all three: 2 W × 28 s / 28 tokens = 2 J per token.
    let d = law.decode_j_per_token.unwrap();
    assert!((d.value - 2.0).abs() < 1e-12, "{d:?}");
    // Energy per phase: the holed run's prefill is not a measurement of it, so the group
    // is shown in seconds (every run must be measured for J), not a prefill mean of
    // (2 + 2 + 0.4)/3 = 1.47 J.
    let phases = &report.phases[0];
    assert_eq!(phases.unit, "s");
    rows.remove(0);
    let report = Report::build(&rows, &ReportOptions::default());
    let phases = &report.phases[0];
    assert_eq!(phases.unit, "J");
    // load 2 W × 1 s, prefill 2 J, decode 56 J.
    assert_eq!(phases.mean, [2.0, 0.0, 2.0, 0.0, 56.0]);
}

#[test]
fn the_estimate_errors_keep_the_runs_a_calibration_may_have_been_fitted_on_apart() {
    use crate::cost::CorrectedEnergy;
    use crate::estimate::apply;
    use crate::estimate::Calibration;
    use crate::estimate::Calibrations;
    let mut rows = rows();
    for r in &mut rows {
        give_energy(r, 0..0);
    }
    let starts: Vec<i64> = rows.iter().map(|r| r.start_unix_us.unwrap()).collect();
    assert!(starts[0] < starts[1] && starts[1] < starts[2]);
    let fitted = |us: i64| jiff::Timestamp::from_microsecond(us).unwrap().to_string();
    let mut cal = Calibration::pi5_board_average();
    (cal.id, cal.device_id, cal.board_average) = ("fit".into(), "synthetic-pi".into(), false);
    cal.provenance.runs = 40;
    cal.provenance.fitted_at = fitted((starts[1] + starts[2]) / 2);
    let held = |rows: &mut Vec<RunCost>, cal: &Calibration| {
        apply(
            rows,
            &Calibrations {
                devices: Vec::new(),
                fallback: Some(cal.clone()),
            },
        );
        rows.iter()
            .map(|r| r.estimate.as_ref().unwrap().held_out)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        held(&mut rows, &cal),
        [Some(false), Some(false), Some(true)]
    );
    let used: Vec<&RunCost> = rows.iter().collect();
    let errors = estimate::estimate_errors(&used);
    let kinds: Vec<_> = errors.iter().map(|e| (e.runs_label(), e.n)).collect();
    assert_eq!(
        kinds,
        [("held out", 1), ("up to the fit (may be in-sample)", 2)]
    );
    assert_eq!(errors[0].measured, "ina219");
    // Another device's calibration (used by force), a published model: nothing in its fit.
    let mut other = cal.clone();
    other.device_id = "pi-z".into();
    assert_eq!(held(&mut rows, &other), [Some(true); 3]);
    let board = Calibration::pi5_board_average();
    assert_eq!(held(&mut rows, &board), [Some(true); 3]);
    // A pooled calibration (no device) may hold any device's runs up to its fit.
    let mut pooled = cal.clone();
    pooled.device_id.clear();
    pooled.provenance.fitted_at = fitted(starts[2] + 1);
    assert_eq!(held(&mut rows, &pooled), [Some(false); 3]);
    // A fit time that does not read, a run of unknown start: not known, and said so.
    let mut unread = cal.clone();
    unread.provenance.fitted_at = "last week".into();
    assert_eq!(held(&mut rows, &unread), [None; 3]);
    rows[0].start_unix_us = None;
    assert_eq!(held(&mut rows, &cal)[0], None);
    let used: Vec<&RunCost> = rows.iter().collect();
    assert_eq!(
        estimate::estimate_errors(&used)[2].runs_label(),
        "fit time unknown"
    );
    // A PMIC's run with the calibration's mapping is compared as the whole board.
    rows[1].corrected = Some(CorrectedEnergy {
        source: "pmic-corrected:fit".into(),
        gross_j: 123.0,
    });
    let used: Vec<&RunCost> = rows.iter().collect();
    let in_sample = &estimate::estimate_errors(&used)[1];
    assert_eq!(in_sample.held_out, Some(false));
    assert_eq!(in_sample.measured_j, [123.0]);
    assert_eq!(in_sample.measured, "pmic-corrected:fit");
}
