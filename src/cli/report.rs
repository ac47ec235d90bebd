//! `edgewatt report [DIR...]`: the paper's laws, the knee, base vs compressed and the
//! estimate against measurement, over one or several state directories or a fleet's
//! bucket (`--source`, one source per device) (see
//! [`crate::report::laws`]), as a terminal table, markdown, JSON or one HTML page.

use std::path::Path;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::cost_args::calibrations_or_board;
use super::cost_args::CostArgs;
use super::fleet::Fleet;
use super::fleet::FleetArgs;
use super::rows::Source;
use super::Cli;
use crate::config::Config;
use crate::cost::drop_repeats;
use crate::cost::repeats_note;
use crate::cost::CostOptions;
use crate::cost::RowKey;
use crate::cost::RunCost;
use crate::estimate::fit::copy_rank;
use crate::estimate::Calibrations;
use crate::report::laws::CalibrationNote;
use crate::report::laws::Report;
use crate::report::laws::ReportOptions;
use crate::report::render::write;
use crate::report::render::Format;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// State directories (`--dir`, repeatable; default: the configured state_dir), the
    /// coverage threshold and the calibration. Each directory is read on its own: one
    /// that cannot be read is named, and the others are reported.
    #[command(flatten)]
    pub cost: CostArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Keep flagged runs (throttled, under-voltage, low coverage, capped cooldown, a busy
    /// idle baseline) in fits, for the figures of theirs that are still trusted (too little
    /// coverage, or a busy idle baseline, leaves a run with no CPU/RAM or energy figure).
    #[arg(long)]
    pub include_flagged: bool,
    /// Bootstrap resamples for the knee's ψ CI (0: profile CI only).
    #[arg(long, default_value_t = 499, value_name = "N")]
    pub bootstrap: usize,
}

/// Where the report's rows come from: state directories, or a fleet's devices.
pub enum Sources {
    Dirs(Vec<PathBuf>),
    Fleet(Fleet),
}

impl Sources {
    /// Each source to read on its own: its name and what to read.
    fn each(&self) -> Vec<(String, Source)> {
        match self {
            Self::Dirs(dirs) => dirs
                .iter()
                .map(|d| (d.display().to_string(), Source::Dir(d.clone())))
                .collect(),
            Self::Fleet(fleet) => fleet.each(),
        }
    }
}

/// What [`read_sources`] read.
struct Read {
    rows: Vec<RunCost>,
    /// Each source that could not be read, damaged data skipped, runs read twice.
    problems: Vec<String>,
    /// The names of the sources read.
    read: Vec<String>,
    /// How many sources could not be read.
    unreadable: usize,
}

/// Reads every source (noting those that fail).
fn read_sources(sources: &[(String, Source)], opts: CostOptions, cache: Option<&Path>) -> Read {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut read = Vec::new();
    let mut unreadable = 0;
    for (name, source) in sources {
        match source.read("report", opts, cache) {
            Ok(log) => {
                read.push(name.clone());
                problems.extend(source.seq_gaps().iter().map(ToString::to_string));
                for skip in log.skips.iter().filter(|s| s.kind.is_damage()) {
                    problems.push(format!("{name}: skipped damaged data: {skip}"));
                }
                if rows.is_empty() {
                    rows = log.rows;
                } else {
                    rows.extend(log.rows);
                }
            }
            Err(e) => {
                unreadable += 1;
                problems.push(format!(
                    "{name}: cannot read the log: {e}; check the path (a state directory \
                     holds *.ewlog segments), the other sources are reported"
                ));
            }
        }
    }
    let repeats = drop_repeats(&mut rows, RowKey::of, copy_rank);
    if repeats > 0 {
        problems.push(repeats_note(repeats));
    }
    Read {
        rows,
        problems,
        read,
        unreadable,
    }
}

fn notes(cals: &Calibrations, rows: &[RunCost]) -> Vec<CalibrationNote> {
    let mut out: Vec<CalibrationNote> = Vec::new();
    for r in rows {
        let Some(c) = cals.for_device(r.device_id.as_deref()) else {
            continue;
        };
        let note = CalibrationNote {
            source: c.source(),
            board_average: c.board_average,
            device_id: if c.device_id.is_empty() {
                r.device_id.clone().unwrap_or_default()
            } else {
                c.device_id.clone()
            },
            fitted_runs: c.provenance.runs,
            cv_mape_pct: c.provenance.cv_mape_pct,
        };
        if !out.contains(&note) {
            out.push(note);
        }
    }
    out
}

/// Builds the report over `sources`, and says how many could not be read. None read is an
/// error naming each: a report of nothing read out as "no runs" (exit 1), as if the log had
/// none.
fn build(
    cfg: &Config,
    args: &ReportArgs,
    cost: CostOptions,
    sources: &Sources,
) -> anyhow::Result<(Report, usize)> {
    let each = sources.each();
    let cache = args.cost.cache_dir();
    let Read {
        mut rows,
        problems,
        read,
        unreadable,
    } = read_sources(&each, cost, cache.as_deref());
    if read.is_empty() && unreadable > 0 {
        anyhow::bail!("no log could be read: {}", problems.join("; "));
    }
    let (cals, refused) = calibrations_or_board(cfg, &args.cost, &rows);
    crate::estimate::apply(&mut rows, &cals);
    let opts = ReportOptions {
        include_flagged: args.include_flagged,
        knee_bootstrap_reps: args.bootstrap,
        min_coverage: cost.min_coverage(),
    };
    let mut report = Report::build(&rows, &opts);
    // The sources read: one that could not be is among the problems, not said to be read.
    report.sources = read;
    report.calibrations = notes(&cals, &rows);
    report
        .problems
        .splice(0..0, problems.into_iter().chain(refused));
    // The process ends soon after: freeing ten thousand rows piece by piece is work the
    // exit does at once.
    std::mem::forget(rows);
    Ok((report, unreadable))
}

/// Writes the report to `path`, or to stdout.
fn write_out(path: Option<&Path>, report: &Report, format: Format) -> anyhow::Result<()> {
    use std::io::Write as _;
    const BUF_BYTES: usize = 1 << 20;
    match path {
        Some(p) => {
            let file = std::fs::File::create(p)
                .with_context(|| format!("cannot create {}", p.display()))?;
            let mut out = std::io::BufWriter::with_capacity(BUF_BYTES, file);
            write(report, format, &mut out)
                .and_then(|()| out.flush())
                .with_context(|| format!("writing {}", p.display()))
        }
        None => {
            let mut out = std::io::BufWriter::with_capacity(BUF_BYTES, std::io::stdout().lock());
            write(report, format, &mut out)
                .and_then(|()| out.flush())
                .context("writing the report to stdout")
        }
    }
}

pub fn run(cli: &Cli, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(cli)?;
    // A bad threshold is the one thing said, before what the directories hold.
    let cost = args.cost.options(&cfg)?;
    let sources = match args.fleet.fleet(&cfg)? {
        Some(fleet) => Sources::Fleet(fleet),
        None => {
            args.cost.tell_dirs(&cfg, "report");
            Sources::Dirs(args.cost.dirs(&cfg))
        }
    };
    let (report, unreadable) = build(&cfg, args, cost, &sources)?;
    for p in &report.problems {
        eprintln!("edgewatt: report: {p}");
    }
    write_out(args.output.as_deref(), &report, args.format)?;
    // A source named and not read is an error, after the others' report is out.
    let code = if unreadable > 0 {
        ExitCode::from(2)
    } else if report.runs.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    // As the rows in `build`: the exit frees it at once.
    std::mem::forget(report);
    Ok(code)
}
