//! `edgewatt dump`: every record as text or JSON lines, filtered by time and type.
//!
//! Wall times come from each segment's anchor, re-anchored at every clock-step event.
//! A segment whose header is damaged has no anchor: its records are printed with
//! `wall` null (`-` in text) until a clock-step event re-anchors, and a `--since` or
//! `--until` filter leaves them out. Corrupt or unknown frames are reported on stderr and
//! skipped.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use clap::ValueEnum;
use serde_json::Value;

use super::render::power_json;
use super::render::record_json;
use super::render::run_start_us;
use super::render::sample_json;
use super::render::text_line;
use super::time::parse_wall_us;
use super::Cli;
use crate::clock::Anchor;
use crate::record::Event;
use crate::record::EventKind;
use crate::record::Frame;
use crate::record::Record;
use crate::record::SampleDecoder;
use crate::store::list_segments;
use crate::store::Item;
use crate::store::SegmentReader;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DumpFormat {
    /// One line per record: time, type, key=value pairs.
    Text,
    /// One JSON object per line with a `type` field and the record's fields.
    Jsonl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordType {
    Sample,
    Event,
    Seal,
    Power,
    Run,
}

impl RecordType {
    const fn matches(self, type_name: &str) -> bool {
        matches!(
            (self, type_name.as_bytes()),
            (Self::Sample, b"sample")
                | (Self::Event, b"event")
                | (Self::Seal, b"seal")
                | (Self::Power, b"power")
                | (Self::Run, b"run")
        )
    }
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = DumpFormat::Text)]
    pub format: DumpFormat,
    /// Only these record types (repeat or comma-separate); default all.
    #[arg(long = "type", value_enum, value_delimiter = ',')]
    pub types: Vec<RecordType>,
    /// Only records at or after this wall time (Unix seconds or RFC 3339).
    #[arg(long, value_parser = parse_wall_us)]
    pub since: Option<i64>,
    /// Only records before this wall time (Unix seconds or RFC 3339).
    #[arg(long, value_parser = parse_wall_us)]
    pub until: Option<i64>,
    /// Read this one segment file instead of the state directory.
    #[arg(long, value_name = "FILE")]
    pub segment: Option<std::path::PathBuf>,
}

struct Filter<'a> {
    args: &'a DumpArgs,
}

impl Filter<'_> {
    /// Whether `v` passes; a record whose wall time is unknown passes no time filter.
    fn keeps(&self, v: &Value, wall_us: Option<i64>) -> bool {
        let t = v["type"].as_str().unwrap_or("");
        (self.args.types.is_empty() || self.args.types.iter().any(|r| r.matches(t)))
            && self
                .args
                .since
                .is_none_or(|s| wall_us.is_some_and(|w| w >= s))
            && self
                .args
                .until
                .is_none_or(|u| wall_us.is_some_and(|w| w < u))
    }
}

/// Expands one frame into JSON values with their wall times; with no anchor (damaged
/// header), their `wall` is null and their wall time `None`.
fn frame_values(
    frame: &Frame,
    known: &mut Option<Anchor>,
    samples: &mut SampleDecoder,
) -> Vec<(Value, Option<i64>)> {
    if let Record::Event(Event {
        mono_us,
        kind: EventKind::ClockStep { new_offset_us, .. },
    }) = &frame.record
    {
        *known = Some(Anchor {
            mono_us: *mono_us,
            wall_unix_us: *mono_us as i64 + new_offset_us,
        });
    }
    let Some(anchor) = known else {
        // Rendered against a placeholder anchor, then every wall time is cleared.
        let placeholder = Anchor {
            mono_us: 0,
            wall_unix_us: 0,
        };
        let mut values = anchored_values(frame, &placeholder, samples);
        for (v, wall) in &mut values {
            if let Some(w) = v.get_mut("wall") {
                *w = Value::Null;
            }
            *wall = None;
        }
        return values;
    };
    anchored_values(frame, anchor, samples)
}

fn anchored_values(
    frame: &Frame,
    anchor: &Anchor,
    samples: &mut SampleDecoder,
) -> Vec<(Value, Option<i64>)> {
    match &frame.record {
        Record::Samples(block) => match samples.decode(frame.seq, block) {
            Ok((layout, samples)) => samples
                .iter()
                .map(|s| {
                    let v = sample_json(frame.seq, &layout, s, anchor);
                    (v, Some(anchor.wall_of(s.mono_us)))
                })
                .collect(),
            Err(e) => {
                eprintln!("edgewatt: seq {}: sample block skipped: {e}", frame.seq);
                Vec::new()
            }
        },
        Record::Event(e) => {
            vec![(
                record_json(frame.seq, &frame.record, anchor),
                Some(anchor.wall_of(e.mono_us)),
            )]
        }
        Record::Seal(s) => {
            vec![(
                record_json(frame.seq, &frame.record, anchor),
                Some(anchor.wall_of(s.mono_us)),
            )]
        }
        Record::Run(run) => {
            let wall = run_start_us(run).map_or(anchor.wall_unix_us, |t| anchor.wall_of(t));
            vec![(record_json(frame.seq, &frame.record, anchor), Some(wall))]
        }
        Record::Power(block) => match block.decode() {
            Ok(readings) => readings
                .iter()
                .map(|r| {
                    let v = power_json(frame.seq, &block.label, r, anchor);
                    (v, Some(anchor.wall_of(r.mono_us)))
                })
                .collect(),
            Err(e) => {
                eprintln!("edgewatt: seq {}: power block skipped: {e}", frame.seq);
                Vec::new()
            }
        },
    }
}

fn dump_segment(path: &Path, filter: &Filter<'_>, out: &mut impl Write) -> anyhow::Result<()> {
    let reader = match SegmentReader::open(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("edgewatt: {e}; segment skipped");
            return Ok(());
        }
    };
    let mut anchor = reader.header().map(|h| h.anchor);
    if let Some(damage) = reader.header_damage() {
        eprintln!(
            "edgewatt: {}: {damage}; device, boot and wall times unknown \
             (until a clock step re-anchors), records still read",
            path.display()
        );
    }
    let mut samples = SampleDecoder::new();
    for item in reader.items() {
        match item {
            Item::Frame { frame, .. } => {
                for (v, wall_us) in frame_values(&frame, &mut anchor, &mut samples) {
                    if filter.keeps(&v, wall_us) {
                        match filter.args.format {
                            DumpFormat::Jsonl => writeln!(out, "{v}")?,
                            DumpFormat::Text => writeln!(out, "{}", text_line(&v))?,
                        }
                    }
                }
            }
            Item::Corrupt {
                offset,
                len,
                reason,
            } => eprintln!(
                "edgewatt: {}: {len} corrupt bytes at offset {offset} skipped ({reason:?})",
                path.display()
            ),
            Item::Unknown { offset, seq, .. } => eprintln!(
                "edgewatt: {}: frame at offset {offset} (seq {seq:?}) has a record type this \
                 edgewatt does not know (newer writer?); skipped",
                path.display()
            ),
        }
    }
    Ok(())
}

pub fn run(cli: &Cli, args: &DumpArgs) -> anyhow::Result<ExitCode> {
    let filter = Filter { args };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if let Some(seg) = &args.segment {
        dump_segment(seg, &filter, &mut out)?;
    } else {
        let cfg = super::load_config(cli)?;
        let segments = list_segments(&cfg.state_dir)
            .with_context(|| format!("cannot list segments in {}", cfg.state_dir.display()))?;
        for s in segments {
            dump_segment(&s.path, &filter, &mut out)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
