//! `edgewatt config check` and `edgewatt config show`.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Subcommand;

use super::Cli;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration; errors name file:line:column.
    Check,
    /// Print the effective configuration (file, defaults and flags) as TOML.
    Show,
}

pub fn run(cli: &Cli, cmd: &ConfigCommand) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(cli)?;
    match cmd {
        ConfigCommand::Check => {
            let source = cli.config.as_ref().map_or_else(
                || {
                    format!(
                        "defaults ({} absent or valid)",
                        crate::config::DEFAULT_CONFIG_PATH
                    )
                },
                |p| p.display().to_string(),
            );
            writeln!(std::io::stdout(), "ok: {source}")?;
        }
        ConfigCommand::Show => write!(std::io::stdout(), "{}", cfg.to_toml())?,
    }
    Ok(ExitCode::SUCCESS)
}
