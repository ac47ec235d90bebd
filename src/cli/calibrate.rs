//! `edgewatt calibrate`: fits the energy estimate's coefficients on runs with measured
//! energy (from state directories, or exported runs pooled from several boards), prints
//! the error before and after, and writes the calibration file (calibration/README.md).
//!
//! Exit status 0 when a calibration was written; 2 when none could be fitted (too few runs,
//! too narrow a load range, several devices without --device or --pool), with what to
//! collect, or on any other error.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::cost_args::CostArgs;
use super::rows::read_all;
use super::time::format_wall_us;
use super::Cli;
use crate::config::Config;
use crate::cost::drop_repeats;
use crate::cost::repeats_note;
use crate::cost::RowKey;
use crate::estimate::fit::errors;
use crate::estimate::fit::fit;
use crate::estimate::fit::meter_rank;
use crate::estimate::fit::one_meter;
use crate::estimate::fit::points;
use crate::estimate::fit::CalibrateError;
use crate::estimate::fit::FitMeta;
use crate::estimate::fit::Point;
use crate::estimate::import::points_from_file;
use crate::estimate::import::Excluded;
use crate::estimate::pmic;
use crate::logread::LogSource;
use print::before;
use print::print;

mod print;

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub cost: CostArgs,
    /// Also (or only, without --dir) fit the runs of this exported runs file, CSV or
    /// Parquet (`edgewatt export runs`); repeat for several boards.
    #[arg(long = "runs", value_name = "FILE")]
    pub runs: Vec<PathBuf>,
    /// Fit the runs of this device only.
    #[arg(long, value_name = "ID")]
    pub device: Option<String>,
    /// Pool the runs of several devices into one board calibration (device_id empty).
    #[arg(long, conflicts_with = "device")]
    pub pool: bool,
    /// The calibration's id (default: `<device>-<UTC date and time>`).
    #[arg(long)]
    pub id: Option<String>,
    /// Write it here (default: <dir>/calibration/<device_id>.toml of the first state
    /// directory read, where `bench`, `export` and `report` look for it; required with
    /// --pool).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl CalibrateArgs {
    /// Whether the log of state directories is read: `--dir`s, or the configured one
    /// when no `--runs` file is named.
    fn reads_log(&self) -> bool {
        !self.cost.dirs.is_empty() || self.runs.is_empty()
    }
}

/// The fit points of every source named, and what was left out.
fn collect(
    cfg: &Config,
    args: &CalibrateArgs,
) -> anyhow::Result<(Vec<Point>, Excluded, Option<LogSource>)> {
    let mut pts = Vec::new();
    let mut ex = Excluded::default();
    // The rows the logs hold, trusted or not: a run they hold is theirs to fit or leave out,
    // whatever an exported file says of it.
    let mut in_logs: HashSet<RowKey> = HashSet::new();
    let source = args.reads_log().then(|| args.cost.source(cfg));
    if let Some(source) = &source {
        let cache = args.cost.cache_dir();
        let log = read_all(
            "calibrate",
            &args.cost.sources(cfg),
            source,
            args.cost.options(cfg)?,
            cache.as_deref(),
        )
        .context("reading the runs' cost from the log")?;
        for skip in log.skips.iter().filter(|s| s.kind.is_damage()) {
            eprintln!("edgewatt: {skip}");
        }
        in_logs.extend(log.rows.iter().filter_map(RowKey::of));
        let (p, e) = points(&log.rows);
        pts.extend(p);
        ex.merge(e);
    }
    let mut repeats = 0;
    let min_coverage = args.cost.options(cfg)?.min_coverage;
    for file in &args.runs {
        let (mut p, e) = points_from_file(file, min_coverage)?;
        let before = p.len();
        p.retain(|p| p.key.as_ref().is_none_or(|k| !in_logs.contains(k)));
        repeats += before - p.len();
        pts.extend(p);
        ex.merge(e);
    }
    repeats += drop_repeats(&mut pts, |p| p.key.clone(), |p| meter_rank(&p.source));
    if repeats > 0 {
        eprintln!("edgewatt: calibrate: {}", repeats_note(repeats));
    }
    ex.repeated = repeats;
    Ok((pts, ex, source))
}

/// The points of the device to fit: `--device`, the only one, or all with `--pool`.
fn select(pts: Vec<Point>, args: &CalibrateArgs) -> Result<(Vec<Point>, String), CalibrateError> {
    let mut devices: Vec<String> = pts.iter().map(|p| p.device_id.clone()).collect();
    devices.sort();
    devices.dedup();
    if let Some(d) = &args.device {
        let mine: Vec<Point> = pts.into_iter().filter(|p| &p.device_id == d).collect();
        if mine.is_empty() && !devices.is_empty() {
            // A device id mistyped, not runs to collect.
            return Err(CalibrateError::NoSuchDevice {
                device: d.clone(),
                devices: devices
                    .iter()
                    .map(|d| print::shown_device(d).to_owned())
                    .collect(),
            });
        }
        return Ok((mine, d.clone()));
    }
    if args.pool {
        return Ok((pts, String::new()));
    }
    match devices.as_slice() {
        [] => Ok((pts, String::new())),
        [one] => {
            let one = one.clone();
            Ok((pts, one))
        }
        // Runs of an unknown device (a damaged segment header) are not a second device.
        [unknown, one] if unknown.is_empty() => {
            let (mine, rest): (Vec<Point>, Vec<Point>) =
                pts.into_iter().partition(|p| &p.device_id == one);
            eprintln!(
                "edgewatt: calibrate: {} runs of an unknown device (in segments whose header \
                 is damaged, named above) left out; fitting {one}'s (--pool fits them too)",
                rest.len()
            );
            Ok((mine, one.clone()))
        }
        many => Err(CalibrateError::SeveralDevices {
            n: many.len(),
            devices: many
                .iter()
                .map(|d| {
                    if d.is_empty() {
                        "unknown (damaged header)"
                    } else {
                        d
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

pub fn run(cli: &Cli, args: &CalibrateArgs) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(cli)?;
    // A bad threshold is the one thing said, before what the directories hold.
    args.cost.options(&cfg)?;
    if args.reads_log() {
        args.cost.tell_dirs(&cfg, "calibrate");
    }
    anyhow::ensure!(
        !(args.pool && args.output.is_none()),
        "--pool needs --output FILE: a pooled calibration is for every device of the board"
    );
    let (pts, mut excluded, source) = collect(&cfg, args)?;
    let read = pts.len();
    let (pts, device) = select(pts, args)?;
    excluded.other_device = read - pts.len();
    let (pts, meter, other_meters) = one_meter(pts);
    excluded.other_meter = other_meters.len();
    if !other_meters.is_empty() {
        let mut gone: Vec<&str> = other_meters
            .iter()
            .map(|p| p.device_id.as_str())
            .filter(|d| !pts.iter().any(|p| &p.device_id == d))
            .collect();
        gone.sort_unstable();
        gone.dedup();
        let gone = if gone.is_empty() {
            String::new()
        } else {
            format!(" (every run of {}: not in this fit)", gone.join(", "))
        };
        eprintln!(
            "edgewatt: calibrate: {} runs measured by another meter than {meter} left out{gone}: \
             one fit is against one meter (the PMIC reads 1-2 W low; pooled with the INA219 it \
             would fit neither)",
            other_meters.len()
        );
    }
    let now = format_wall_us(crate::clock::wall_unix_us());
    let stamp: String = now
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(15)
        .collect();
    let meta = FitMeta {
        id: args.id.clone().unwrap_or_else(|| {
            let who = if device.is_empty() { "pooled" } else { &device };
            format!("{who}-{stamp}")
        }),
        device_id: device.clone(),
        fitted_at: now,
        description: String::new(),
    };
    let (before_name, before_estimates) = before(&cfg, args, &pts)?;
    let mut report = fit(&pts, &excluded.to_string(), meta)?;
    let before = errors(&pts, &before_estimates)?;
    // The mapping of the board fitted (every board's, pooled), from its own readings; a fit
    // against the PMIC estimates the PMIC's power, so no mapping goes with it.
    let mapping = source
        .as_ref()
        .filter(|_| meter != "pmic")
        .map(|s| pmic::pairs(s, (!device.is_empty()).then_some(device.as_str())))
        .transpose()?
        .map(|p| pmic::fit_mapping(&p));
    if let Some(Ok(m)) = &mapping {
        report.calibration.pmic_to_total = Some(*m);
    }
    // Where report, export and bench look first: the (first) state directory read.
    let path = args.output.clone().unwrap_or_else(|| {
        (args.cost.dirs(&cfg).into_iter().next())
            .unwrap_or_else(|| cfg.state_dir.clone())
            .join("calibration")
            .join(format!("{device}.toml"))
    });
    report.calibration.save(&path)?;
    print(
        &report,
        (pts.iter().filter(|p| p.idle).count(), args.pool),
        &before_name,
        &before,
        &excluded,
        mapping.as_ref(),
        &path,
    )?;
    Ok(ExitCode::SUCCESS)
}
