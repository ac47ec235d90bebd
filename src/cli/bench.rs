//! `edgewatt bench PLAN`: the daemon, running one plan now and stopping when it is done —
//! sampling, power and logging as usual — then a llama-bench-like summary with the
//! measured energy and the CPU/RAM cost of each case.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::Cli;
use crate::daemon;
use crate::daemon::RunOptions;
use crate::derive::energy::RunEnergy;
use crate::derive::runs::run_usage;
use crate::derive::runs::RunUsage;
use crate::derive::runs::BASELINE_SEARCH_US;
use crate::plan::Plan;
use crate::record::Record;
use crate::record::Run;
use crate::record::SampleDecoder;
use crate::sampler::Sample;
use crate::sampler::SampleLayout;
use crate::store::list_segments;
use crate::store::Item;
use crate::store::SegmentReader;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The plan file (TOML): models, token lengths, images, clamps, repetitions.
    pub plan: PathBuf,
}

/// Samples logged in `dir` at or after `since_us` (CLOCK_MONOTONIC), of the last boot.
fn logged_samples(dir: &Path, since_us: u64) -> anyhow::Result<Vec<(SampleLayout, Sample)>> {
    let mut out = Vec::new();
    let segments = list_segments(dir)?;
    let last_boot = match segments.last() {
        Some(s) => match SegmentReader::open(&s.path)?.header() {
            Some(h) => h.boot_id.clone(),
            None => anyhow::bail!(
                "{}: segment header damaged; cannot tell which boot its samples are from",
                s.path.display()
            ),
        },
        None => return Ok(out),
    };
    for seg in segments {
        let Ok(reader) = SegmentReader::open(&seg.path) else {
            continue;
        };
        // A segment whose header is damaged is of an unknown boot: left out.
        if reader.header().is_none_or(|h| h.boot_id != last_boot) {
            continue;
        }
        let mut decoder = SampleDecoder::new();
        for item in reader.items() {
            if let Item::Frame { frame, .. } = item {
                if let Record::Samples(block) = &frame.record {
                    if let Ok((layout, samples)) = decoder.decode(frame.seq, block) {
                        out.extend(
                            samples
                                .into_iter()
                                .filter(|s| s.mono_us >= since_us)
                                .map(|s| (layout.clone(), s)),
                        );
                    }
                }
            }
        }
    }
    Ok(out)
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = xs.collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |x| format!("{x:.digits$}"))
}

/// Energy and CPU/RAM cost per case, over its measured (ok, non-warm-up) runs.
fn cost_table(plan: &Plan, runs: &[Run], usage: &[Option<RunUsage>]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| test | worker CPU s | worker RSS MB·s | machine CPU %·s | machine RAM MB·s | energy J (net) | J/gen token (net) | coverage % | power source |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for case in plan.schedule().cases {
        let mine: Vec<(&Run, &Option<RunUsage>)> = runs
            .iter()
            .zip(usage)
            .filter(|(r, _)| r.label == case.label && r.is_ok())
            .collect();
        let u = |f: fn(&RunUsage) -> f64| mean(mine.iter().filter_map(|(_, u)| u.as_ref().map(f)));
        let worker = |f: fn(&RunUsage) -> Option<f64>| {
            mean(mine.iter().filter_map(|(_, u)| u.as_ref().and_then(f)))
        };
        let energies: Vec<RunEnergy> = mine
            .iter()
            .filter_map(|(r, _)| r.energy.as_ref().map(RunEnergy::from))
            .collect();
        let joules = mean(energies.iter().filter_map(|e| e.run.net_j()));
        let per_token = mean(
            energies
                .iter()
                .filter_map(|e| e.net_j_per_generated_token()),
        );
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
            cell(joules, 3),
            cell(per_token, 4),
            cell(coverage, 1),
        );
    }
    out
}

pub fn run(cli: &Cli, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(cli)?;
    let plan = Plan::load(&args.plan)?;
    let stop = super::run::install_stop()?;
    let opts = RunOptions {
        plans: vec![args.plan.clone()],
        plans_once: true,
        ..RunOptions::default()
    };
    let summary = daemon::run(&cfg, &opts, &stop)
        .with_context(|| format!("edgewatt bench on {}", cfg.state_dir.display()))?;
    let runs = &summary.runs;
    let since = runs
        .iter()
        .filter_map(|r| r.phases.first().map(|m| m.mono_us))
        .min()
        .unwrap_or(0)
        .saturating_sub(BASELINE_SEARCH_US);
    let samples = logged_samples(&cfg.state_dir, since)?;
    let idle = summary
        .idle_windows
        .first()
        .and_then(|&(a, b)| crate::derive::Window::new(a, b).ok());
    let usage = run_usage(&samples, runs, idle);
    writeln!(
        std::io::stdout(),
        "plan {}: {} runs, log in {}",
        plan.name,
        runs.len(),
        cfg.state_dir.display()
    )?;
    write!(
        std::io::stdout(),
        "{}",
        crate::llama::summary(&plan.schedule().cases, runs)
    )?;
    writeln!(std::io::stdout())?;
    write!(std::io::stdout(), "{}", cost_table(&plan, runs, &usage))?;
    Ok(if runs.iter().all(Run::is_ok) && !runs.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
