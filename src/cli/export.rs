//! `edgewatt export`: the runs (one row per run and idle lead-in, the cost record) or the
//! samples (one row per tick) of one or more state directories or of a fleet's bucket
//! (`--source`), as CSV, JSON lines or Parquet. docs/EXPORT.md is the schema.

use std::io::Write;
use std::path::Path;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use clap::ValueEnum;

use super::cost_args::calibrations;
use super::cost_args::CostArgs;
use super::damage::damage_status;
use super::damage::report_skip;
use super::fleet::FleetArgs;
use super::rows::read_all;
use super::rows::Source;
use super::time::parse_wall_us;
use super::time::window_filter;
use super::Cli;
use crate::export::run_table;
use crate::export::write_table;
use crate::export::ExportError;
use crate::export::Format;
use crate::export::SampleExport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum What {
    /// One row per run and per plan idle lead-in: the cost record.
    Runs,
    /// One row per sample tick: CPU %, RAM MB, power W, temperature, frequency.
    Samples,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Which table.
    #[arg(value_enum)]
    pub what: What,
    /// Output format (default: from the output file's extension, else CSV).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write to FILE (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only records at or after this wall time (Unix seconds or RFC 3339).
    #[arg(long, value_parser = parse_wall_us)]
    pub since: Option<i64>,
    /// Only records before this wall time (Unix seconds or RFC 3339).
    #[arg(long, value_parser = parse_wall_us)]
    pub until: Option<i64>,
    #[command(flatten)]
    pub cost: CostArgs,
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Exit 0 even when damaged data was skipped (it is still reported on stderr).
    #[arg(long)]
    pub allow_damaged: bool,
}

pub fn run(cli: &Cli, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(cli)?;
    let fleet = args.fleet.fleet(&cfg)?;
    // A bad threshold is the one thing said, before what the directories hold.
    let opts = args.cost.options(&cfg)?;
    let source = match &fleet {
        Some(fleet) => fleet.source(),
        None => {
            args.cost.tell_dirs(&cfg, "export");
            args.cost.source(&cfg)
        }
    };
    let filter = window_filter(args.since, args.until)?;
    if let Some(dir) = args.output.as_deref().filter(|p| p.is_dir()) {
        anyhow::bail!(
            "{}: is a directory: name a file in it (e.g. {})",
            dir.display(),
            dir.join("runs.parquet").display()
        );
    }
    let format = match (args.format, args.output.as_deref()) {
        (Some(f), _) => f,
        (None, None) => Format::Csv,
        (None, Some(path)) => Format::from_path(path).with_context(|| {
            format!(
                "{}: which format? name the file .csv, .jsonl or .parquet, or give --format",
                path.display()
            )
        })?,
    };
    let output = args.output.as_deref();
    let sources: Vec<Source> = match &fleet {
        Some(fleet) => fleet.each().into_iter().map(|(_, s)| s).collect(),
        None => args.cost.sources(&cfg),
    };
    for gap in sources.iter().flat_map(Source::seq_gaps) {
        eprintln!("edgewatt: export: {gap}");
    }
    let (skips, damage) = match args.what {
        What::Runs => {
            // Every row of a state directory or a device comes through its cache. A window
            // keeps the rows whose record is in it, each the row of the whole log: a run's
            // idle baseline (its plan's lead-in) may lie before the window, and read alone
            // the window gave its runs another, busier one.
            let cache = args.cost.cache_dir();
            let mut log = read_all("export", &sources, &source, opts, cache.as_deref())
                .context("reading the runs' cost from the log")?;
            log.rows.retain(|r| filter.keeps_wall_us(r.start_unix_us));
            let cals = calibrations(&cfg, &args.cost, &log.rows)?;
            crate::estimate::apply(&mut log.rows, &cals);
            let table = run_table(&log.rows);
            write_out(output, |out, path| write_table(&table, format, out, path))?;
            (log.skips, log.damage)
        }
        What::Samples => {
            // The first two passes read before anything is written: a log that cannot be
            // read leaves no output behind.
            let samples = SampleExport::prepare(&source, &filter).context("reading the samples")?;
            let found = (samples.skips().to_vec(), *samples.damage());
            if samples.repeats() > 0 {
                eprintln!(
                    "edgewatt: export: {} samples were read twice (the same device, boot and \
                     time in two sources: a copy of a log): each is one row",
                    samples.repeats()
                );
            }
            write_out(output, |out, path| {
                samples.write(format, out, path).map(drop)
            })?;
            found
        }
    };
    for skip in &skips {
        report_skip(skip);
    }
    Ok(damage_status(&damage, args.allow_damaged))
}

/// What `write` writes, to `output` through a temporary file renamed into place (a failed
/// write leaves no partial file behind), or to stdout; either way as it is encoded.
fn write_out(
    output: Option<&Path>,
    write: impl FnOnce(&mut (dyn Write + Send), &Path) -> Result<(), ExportError>,
) -> anyhow::Result<()> {
    const BUF_BYTES: usize = 1 << 20;
    match output {
        Some(path) => crate::store::replace_file(path, |f| {
            let mut out = std::io::BufWriter::with_capacity(BUF_BYTES, f);
            write(&mut out, path).map_err(std::io::Error::other)?;
            out.flush()
        })
        .with_context(|| format!("writing {}", path.display()))?,
        None => {
            let mut out = std::io::BufWriter::with_capacity(BUF_BYTES, std::io::stdout());
            write(&mut out, Path::new("stdout"))?;
            out.flush().context("writing stdout")?;
        }
    }
    Ok(())
}
