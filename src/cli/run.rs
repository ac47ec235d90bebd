//! `edgewatt run`: the daemon.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use super::Cli;
use crate::daemon;
use crate::daemon::ConfigSource;
use crate::daemon::RunOptions;
use crate::daemon::Signals;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Sample at N ticks per second, 1–100 (overrides `sampler.rate_hz`).
    #[arg(long, value_name = "N")]
    pub rate_hz: Option<u32>,
    /// Stop cleanly after S seconds (default: run until SIGTERM or SIGINT).
    #[arg(long, value_name = "S")]
    pub duration_s: Option<f64>,
}

/// SIGTERM and SIGINT set the stop flag (the daemon stops cleanly); SIGHUP sets the
/// reload flag, or with `hup_stops` (a terminal's hang-up: `bench`) the stop flag.
/// SIGXFSZ is ignored, so a file-size limit gives write errors the daemon survives.
pub(super) fn install_signals(hup_stops: bool) -> anyhow::Result<Signals> {
    let signals = Signals::default();
    let mut stopping = vec![libc::SIGTERM, libc::SIGINT];
    if hup_stops {
        stopping.push(libc::SIGHUP);
    } else {
        signal_hook::flag::register(libc::SIGHUP, Arc::clone(&signals.reload))
            .context("cannot install signal handlers")?;
    }
    for sig in stopping {
        signal_hook::flag::register_usize(sig, Arc::clone(&signals.stop), sig as usize)
            .context("cannot install signal handlers")?;
    }
    // SAFETY: setting a signal to SIG_IGN has no handler code to run.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    Ok(signals)
}

pub fn run(cli: &Cli, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let source = ConfigSource {
        rate_hz: args.rate_hz,
        ..super::config_source(cli)
    };
    let cfg = source.load()?;
    let duration_us = match args.duration_s {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            anyhow::bail!("--duration-s {s}: expected a positive number of seconds")
        }
        Some(s) => Some((s * 1e6) as u64),
        None => None,
    };
    let signals = install_signals(false)?;
    log::info!(
        "sampling at {} Hz into {}",
        cfg.sampler.rate_hz,
        cfg.state_dir.display()
    );
    let summary = daemon::run(
        &cfg,
        &RunOptions {
            duration_us,
            config_source: Some(source),
            ..RunOptions::default()
        },
        &signals,
    )
    .with_context(|| format!("edgewatt run on {}", cfg.state_dir.display()))?;
    log::info!(
        "stopped ({}): {} samples over {} ticks ({} late), {} store errors, {} fdatasync \
         (longest {} ms); sealed {}",
        summary.stop_reason,
        summary.samples,
        summary.ticks,
        summary.late_ticks,
        summary.store_errors,
        summary.syncs,
        summary.max_sync_us / 1000,
        summary
            .last_segment
            .as_ref()
            .map_or_else(String::new, |p| p.display().to_string())
    );
    Ok(ExitCode::SUCCESS)
}
