//! `edgewatt inspect`: per segment, its span, record counts, gaps, late ticks and corrupt frames.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use clap::ValueEnum;
use serde_json::json;
use serde_json::Value;

use super::time::format_wall_us;
use super::Cli;
use crate::record::EventKind;
use crate::record::Record;
use crate::record::SampleDecoder;
use crate::store::list_segments;
use crate::store::Item;
use crate::store::SegmentInfo;
use crate::store::SegmentReader;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    Text,
    /// One JSON object per segment and line.
    Json,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = InspectFormat::Text)]
    pub format: InspectFormat,
    /// A gap is an interval between samples longer than this many nominal tick intervals.
    #[arg(long, default_value_t = 1.5)]
    pub gap_factor: f64,
}

/// Running totals over one segment's frames.
#[derive(Debug, Default)]
struct Tally {
    frames: u64,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
    blocks: u64,
    samples: u64,
    power_readings: u64,
    runs: u64,
    failed_runs: u64,
    events: u64,
    seal_reason: Option<String>,
    first_mono_us: Option<u64>,
    last_mono_us: Option<u64>,
    interval_us: Option<u64>,
    last_sample_us: Option<u64>,
    gaps: u64,
    largest_gap_us: u64,
    late_ticks: u64,
    missed_ticks: u64,
    corrupt_frames: u64,
    corrupt_bytes: u64,
    unknown_frames: u64,
    bad_blocks: u64,
    decoder: SampleDecoder,
}

impl Tally {
    fn at(&mut self, mono_us: u64) {
        self.first_mono_us = Some(self.first_mono_us.map_or(mono_us, |m| m.min(mono_us)));
        self.last_mono_us = Some(self.last_mono_us.map_or(mono_us, |m| m.max(mono_us)));
    }

    fn sample_at(&mut self, mono_us: u64, gap_factor: f64) {
        if let (Some(prev), Some(interval)) = (self.last_sample_us, self.interval_us) {
            let dt = mono_us.saturating_sub(prev);
            if dt as f64 > gap_factor * interval as f64 {
                self.gaps += 1;
                self.largest_gap_us = self.largest_gap_us.max(dt);
            }
        }
        self.last_sample_us = Some(mono_us);
        self.at(mono_us);
    }

    fn record(&mut self, seq: u64, rec: &Record, gap_factor: f64) {
        match rec {
            Record::Samples(b) => {
                self.blocks += 1;
                match self.decoder.decode(seq, b) {
                    Ok((_, samples)) => {
                        self.samples += samples.len() as u64;
                        for s in &samples {
                            self.sample_at(s.mono_us, gap_factor);
                        }
                    }
                    Err(_) => self.bad_blocks += 1,
                }
            }
            Record::Event(e) => {
                self.events += 1;
                self.at(e.mono_us);
                match &e.kind {
                    EventKind::Start { interval_us, .. } => {
                        self.interval_us = Some(*interval_us);
                        self.last_sample_us = None;
                    }
                    EventKind::SamplerLate { missed, .. } => {
                        self.late_ticks += 1;
                        self.missed_ticks += missed;
                    }
                    _ => {}
                }
            }
            Record::Seal(s) => self.seal_reason = Some(format!("{:?}", s.reason)),
            Record::Run(run) => {
                self.runs += 1;
                self.failed_runs += u64::from(!run.is_ok());
                if let Some(m) = run.phases.last() {
                    self.at(m.mono_us);
                }
            }
            Record::Power(b) => match b.decode() {
                Ok(readings) => {
                    self.power_readings += readings.len() as u64;
                    if let (Some(a), Some(z)) = (readings.first(), readings.last()) {
                        self.at(a.mono_us);
                        self.at(z.mono_us);
                    }
                }
                Err(_) => self.bad_blocks += 1,
            },
        }
    }
}

fn inspect_segment(info: &SegmentInfo, gap_factor: f64) -> Value {
    let reader = match SegmentReader::open(&info.path) {
        Ok(r) => r,
        Err(e) => {
            return json!({
                "path": info.path.display().to_string(), "open": info.open,
                "bytes": info.len_bytes, "header_ok": false, "error": e.to_string(),
            })
        }
    };
    let mut t = Tally::default();
    for item in reader.items() {
        match item {
            Item::Frame { frame, .. } => {
                t.frames += 1;
                t.first_seq.get_or_insert(frame.seq);
                t.last_seq = Some(frame.seq);
                t.record(frame.seq, &frame.record, gap_factor);
            }
            Item::Corrupt { len, .. } => {
                t.corrupt_frames += 1;
                t.corrupt_bytes += len;
            }
            Item::Unknown { .. } => t.unknown_frames += 1,
        }
    }
    let h = reader.header();
    // Without the header there is no anchor: wall times stay unknown (null).
    let wall = |m: Option<u64>| m.and_then(|m| h.map(|h| format_wall_us(h.anchor.wall_of(m))));
    let span_s = match (t.first_mono_us, t.last_mono_us) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e6,
        _ => 0.0,
    };
    json!({
        "path": info.path.display().to_string(),
        "open": info.open,
        "bytes": reader.len_bytes(),
        "header_ok": h.is_some(),
        "header_error": reader.header_damage().map(|d| d.to_string()),
        "device_id": h.map(|h| &h.device_id),
        "boot_id": h.map(|h| &h.boot_id),
        "writer": h.map(|h| &h.writer),
        "first_seq": t.first_seq,
        "last_seq": t.last_seq,
        "frames": t.frames,
        "sample_blocks": t.blocks,
        "samples": t.samples,
        "events": t.events,
        "power_readings": t.power_readings,
        "runs": t.runs,
        "failed_runs": t.failed_runs,
        "first_wall": wall(t.first_mono_us),
        "last_wall": wall(t.last_mono_us),
        "span_s": span_s,
        "bytes_per_sample": if t.samples > 0 { reader.len_bytes() as f64 / t.samples as f64 } else { 0.0 },
        "gaps": t.gaps,
        "largest_gap_ms": t.largest_gap_us / 1000,
        "late_ticks": t.late_ticks,
        "missed_ticks": t.missed_ticks,
        "corrupt_frames": t.corrupt_frames,
        "corrupt_bytes": t.corrupt_bytes,
        "unknown_frames": t.unknown_frames,
        "undecodable_blocks": t.bad_blocks,
        "seal_reason": t.seal_reason,
    })
}

/// A segment summary as a few lines of text.
fn summary_text(s: &Value) -> String {
    let name = Path::new(s["path"].as_str().unwrap_or("?"))
        .file_name()
        .map_or_else(|| "?".into(), |n| n.to_string_lossy().into_owned());
    if let Some(error) = s["error"].as_str() {
        return format!("{name}: unreadable: {error}");
    }
    let damage = s["header_error"].as_str().map_or(String::new(), |e| {
        format!("\n  header damaged: {e}; device, boot and wall times unknown, frames read")
    });
    let state = match (s["open"].as_bool(), s["seal_reason"].as_str()) {
        (Some(true), _) => "open".to_string(),
        (_, Some(r)) => format!("sealed ({r})"),
        _ => "unsealed".to_string(),
    };
    format!(
        "{name}: {state}, {} bytes, seq {}–{}, device {}\n  \
         span {} → {} ({:.1} s), {} samples in {} blocks, {} power readings, {} runs ({} failed), {} events, {:.1} bytes/sample\n  \
         gaps {} (largest {} ms), late ticks {} (missed {}), corrupt frames {} ({} bytes), \
         unknown frames {}, undecodable blocks {}{damage}",
        s["bytes"], s["first_seq"], s["last_seq"], s["device_id"].as_str().unwrap_or("?"),
        s["first_wall"].as_str().unwrap_or("-"), s["last_wall"].as_str().unwrap_or("-"),
        s["span_s"].as_f64().unwrap_or(0.0), s["samples"], s["sample_blocks"], s["power_readings"], s["runs"], s["failed_runs"], s["events"],
        s["bytes_per_sample"].as_f64().unwrap_or(0.0), s["gaps"], s["largest_gap_ms"],
        s["late_ticks"], s["missed_ticks"], s["corrupt_frames"], s["corrupt_bytes"],
        s["unknown_frames"], s["undecodable_blocks"],
    )
}

/// Summaries of every segment in `dir`, oldest first.
pub fn inspect_dir(dir: &Path, gap_factor: f64) -> anyhow::Result<Vec<Value>> {
    let segments =
        list_segments(dir).with_context(|| format!("cannot list segments in {}", dir.display()))?;
    Ok(segments
        .iter()
        .map(|s| inspect_segment(s, gap_factor))
        .collect())
}

pub fn run(cli: &Cli, args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(cli)?;
    let summaries = inspect_dir(&cfg.state_dir, args.gap_factor)?;
    if summaries.is_empty() {
        eprintln!("no segments in {}", cfg.state_dir.display());
    }
    let mut out = std::io::stdout().lock();
    for s in &summaries {
        match args.format {
            InspectFormat::Json => writeln!(out, "{s}")?,
            InspectFormat::Text => writeln!(out, "{}", summary_text(s))?,
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
