//! `edgewatt bench PLAN`: the daemon, running one plan now and stopping when it is done —
//! sampling, power and logging as usual — then a report made from the log it wrote: the
//! llama-bench-like tables of [`crate::report`], from the runs and samples read back.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::Cli;
use crate::daemon;
use crate::daemon::RunOptions;
use crate::logread::LogSource;
use crate::plan::Plan;
use crate::record::Run;
use crate::report::BenchLog;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// The plan file (TOML): models, token lengths, images, clamps, repetitions.
    pub plan: PathBuf,
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
    write!(out, "{}", log.tables(&plan.schedule().cases))?;
    Ok(if log.runs.iter().all(Run::is_ok) && !log.runs.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
