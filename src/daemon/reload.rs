//! SIGHUP: read the configuration and every plan file again, apply what can change while
//! the daemon runs, keep the rest for the next start, and refuse — changing nothing — a
//! configuration or plan that cannot be used.
//!
//! Applied at once ([`LIVE`]): `plans` (every plan file is read again; a plan queued or
//! running finishes as it was), `[power]` (the new source is opened before the old one is
//! stopped), `store.fsync_interval_ms` and `clock.step_threshold_ms`. Every other key
//! (`state_dir`, `device_id`, `[sampler]`, the rest of `[store]`, `[metrics]`, `[upload]`)
//! takes effect at the next start: a change is logged and named in the `reloaded` event.
//! The metrics endpoint keeps its socket: a new address may need the unit's network
//! drop-in, which only a restart applies.

use std::path::PathBuf;

use super::power::PowerTap;
use super::state::Daemon;
use super::watch::Restart;
use crate::clock;
use crate::clock::StepDetector;
use crate::config::Config;
use crate::config::ConfigError;
use crate::plan::Plan;
use crate::power::detect::Absent;
use crate::record::EventKind;

/// Where the configuration comes from: the file and the command line's overrides, so
/// SIGHUP reads it as the start did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigSource {
    /// `--config` (`None`: the default path, or defaults if it does not exist).
    pub path: Option<PathBuf>,
    /// `--state-dir`.
    pub state_dir: Option<PathBuf>,
    /// `--rate-hz`.
    pub rate_hz: Option<u32>,
}

impl ConfigSource {
    /// The file with the overrides applied.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut cfg = Config::load(self.path.as_deref())?;
        if let Some(dir) = &self.state_dir {
            cfg.state_dir.clone_from(dir);
        }
        if let Some(r) = self.rate_hz {
            cfg.set_rate_hz(r)?;
        }
        Ok(cfg)
    }
}

/// The keys a reload applies (a key, or a table whose every key is applied).
pub const LIVE: [&str; 4] = [
    "plans",
    "power",
    "store.fsync_interval_ms",
    "clock.step_threshold_ms",
];

fn is_live(key: &str) -> bool {
    LIVE.iter()
        .any(|l| key == *l || key.strip_prefix(l).is_some_and(|r| r.starts_with('.')))
}

/// `old` with the [`LIVE`] parts of `new`.
fn with_live_parts(old: &Config, new: &Config) -> Config {
    let mut cfg = old.clone();
    cfg.plans.clone_from(&new.plans);
    cfg.power = new.power.clone();
    cfg.store.fsync_interval_ms = new.store.fsync_interval_ms;
    cfg.clock.step_threshold_ms = new.clock.step_threshold_ms;
    cfg
}

/// Dotted keys whose values differ between `a` and `b`.
fn changed_keys(a: &Config, b: &Config) -> Vec<String> {
    fn walk(prefix: &str, a: Option<&toml::Value>, b: Option<&toml::Value>, out: &mut Vec<String>) {
        match (a, b) {
            (Some(toml::Value::Table(ta)), Some(toml::Value::Table(tb))) => {
                let mut keys: Vec<&String> = ta.keys().chain(tb.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, ta.get(k), tb.get(k), out);
                }
            }
            (a, b) if a != b => out.push(prefix.to_owned()),
            _ => {}
        }
    }
    let value = |c: &Config| toml::Value::try_from(c).expect("config always serializes");
    let mut out = Vec::new();
    walk("", Some(&value(a)), Some(&value(b)), &mut out);
    out
}

/// A reload that can be applied.
struct Prepared {
    cfg: Config,
    applied: Vec<String>,
    needs_restart: Vec<String>,
    plans: Vec<Plan>,
    /// The new power reader, if `[power]` changed.
    power: Option<(Option<PowerTap>, Option<Absent>)>,
}

impl Daemon {
    /// Reads the configuration and plans again and applies them (see the module doc).
    pub(super) fn reload(&mut self) {
        let Some(source) = self.opts.config_source.clone() else {
            log::info!("SIGHUP: this run has no configuration to read again");
            return;
        };
        self.notifier.reloading();
        match self.prepare_reload(&source) {
            Ok(p) => self.apply_reload(p),
            Err(message) => {
                log::error!("SIGHUP: {message}; nothing was changed");
                self.event(EventKind::ReloadRefused { message });
            }
        }
        let status = self.status_line();
        self.notifier.ready(&status);
    }

    fn prepare_reload(&self, source: &ConfigSource) -> Result<Prepared, String> {
        let new = source.load().map_err(|e| e.to_string())?;
        let (applied, needs_restart): (Vec<String>, Vec<String>) = changed_keys(&self.cfg, &new)
            .into_iter()
            .partition(|k| is_live(k));
        let cfg = with_live_parts(&self.cfg, &new);
        let paths: Vec<PathBuf> = cfg.plans.iter().chain(&self.opts.plans).cloned().collect();
        let (plans, problems) = super::start::read_plans(paths.iter());
        if let Some(p) = problems.first() {
            return Err(format!("plan {}: {}", p.path.display(), p.message));
        }
        let power = if cfg.power == self.cfg.power {
            None
        } else {
            match PowerTap::start(&cfg, self.opts.power_source.as_ref()) {
                (None, Some(absent)) => {
                    let why = absent.message;
                    return Err(format!("the new power source does not open: {why}"));
                }
                opened => Some(opened),
            }
        };
        Ok(Prepared {
            cfg,
            applied,
            needs_restart,
            plans,
            power,
        })
    }

    fn apply_reload(&mut self, p: Prepared) {
        if let Some((tap, _)) = p.power {
            self.stop_power();
            self.power = tap;
            self.power_restart = Restart::new(clock::mono_us());
            if let Some(m) = &self.metrics {
                m.no_power();
            }
        }
        #[cfg(feature = "llama")]
        self.reload_plans(p.plans);
        #[cfg(not(feature = "llama"))]
        drop(p.plans);
        self.fsync_interval_us = p.cfg.store.fsync_interval_ms * 1000;
        let threshold_us = p.cfg.clock.step_threshold_ms as i64 * 1000;
        self.steps = StepDetector::new(self.steps.anchor(), threshold_us);
        self.cfg = p.cfg;
        log::info!(
            "SIGHUP: configuration and plans read again; applied: {:?}",
            p.applied
        );
        if !p.needs_restart.is_empty() {
            log::warn!(
                "SIGHUP: {:?} changed; they take effect at the next start",
                p.needs_restart
            );
        }
        self.event(EventKind::Reloaded {
            applied: p.applied,
            needs_restart: p.needs_restart,
        });
        self.event(EventKind::Config {
            toml: self.cfg.to_toml(),
        });
    }

    #[cfg(feature = "llama")]
    fn reload_plans(&mut self, plans: Vec<Plan>) {
        match &mut self.plans {
            Some(running) => running.reload(plans, crate::clock::Anchor::now()),
            None => match self.spawn_plans(plans) {
                Ok(started) => self.plans = started,
                Err(e) => log::error!("SIGHUP: {e}; the plans do not run"),
            },
        }
    }
}

#[cfg(test)]
mod tests;
