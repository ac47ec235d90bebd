//! `edgewatt dump`: every record as text or JSON lines, filtered by time and type.
//!
//! Records are read through [`crate::logread`], which decides their wall time (the
//! segment's anchor, re-anchored by clock steps; `null` while unknown) and what is skipped.
//! Each skip is reported on stderr with its file and offset as it is met. Exit status 1
//! when damaged data was skipped, unless `--allow-damaged`; an open segment's unterminated
//! last frame (a running daemon writing it) is not damage.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use clap::ValueEnum;

use super::damage::damage_status;
use super::damage::report_skip;
use super::render::entry_json;
use super::render::text_line;
use super::time::parse_wall_us;
use super::time::window_filter;
use super::Cli;
use crate::logread::Filter;
use crate::logread::LogItem;
use crate::logread::LogReader;
use crate::logread::LogSource;
use crate::logread::RecordKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DumpFormat {
    /// One line per record: time, type, key=value pairs.
    Text,
    /// One JSON object per line with a `type` field and the record's fields.
    Jsonl,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = DumpFormat::Text)]
    pub format: DumpFormat,
    /// Only these record types (repeat or comma-separate); default all.
    #[arg(long = "type", value_enum, value_delimiter = ',')]
    pub types: Vec<RecordKind>,
    /// Only records at or after this wall time (Unix seconds or RFC 3339).
    #[arg(long, value_parser = parse_wall_us)]
    pub since: Option<i64>,
    /// Only records before this wall time (Unix seconds or RFC 3339).
    #[arg(long, value_parser = parse_wall_us)]
    pub until: Option<i64>,
    /// Read this one segment file instead of the state directory.
    #[arg(long, value_name = "FILE")]
    pub segment: Option<PathBuf>,
    /// Exit 0 even when damaged data (corrupt frames, undecodable blocks, unreadable
    /// segments, damaged headers) was skipped; it is still reported on stderr.
    #[arg(long)]
    pub allow_damaged: bool,
}

pub fn run(cli: &Cli, args: &DumpArgs) -> anyhow::Result<ExitCode> {
    let source = match &args.segment {
        Some(seg) => {
            // A file that is not there is a wrong path (exit 2), not damaged data (exit 1).
            std::fs::metadata(seg).with_context(|| {
                format!(
                    "--segment {}: cannot read it: check the path",
                    seg.display()
                )
            })?;
            LogSource::segment(seg)
        }
        None => {
            let dir = super::load_config(cli)?.state_dir;
            super::damage::tell_misnamed("dump", &dir);
            LogSource::dir(dir)
        }
    };
    let filter = Filter {
        kinds: args.types.clone(),
        ..window_filter(args.since, args.until)?
    };
    let mut reader = LogReader::open(&source, filter)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for item in &mut reader {
        match item {
            LogItem::Entry(e) => {
                let v = entry_json(&e);
                match args.format {
                    DumpFormat::Jsonl => writeln!(out, "{v}")?,
                    DumpFormat::Text => writeln!(out, "{}", text_line(&v))?,
                }
            }
            LogItem::Skipped(skip) => {
                // In order with the records around it.
                out.flush()?;
                report_skip(&skip);
            }
            LogItem::Segment(_) => {}
        }
    }
    out.flush()?;
    Ok(damage_status(reader.damage(), args.allow_damaged))
}
