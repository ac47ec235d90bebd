//! The bench table of **estimated** energy: for the runs of each case that have no trusted
//! measured energy, the energy a calibration estimates from their CPU and RAM AUC, labelled
//! with its source (`estimate:<calibration id>`, and "board average" for an uncalibrated
//! one). Measured runs are in the cost table only; the two are never averaged together.

use std::fmt::Write as _;

use super::tables::cell;
use super::tables::mean;
use crate::cost::RunCost;
use crate::plan::Case;

/// One line per case and estimate source, over its ok, non-warm-up runs without trusted
/// measured energy; `None` when there are none (every run was measured).
#[must_use]
pub fn estimate_table(cases: &[Case], rows: &[RunCost]) -> Option<String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| test | runs | estimated energy J (gross) | estimated J (net) | est. J/gen token (net) | source |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---|");
    let mut any = false;
    for case in cases {
        let mine: Vec<&RunCost> = rows
            .iter()
            .filter(|r| r.label == case.label && r.ok && !r.warmup)
            .filter(|r| r.trusted_gross_j().is_none())
            .collect();
        let mut sources: Vec<&str> = mine
            .iter()
            .filter_map(|r| r.estimate.as_ref().map(|e| e.source.as_str()))
            .collect();
        sources.sort_unstable();
        sources.dedup();
        for source in sources {
            let est: Vec<&RunCost> = mine
                .iter()
                .copied()
                .filter(|r| r.estimate.as_ref().is_some_and(|e| e.source == source))
                .collect();
            let of = |f: fn(&RunCost) -> Option<f64>| mean(est.iter().filter_map(|r| f(r)));
            let gross = of(|r| r.estimate.as_ref().map(|e| e.gross_j));
            let net = of(|r| r.estimate.as_ref().map(|e| e.net_j));
            let per_token = of(|r| {
                let e = r.estimate.as_ref()?;
                (r.generated_tokens > 0).then(|| e.net_j / f64::from(r.generated_tokens))
            });
            let board = est
                .iter()
                .any(|r| r.estimate.as_ref().is_some_and(|e| e.board_average));
            let label = if board {
                format!("{source} (board average, uncalibrated)")
            } else {
                source.to_owned()
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {label} |",
                case.label,
                est.len(),
                cell(gross, 3),
                cell(net, 3),
                cell(per_token, 4),
            );
            any = true;
        }
    }
    any.then_some(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::cost::CostLog;
    use crate::cost::CostOptions;
    use crate::estimate::apply;
    use crate::estimate::Calibrations;
    use crate::logread::Filter;
    use crate::logread::LogSource;
    use crate::plan::Plan;
    use crate::synth::calib::spread;
    use crate::synth::calib::write;
    use crate::synth::calib::PowerTruth;
    use crate::synth::calib::SynthLog;

    const TRUTH: PowerTruth = PowerTruth {
        idle_w: 3.2,
        cpu_w_per_pct: 0.038,
        ram_w_per_mb: 0.0015,
        cpu_ghz_w_per_pct_ghz: 0.0,
    };

    fn cases() -> Vec<Case> {
        let plan = "name = \"calibrate\"\n[[workload]]\nname = \"llm\"\nmodel = \"m.gguf\"\n\
                    prompt_tokens = [16, 32, 64, 128]\ngen_tokens = 32\nthreads = [4]\n";
        Plan::parse(plan, Path::new("p.toml")).unwrap().cases()
    }

    fn rows(log: &SynthLog) -> Vec<RunCost> {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), log).unwrap();
        let source = LogSource::dir(dir.path());
        let mut rows = CostLog::read(&source, Filter::default(), CostOptions::default())
            .unwrap()
            .rows;
        apply(&mut rows, &Calibrations::board_average());
        rows
    }

    #[test]
    fn runs_without_measured_energy_are_estimated_and_labelled() {
        let mut log = SynthLog::new(TRUTH, spread(8, false));
        log.ina219 = false;
        let rows = rows(&log);
        let table = estimate_table(&cases(), &rows).unwrap();
        let line = table.lines().nth(2).unwrap();
        assert!(
            line.starts_with("| llm/pp16/tg32/t4 | 2 | "),
            "two runs of 16 tokens: {table}"
        );
        assert!(
            line.ends_with("| estimate:pi5-board-powerjoular (board average, uncalibrated) |"),
            "{line}"
        );
        // The mean of the two runs' estimates, gross, to the printed precision.
        let want: Vec<f64> = rows
            .iter()
            .filter(|r| r.label == "llm/pp16/tg32/t4")
            .map(|r| r.estimate.as_ref().unwrap().gross_j)
            .collect();
        let mean = want.iter().sum::<f64>() / 2.0;
        assert!(line.contains(&format!("| {mean:.3} |")), "{line} vs {mean}");
    }

    #[test]
    fn measured_runs_are_not_in_the_estimate_table() {
        let rows = rows(&SynthLog::new(TRUTH, spread(8, false)));
        assert!(rows.iter().all(|r| r.estimate.is_some()));
        assert_eq!(estimate_table(&cases(), &rows), None);
    }
}
