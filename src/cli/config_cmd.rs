//! `edgewatt config check` and `edgewatt config show`.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Subcommand;

use super::Cli;
use crate::plan::Plan;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration, every plan it lists and the replay trace if one is
    /// configured; errors name file:line:column.
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
            let mut names: Vec<(String, &std::path::Path)> = Vec::new();
            for path in &cfg.plans {
                match Plan::load(path) {
                    Ok(plan) => {
                        // The daemon's schedule tells plans apart by name and skips a
                        // second plan of a name.
                        if let Some((_, first)) = names.iter().find(|(n, _)| *n == plan.name) {
                            failed = true;
                            eprintln!(
                                "edgewatt: error: plan {}: key name: {:?} is also the name of \
                                 plan {}; the daemon would skip this one: rename one",
                                path.display(),
                                plan.name,
                                first.display()
                            );
                            continue;
                        }
                        names.push((plan.name.clone(), path));
                        let missing = plan.missing_files();
                        for (workload, key, file) in &missing {
                            eprintln!(
                                "edgewatt: error: plan {}: workload {workload:?}: key {key}: \
                                 {} does not exist; put the file there or fix the path \
                                 (relative paths are relative to the plan)",
                                path.display(),
                                file.display()
                            );
                        }
                        failed |= !missing.is_empty();
                        if missing.is_empty() {
                            writeln!(
                                out,
                                "ok: plan {} ({:?}, {} workloads)",
                                path.display(),
                                plan.name,
                                plan.workloads.len()
                            )?;
                        }
                    }
                    Err(e) => {
                        failed = true;
                        eprintln!("edgewatt: error: plan {e} (listed in `plans` of {listed_in})");
                    }
                }
            }
            // A source that needs no hardware (a replay trace) and cannot be opened would
            // leave the daemon without power readings (a `sensor_absent` warning): the
            // check opens the chosen one and reports it.
            if let Some(kind) = cfg.power.source.kind() {
                if let Some(key) = kind.file_key {
                    match (kind.open)(&cfg.power) {
                        Ok(source) => writeln!(out, "ok: power.{key}: {}", source.label())?,
                        Err(e) => {
                            failed = true;
                            eprintln!("edgewatt: error: power.{key}: {e}");
                        }
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
