//! `edgewatt run`: the daemon.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use super::Cli;
use crate::daemon;
use crate::daemon::RunOptions;
use crate::daemon::StopFlag;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Sample at N ticks per second, 1–100 (overrides `sampler.rate_hz`).
    #[arg(long, value_name = "N")]
    pub rate_hz: Option<u32>,
    /// Stop cleanly after S seconds (default: run until SIGTERM or SIGINT).
    #[arg(long, value_name = "S")]
    pub duration_s: Option<f64>,
}

/// SIGTERM, SIGINT and SIGHUP set the returned flag (the daemon stops cleanly); SIGXFSZ
/// is ignored, so a file-size limit gives write errors the daemon survives.
pub(super) fn install_stop() -> anyhow::Result<Arc<StopFlag>> {
    let stop = Arc::new(StopFlag::new(0));
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        signal_hook::flag::register_usize(sig, Arc::clone(&stop), sig as usize)
            .context("cannot install signal handlers")?;
    }
    // SAFETY: setting a signal to SIG_IGN has no handler code to run.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    Ok(stop)
}

pub fn run(cli: &Cli, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = super::load_config(cli)?;
    if let Some(r) = args.rate_hz {
        cfg.set_rate_hz(r)?;
    }
    let duration_us = match args.duration_s {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            anyhow::bail!("--duration-s {s}: expected a positive number of seconds")
        }
        Some(s) => Some((s * 1e6) as u64),
        None => None,
    };
    let stop = install_stop()?;
    log::info!(
        "sampling at {} Hz into {}",
        cfg.sampler.rate_hz,
        cfg.state_dir.display()
    );
    let summary = daemon::run(
        &cfg,
        &RunOptions {
            duration_us,
            ..RunOptions::default()
        },
        &stop,
    )
    .with_context(|| format!("edgewatt run on {}", cfg.state_dir.display()))?;
    log::info!(
        "stopped ({}): {} samples over {} ticks ({} late), {} store errors; sealed {}",
        summary.stop_reason,
        summary.samples,
        summary.ticks,
        summary.late_ticks,
        summary.store_errors,
        summary
            .last_segment
            .as_ref()
            .map_or_else(String::new, |p| p.display().to_string())
    );
    Ok(ExitCode::SUCCESS)
}
