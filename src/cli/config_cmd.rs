//! `edgewatt config check` and `edgewatt config show`.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Subcommand;

use super::Cli;
use crate::plan::Plan;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and every plan it lists; errors name file:line:column.
    Check,
    /// Print the effective configuration (file, defaults and flags) as TOML.
    Show,
}

pub fn run(cli: &Cli, cmd: &ConfigCommand) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(cli)?;
    match cmd {
        ConfigCommand::Check => {
            // The daemon skips a plan it cannot load (a `plan_error` event); the check
            // reports every such plan with the parser the daemon uses.
            let mut failed = false;
            let mut out = std::io::stdout();
            let listed_in = cli
                .config
                .as_ref()
                .map_or_else(|| "the config".to_owned(), |p| p.display().to_string());
            for path in &cfg.plans {
                match Plan::load(path) {
                    Ok(plan) => writeln!(
                        out,
                        "ok: plan {} ({:?}, {} workloads)",
                        path.display(),
                        plan.name,
                        plan.workloads.len()
                    )?,
                    Err(e) => {
                        failed = true;
                        eprintln!("edgewatt: error: plan {e} (listed in `plans` of {listed_in})");
                    }
                }
            }
            if failed {
                return Ok(ExitCode::from(2));
            }
            let source = cli.config.as_ref().map_or_else(
                || {
                    format!(
                        "defaults ({} absent or valid)",
                        crate::config::DEFAULT_CONFIG_PATH
                    )
                },
                |p| p.display().to_string(),
            );
            writeln!(out, "ok: {source}")?;
        }
        ConfigCommand::Show => write!(std::io::stdout(), "{}", cfg.to_toml())?,
    }
    Ok(ExitCode::SUCCESS)
}
