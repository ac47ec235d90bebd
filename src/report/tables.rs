//! The two llama-bench-like tables of a plan's runs, one line per case, over its measured
//! (ok, non-warm-up) runs. A value no successful run measured is `-`, never a made-up 0.

use std::fmt::Write as _;

use crate::cost::usage_trust;
use crate::cost::worker_trust;
use crate::derive::energy::Figure;
use crate::derive::energy::MinCoverage;
use crate::derive::energy::RunEnergy;
use crate::derive::runs::RunUsage;
use crate::plan::Case;
use crate::record::Run;

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// `mean ± sd` of `xs` with one decimal, or `-` when there is no value.
fn mean_sd_cell(xs: &[f64]) -> String {
    if xs.is_empty() {
        return "-".into();
    }
    let (mean, sd) = mean_sd(xs);
    format!("{mean:.1} ± {sd:.1}")
}

/// llama-bench-like table over the measured (non-warm-up) runs, one line per case. A
/// value no successful run measured is `-`, never a made-up 0.
#[must_use]
pub fn speed_table(cases: &[Case], runs: &[Run]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| model | size MiB | test | ok/runs | pp t/s | tg t/s | img tok | encode ms | peak RSS MiB |"
    );
    let _ = writeln!(out, "|---|---:|---|---:|---:|---:|---:|---:|---:|");
    for case in cases {
        let mine: Vec<&Run> = runs.iter().filter(|r| r.label == case.label).collect();
        let ok: Vec<&Run> = mine.iter().copied().filter(|r| r.is_ok()).collect();
        let pp: Vec<f64> = ok.iter().map(|r| r.prefill_tokens_per_s()).collect();
        let tg: Vec<f64> = ok.iter().map(|r| r.decode_tokens_per_s()).collect();
        let model = ok.iter().find_map(|r| r.model.as_ref());
        let name = model
            .and_then(|m| m.name.clone())
            .unwrap_or_else(|| case.model.display().to_string());
        let size = model.map_or_else(
            || "-".into(),
            |m| format!("{:.1}", m.file_size_bytes as f64 / 1_048_576.0),
        );
        let img = ok.iter().find_map(|r| r.image.as_ref());
        let (enc, _) = mean_sd(
            &ok.iter()
                .filter_map(|r| r.image.as_ref().map(|i| i.encode_us as f64 / 1000.0))
                .collect::<Vec<_>>(),
        );
        let rss = ok
            .iter()
            .map(|r| r.peak_rss_kb)
            .filter(|&kb| kb > 0) // 0: not read
            .max()
            .map_or_else(|| "-".into(), |kb| format!("{:.1}", kb as f64 / 1024.0));
        let _ = writeln!(
            out,
            "| {name} | {size} | {} | {}/{} | {} | {} | {} | {} | {rss} |",
            case.label,
            ok.len(),
            mine.len(),
            mean_sd_cell(&pp),
            mean_sd_cell(&tg),
            img.map_or_else(|| "-".into(), |i| i.image_tokens.to_string()),
            img.map_or_else(|| "-".into(), |_| format!("{enc:.1}")),
        );
    }
    out
}

pub(super) fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = xs.collect();
    (!v.is_empty()).then(|| mean_sd(&v).0)
}

pub(super) fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |x| format!("{x:.digits$}"))
}

/// The mean of the trusted values of `figure` over `energies`: `-` and why when none is
/// trusted, and how many were left out and why when some are not.
fn energy_cell(energies: &[RunEnergy], figure: Figure, min: MinCoverage, digits: usize) -> String {
    let checked: Vec<_> = energies.iter().map(|e| e.figure(figure, min)).collect();
    let why = checked.iter().find_map(|c| c.err());
    let left_out = checked.iter().filter(|c| c.is_err()).count();
    match (mean(checked.iter().filter_map(|c| c.ok())), why) {
        (None, None) => "-".into(),
        (None, Some(why)) => format!("- ({why})"),
        (Some(m), None) => format!("{m:.digits$}"),
        (Some(m), Some(why)) => format!(
            "{m:.digits$} ({left_out} of {} left out: {why})",
            checked.len()
        ),
    }
}

/// Energy and CPU/RAM cost per case, over its measured (ok, non-warm-up) runs. Energy
/// figures below `min` coverage are left out of the means (see `energy_cell`).
#[must_use]
pub fn cost_table(
    cases: &[Case],
    runs: &[Run],
    usage: &[Option<RunUsage>],
    min: MinCoverage,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| test | worker CPU s | worker RSS MB·s | machine CPU %·s | machine RAM MB·s | energy J (net) | J/gen token (net) | coverage % | power source |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for case in cases {
        let mine: Vec<(&Run, &Option<RunUsage>)> = runs
            .iter()
            .zip(usage)
            .filter(|(r, _)| r.label == case.label && r.is_ok())
            .collect();
        // The usage figures the report trusts, alone: the machine's above an idle baseline
        // that was idle, the worker's (above none) where samples cover the run.
        let min_coverage = f64::from(min.ppm) / 1e6;
        let trusted = |check: &dyn Fn(&Run, &RunUsage) -> bool| -> Vec<&RunUsage> {
            mine.iter()
                .filter_map(|(r, u)| u.as_ref().filter(|u| check(r, u)))
                .collect()
        };
        let machine = trusted(&|r, u| usage_trust(u, r.duration_s(), min_coverage).is_ok());
        let workers = trusted(&|_, u| worker_trust(u, min_coverage).is_ok());
        let u = |f: fn(&RunUsage) -> f64| mean(machine.iter().map(|u| f(u)));
        let worker = |f: fn(&RunUsage) -> Option<f64>| mean(workers.iter().filter_map(|u| f(u)));
        let energies: Vec<RunEnergy> = mine
            .iter()
            .filter_map(|(r, _)| RunEnergy::of_run(r))
            .collect();
        let coverage = mean(energies.iter().map(|e| e.run.coverage() * 100.0));
        let source = energies
            .first()
            .map_or("none (estimates only)", |e| e.source.as_str());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {source} |",
            case.label,
            cell(worker(|x| x.worker_cpu_s), 2),
            cell(worker(|x| x.worker_rss_mb_s), 1),
            cell(u(|x| x.cpu_pct_s), 1),
            cell(u(|x| x.ram_mb_s), 1),
            energy_cell(&energies, Figure::NetJ, min, 3),
            energy_cell(&energies, Figure::NetJPerGeneratedToken, min, 4),
            cell(coverage, 1),
        );
    }
    out
}
