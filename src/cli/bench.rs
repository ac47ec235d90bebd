//! `edgewatt bench PLAN`: the daemon, running one plan now and stopping when it is done —
//! sampling, power and logging as usual — then a report made from the log it wrote: the
//! llama-bench-like tables of [`crate::report`], from the runs and samples read back.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::cost_args::calibrations;
use super::cost_args::CostArgs;
use super::Cli;
use crate::config::Config;
use crate::cost::CostLog;
use crate::cost::RunCost;
use crate::daemon;
use crate::daemon::RunOptions;
use crate::logread::Filter;
use crate::logread::LogSource;
use crate::plan::Plan;
use crate::record::Run;
use crate::report::estimate_table;
use crate::report::BenchLog;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The plan file (TOML): models, token lengths, images, clamps, repetitions.
    pub plan: PathBuf,
    /// Estimate the runs without measured energy with this calibration file, or a
    /// directory of `<device_id>.toml` (default: <state_dir>/calibration/, else the
    /// shipped Pi 5 board average).
    #[arg(long, value_name = "PATH")]
    pub calibration: Option<PathBuf>,
    /// Use a calibration fitted on another device.
    #[arg(long)]
    pub force_calibration: bool,
}

/// The cost rows of the session's runs, each with its calibration's estimate.
fn estimated(cfg: &Config, args: &BenchArgs, first_seq: u64) -> anyhow::Result<Vec<RunCost>> {
    let cost = CostArgs {
        dirs: Vec::new(),
        min_coverage_pct: None,
        calibration: args.calibration.clone(),
        force_calibration: args.force_calibration,
        // The session's runs alone (`min_seq`): the cache holds a directory's every row.
        no_cache: true,
    };
    let filter = Filter {
        min_seq: Some(first_seq),
        ..Filter::default()
    };
    let mut log = CostLog::read(&cost.source(cfg), filter, cost.options(cfg)?)
        .context("reading the runs' cost from the log")?;
    let cals = calibrations(cfg, &cost, &log.rows)?;
    crate::estimate::apply(&mut log.rows, &cals);
    Ok(log.rows)
}

pub fn run(cli: &Cli, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(cli)?;
    let plan = Plan::load(&args.plan)?;
    let signals = super::run::install_signals(true)?;
    let opts = RunOptions {
        plans: vec![args.plan.clone()],
        plans_once: true,
        ..RunOptions::default()
    };
    let summary = daemon::run(&cfg, &opts, &signals)
        .with_context(|| format!("edgewatt bench on {}", cfg.state_dir.display()))?;
    let log = BenchLog::read(&LogSource::dir(&cfg.state_dir), summary.first_seq)
        .with_context(|| format!("reading back the log in {}", cfg.state_dir.display()))?;
    for skip in log.skips.iter().filter(|s| s.kind.is_damage()) {
        eprintln!("edgewatt: {skip}");
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "plan {}: {} runs, log in {}",
        plan.name,
        log.runs.len(),
        cfg.state_dir.display()
    )?;
    let cases = plan.schedule().cases;
    write!(out, "{}", log.tables(&cases, cfg.energy.min_coverage()))?;
    let costs = estimated(&cfg, args, summary.first_seq)?;
    if let Some(table) = estimate_table(&cases, &costs) {
        writeln!(
            out,
            "\nestimated energy (runs without measured energy; estimates, not measurements):"
        )?;
        write!(out, "{table}")?;
    }
    Ok(if log.runs.iter().all(Run::is_ok) && !log.runs.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
