//! Where a command's cost rows come from and how they are estimated (`--dir`, the coverage
//! threshold, the calibration, `--no-cache`): shared by `report`, `calibrate`, `export` and
//! `bench`.

use std::path::PathBuf;

use clap::Args;

use super::rows::Source;
use crate::config::Config;
use crate::cost::cache;
use crate::cost::CostOptions;
use crate::cost::RunCost;
use crate::estimate::Calibrations;
use crate::estimate::EstimateError;
use crate::logread::LogSource;

/// Where the rows come from and how they are estimated: shared by `calibrate`, `export`
/// and `bench`.
#[derive(Debug, Args)]
pub struct CostArgs {
    /// Read this state directory (repeat for several; default: the configured one).
    #[arg(long = "dir", value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Energy or CPU/RAM figures whose readings cover less of the run than this, %, are
    /// not trusted (shown with the reason, left out of fits) [config:
    /// energy.min_coverage_pct, default 95].
    #[arg(long, value_name = "PCT", allow_negative_numbers = true)]
    pub min_coverage_pct: Option<f64>,
    /// Estimate with this calibration file, or a directory of `<device_id>.toml` files
    /// (default: the calibration/ directory of each state directory read, else the shipped
    /// Pi 5 board average).
    #[arg(long, value_name = "PATH")]
    pub calibration: Option<PathBuf>,
    /// Use a calibration fitted on another device.
    #[arg(long)]
    pub force_calibration: bool,
    /// Derive the runs' rows from the log alone, not through the cache of each state
    /// directory's rows ($XDG_CACHE_HOME/edgewatt, else ~/.cache/edgewatt), and leave the
    /// cache as it is.
    #[arg(long)]
    pub no_cache: bool,
}

impl CostArgs {
    /// The state directories to read: `--dir`s, each once (the first time it is named),
    /// else the configured one.
    #[must_use]
    pub fn dirs(&self, cfg: &Config) -> Vec<PathBuf> {
        if self.dirs.is_empty() {
            return vec![cfg.state_dir.clone()];
        }
        self.unique_dirs().0
    }

    /// The `--dir`s, each once (the first time it is named, compared by canonical path),
    /// and each that names one named before, with that one.
    fn unique_dirs(&self) -> (Vec<PathBuf>, Vec<(&PathBuf, &PathBuf)>) {
        let mut seen: Vec<(PathBuf, &PathBuf)> = Vec::new();
        let mut repeats = Vec::new();
        for d in &self.dirs {
            let c = std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
            match seen.iter().find(|(s, _)| *s == c) {
                Some(&(_, first)) => repeats.push((d, first)),
                None => seen.push((c, d)),
            }
        }
        (seen.into_iter().map(|(_, d)| d.clone()).collect(), repeats)
    }

    /// Tells on stderr, as `command`'s, each `--dir` that names a directory named before
    /// ([`dirs`](Self::dirs) reads it once: its runs counted twice would narrow every CI),
    /// and each directory to read that holds no segment (a wrong path reads as no runs).
    pub fn tell_dirs(&self, cfg: &Config, command: &str) {
        for (d, first) in self.unique_dirs().1 {
            eprintln!(
                "edgewatt: {command}: {} is {} named again: read once",
                d.display(),
                first.display()
            );
        }
        for dir in self.dirs(cfg) {
            super::damage::tell_misnamed(command, &dir);
            if crate::store::list_segments(&dir).is_ok_and(|s| s.is_empty()) {
                eprintln!(
                    "edgewatt: {command}: {} holds no segments (<seq>.ewlog): check the path, \
                     or that the daemon has logged there",
                    dir.display()
                );
            }
        }
    }

    /// The state directories to read, each a source of rows.
    #[must_use]
    pub fn sources(&self, cfg: &Config) -> Vec<Source> {
        self.dirs(cfg).into_iter().map(Source::Dir).collect()
    }

    /// The state directories to read, as one source.
    #[must_use]
    pub fn source(&self, cfg: &Config) -> LogSource {
        LogSource::dirs(self.dirs(cfg))
    }

    /// The cache directory of the rows: the user's, unless `--no-cache` (or there is none).
    #[must_use]
    pub fn cache_dir(&self) -> Option<PathBuf> {
        (!self.no_cache).then(cache::user_cache_dir).flatten()
    }

    /// The options of the rows: `--min-coverage-pct`, else the configuration's.
    pub fn options(&self, cfg: &Config) -> anyhow::Result<CostOptions> {
        let pct = self
            .min_coverage_pct
            .unwrap_or(f64::from(cfg.energy.min_coverage_pct));
        anyhow::ensure!(
            (0.0..=100.0).contains(&pct),
            "--min-coverage-pct {pct} is not a share of 0 to 100 %"
        );
        Ok(CostOptions {
            min_coverage: pct / 100.0,
        })
    }
}

/// The devices of `rows`, each once.
fn devices(rows: &[RunCost]) -> Vec<String> {
    let mut devices: Vec<&str> = rows.iter().filter_map(|r| r.device_id.as_deref()).collect();
    devices.sort_unstable();
    devices.dedup();
    devices.into_iter().map(str::to_owned).collect()
}

/// The calibrations `args` name for the devices of `rows` (see [`CostArgs::calibration`]).
pub fn calibrations(
    cfg: &Config,
    args: &CostArgs,
    rows: &[RunCost],
) -> anyhow::Result<Calibrations> {
    load_calibrations(cfg, args, &devices(rows), args.force_calibration)
}

/// As [`calibrations`], for a report that goes on: a calibration that cannot be used is
/// refused for the devices it was for, which keep the shipped board average, and each
/// refusal is a line saying so, as is a calibration directory whose files are named after
/// no device read.
pub fn calibrations_or_board(
    cfg: &Config,
    args: &CostArgs,
    rows: &[RunCost],
) -> (Calibrations, Vec<String>) {
    calibrations_or_board_of(cfg, args, &devices(rows))
}

/// [`calibrations_or_board`] for the devices `devices`.
pub fn calibrations_or_board_of(
    cfg: &Config,
    args: &CostArgs,
    devices: &[String],
) -> (Calibrations, Vec<String>) {
    let (cals, refused) = load_each(cfg, args, devices, args.force_calibration);
    let said = refused
        .iter()
        .map(|e| {
            let whose = match e {
                EstimateError::OtherDevice { device, .. } => format!("device {device}"),
                _ => "its devices".to_owned(),
            };
            format!("{e} (the estimates of {whose} use the shipped Pi 5 board average)")
        })
        .chain(unclaimed(cfg, args, &cals, devices))
        .collect();
    (cals, said)
}

/// Where calibrations are looked for: `--calibration`, else the `calibration/` directory of
/// each state directory read that has one (as `upload` looks in the segment's), in order,
/// then the configured state directory's (where `calibrate` wrote before it wrote beside
/// the log it read).
fn calibration_paths(cfg: &Config, args: &CostArgs) -> Vec<PathBuf> {
    if let Some(path) = &args.calibration {
        return vec![path.clone()];
    }
    let mut dirs: Vec<PathBuf> = args.dirs(cfg);
    if !dirs.contains(&cfg.state_dir) {
        dirs.push(cfg.state_dir.clone());
    }
    (dirs.into_iter())
        .map(|d| d.join("calibration"))
        .filter(|d| d.is_dir())
        .collect()
}

/// The calibrations of [`calibration_paths`] for `devices`, and each refusal.
fn load_each(
    cfg: &Config,
    args: &CostArgs,
    devices: &[String],
    force: bool,
) -> (Calibrations, Vec<EstimateError>) {
    match (&args.calibration, calibration_paths(cfg, args)) {
        (Some(path), _) => Calibrations::load_each(path, devices, force),
        (None, dirs) => Calibrations::load_dirs(&dirs, devices, force),
    }
}

/// What the calibration directories hold that no device read takes, the one named with
/// `--calibration` too (a file named there is the user's choice: nothing to tell).
fn unclaimed(
    cfg: &Config,
    args: &CostArgs,
    cals: &Calibrations,
    devices: &[String],
) -> Vec<String> {
    match &args.calibration {
        Some(path) if !path.is_dir() => Vec::new(),
        _ => cals.unclaimed_files(&calibration_paths(cfg, args), devices),
    }
}

/// `--calibration`, else the state directories' `calibration/`, else the board average; a
/// refusal is the error. Calibration files there named after no device read are told on
/// stderr.
pub fn load_calibrations(
    cfg: &Config,
    args: &CostArgs,
    devices: &[String],
    force: bool,
) -> anyhow::Result<Calibrations> {
    let (cals, refused) = load_each(cfg, args, devices, force);
    if let Some(e) = refused.into_iter().next() {
        return Err(e.into());
    }
    for note in unclaimed(cfg, args, &cals, devices) {
        eprintln!("edgewatt: {note}");
    }
    Ok(cals)
}
