//! `edgewatt inspect`: per segment, its span, record counts, gaps, late ticks and what was
//! skipped. Read through [`crate::logread`]; gaps follow [`GapRule`] with its default
//! factor, the rule the derived values use. Exit status 1 when damaged data was skipped,
//! unless `--allow-damaged`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use clap::ValueEnum;
use serde_json::json;
use serde_json::Value;

use super::damage::damage_status;
use super::damage::report_skip;
use super::time::format_wall_us;
use super::Cli;
use crate::derive::GapRule;
use crate::logread::BlockKind;
use crate::logread::DamageCounts;
use crate::logread::Entry;
use crate::logread::Filter;
use crate::logread::LogItem;
use crate::logread::LogReader;
use crate::logread::LogSource;
use crate::logread::Payload;
use crate::logread::SegmentMeta;
use crate::logread::Skip;
use crate::logread::SkipKind;
use crate::logread::Wall;
use crate::record::EventKind;
use crate::store::SeqGap;

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
    /// Exit 0 even when damaged data (corrupt frames, undecodable blocks, unreadable
    /// segments, damaged headers) was found; it is still reported on stderr.
    #[arg(long)]
    pub allow_damaged: bool,
}

/// Running totals over one segment's entries and skips.
#[derive(Debug, Default)]
struct Tally {
    /// Offset of the last frame counted.
    last_frame: Option<u64>,
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
    first: Option<(u64, Wall)>,
    last: Option<(u64, Wall)>,
    gap_rule: Option<GapRule>,
    last_sample_us: Option<u64>,
    gaps: u64,
    largest_gap_us: u64,
    late_ticks: u64,
    missed_ticks: u64,
    damage: DamageCounts,
}

impl Tally {
    /// Counts an intact frame once (the samples of a block share it); true if it is new.
    fn frame(&mut self, offset: u64, seq: u64) -> bool {
        if self.last_frame == Some(offset) {
            return false;
        }
        self.last_frame = Some(offset);
        self.frames += 1;
        self.first_seq.get_or_insert(seq);
        self.last_seq = Some(seq);
        true
    }

    fn at(&mut self, mono_us: u64, wall: Wall) {
        if self.first.is_none_or(|(m, _)| mono_us < m) {
            self.first = Some((mono_us, wall));
        }
        if self.last.is_none_or(|(m, _)| mono_us > m) {
            self.last = Some((mono_us, wall));
        }
    }

    fn entry(&mut self, e: &Entry) {
        let new_frame = self.frame(e.origin.offset, e.origin.seq);
        match &e.payload {
            Payload::Sample { sample, .. } => {
                self.blocks += u64::from(new_frame);
                self.samples += 1;
                let t = sample.mono_us;
                if let (Some(prev), Some(rule)) = (self.last_sample_us, self.gap_rule) {
                    let dt = t.saturating_sub(prev);
                    if rule.too_long(dt) {
                        self.gaps += 1;
                        self.largest_gap_us = self.largest_gap_us.max(dt);
                    }
                }
                self.last_sample_us = Some(t);
                self.at(t, e.wall);
            }
            Payload::Power { reading, .. } => {
                self.power_readings += 1;
                self.at(reading.mono_us, e.wall);
            }
            Payload::Event(ev) => {
                self.events += 1;
                self.at(ev.mono_us, e.wall);
                match &ev.kind {
                    EventKind::Start { interval_us, .. } => {
                        self.gap_rule = GapRule::new(*interval_us, GapRule::DEFAULT_FACTOR).ok();
                        self.last_sample_us = None;
                    }
                    EventKind::SamplerLate { missed, .. } => {
                        self.late_ticks += 1;
                        self.missed_ticks += missed;
                    }
                    _ => {}
                }
            }
            Payload::Seal(s) => self.seal_reason = Some(format!("{:?}", s.reason)),
            Payload::Run(run) => {
                self.runs += 1;
                self.failed_runs += u64::from(!run.is_ok());
                if let Some(t) = e.mono_us {
                    self.at(t, e.wall);
                }
            }
        }
    }

    fn skip(&mut self, s: &Skip) {
        self.damage.add(s);
        if let SkipKind::Block { kind, .. } = s.kind {
            // An intact frame whose block did not decode.
            self.frame(s.offset, s.seq.unwrap_or(0));
            self.blocks += u64::from(kind == BlockKind::Sample);
        }
    }

    fn json(&self, m: &SegmentMeta) -> Value {
        let d = &self.damage;
        let h = m.header();
        let wall = |at: Option<(u64, Wall)>| at.and_then(|(_, w)| w.us()).map(format_wall_us);
        let span_s = match (self.first, self.last) {
            (Some((a, _)), Some((b, _))) => (b - a) as f64 / 1e6,
            _ => 0.0,
        };
        let per_sample = |bytes: u64| {
            if self.samples > 0 {
                bytes as f64 / self.samples as f64
            } else {
                0.0
            }
        };
        json!({
            "path": m.path.display().to_string(),
            "open": m.open,
            "bytes": m.len_bytes,
            "boot": m.boot,
            "header_ok": h.is_some(),
            "header_error": m.header.as_ref().err().map(ToString::to_string),
            "device_id": h.map(|h| &h.device_id),
            "boot_id": h.map(|h| &h.boot_id),
            "writer": h.map(|h| &h.writer),
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "frames": self.frames,
            "sample_blocks": self.blocks,
            "samples": self.samples,
            "events": self.events,
            "power_readings": self.power_readings,
            "runs": self.runs,
            "failed_runs": self.failed_runs,
            "first_wall": wall(self.first),
            "last_wall": wall(self.last),
            "span_s": span_s,
            "bytes_per_sample": per_sample(m.len_bytes),
            "gaps": self.gaps,
            "largest_gap_ms": self.largest_gap_us / 1000,
            "late_ticks": self.late_ticks,
            "missed_ticks": self.missed_ticks,
            "corrupt_frames": d.corrupt_frames,
            "corrupt_bytes": d.corrupt_bytes,
            "unknown_frames": d.unknown_frames,
            "undecodable_blocks": d.undecodable_blocks + d.lost_chain_blocks + d.newer_blocks,
            "lost_chain_blocks": d.lost_chain_blocks,
            "samples_skipped": d.samples_skipped,
            "truncated": d.truncated_segments > 0,
            "unterminated_tail_bytes": d.live_tail_bytes,
            "damaged": d.is_damaged(),
            "seal_reason": self.seal_reason,
        })
    }
}

/// A segment summary as a few lines of text.
fn summary_text(s: &Value) -> String {
    let name = Path::new(s["path"].as_str().unwrap_or("?"))
        .file_name()
        .map_or_else(|| "?".into(), |n| n.to_string_lossy().into_owned());
    if let Some(error) = s["error"].as_str() {
        return format!("{name}: unreadable: {error}");
    }
    let mut damage = s["header_error"].as_str().map_or(String::new(), |e| {
        if s["bytes"].as_u64() == Some(0) || e == crate::store::HeaderDamage::Foreign.to_string() {
            // Empty, or another kind of file: the error says what it is.
            format!("\n  {e}")
        } else if s["frames"].as_u64() == Some(0) {
            format!(
                "\n  header damaged: {e}, and no records in it: zero-filled or cut inside its \
                 header (a crash or power cut as it was opened, or a failed copy); it takes the \
                 boot of the segment before it (of the one after it when it is the first of its \
                 directory)"
            )
        } else {
            format!("\n  header damaged: {e}; device, boot and wall times unknown, frames read")
        }
    });
    if let Some([from, to]) = s["missing_seqs_before"].as_array().map(Vec::as_slice) {
        damage.push_str(&format!(
            "\n  seqs {from}–{to} before it are in no segment here (deleted, quarantined or not copied)"
        ));
    }
    let tail = match s["unterminated_tail_bytes"].as_u64() {
        Some(n) if n > 0 => format!(", unterminated tail {n} bytes (being written)"),
        _ => String::new(),
    };
    let state = match (s["open"].as_bool(), s["seal_reason"].as_str()) {
        (Some(true), _) => "open".to_string(),
        (_, Some(r)) => format!("sealed ({r})"),
        _ => "unsealed".to_string(),
    };
    let boot = match (s["boot"].as_u64(), s["boot_id"].as_str()) {
        (Some(n), Some(id)) => format!(", boot {n} ({id})"),
        (Some(n), None) => format!(", boot {n}"),
        _ => String::new(),
    };
    format!(
        "{name}: {state}, {} bytes, seq {}–{}, device {}{boot}\n  \
         span {} → {} ({:.1} s), {} samples in {} blocks, {} power readings, {} runs ({} failed), {} events, {:.1} bytes/sample\n  \
         gaps {} (largest {} ms), late ticks {} (missed {}), corrupt frames {} ({} bytes), \
         unknown frames {}, undecodable blocks {}{tail}{damage}",
        s["bytes"], s["first_seq"], s["last_seq"], s["device_id"].as_str().unwrap_or("?"),
        s["first_wall"].as_str().unwrap_or("-"), s["last_wall"].as_str().unwrap_or("-"),
        s["span_s"].as_f64().unwrap_or(0.0), s["samples"], s["sample_blocks"], s["power_readings"], s["runs"], s["failed_runs"], s["events"],
        s["bytes_per_sample"].as_f64().unwrap_or(0.0), s["gaps"], s["largest_gap_ms"],
        s["late_ticks"], s["missed_ticks"], s["corrupt_frames"], s["corrupt_bytes"],
        s["unknown_frames"], s["undecodable_blocks"],
    )
}

/// Summaries of every segment of `source`, in reading order, and what was skipped. Each
/// skip is reported on stderr as it is met.
pub fn inspect_source(source: &LogSource) -> anyhow::Result<(Vec<Value>, DamageCounts)> {
    let mut reader = LogReader::open(source, Filter::default())?;
    let mut out = Vec::new();
    let mut tally: Option<(Arc<SegmentMeta>, Tally)> = None;
    let done = |t: Option<(Arc<SegmentMeta>, Tally)>| t.map(|(m, t)| t.json(&m));
    for item in &mut reader {
        match item {
            LogItem::Segment(meta) => {
                // A segment of the boot before it (rotated, not restarted) has no `start`
                // event of its own: its gaps are told by the rule of the one before, and
                // the interval from that one's last sample is its first.
                let mut next = Tally::default();
                if let Some((_, t)) = tally.as_ref().filter(|(p, _)| p.boot == meta.boot) {
                    next.gap_rule = t.gap_rule;
                    next.last_sample_us = t.last_sample_us;
                }
                out.extend(done(tally.replace((meta, next))));
            }
            LogItem::Entry(e) => {
                if let Some((_, t)) = &mut tally {
                    t.entry(&e);
                }
            }
            LogItem::Skipped(s) => {
                report_skip(&s);
                match (&s.kind, &mut tally) {
                    (SkipKind::Unreadable { error }, _) => {
                        out.extend(done(tally.take()));
                        out.push(json!({
                            "path": s.path.display().to_string(),
                            "open": s.path.to_string_lossy().ends_with(crate::store::OPEN_SUFFIX),
                            "bytes": s.len, "header_ok": false, "error": error, "damaged": true,
                        }));
                    }
                    (_, Some((_, t))) => t.skip(&s),
                    (_, None) => {}
                }
            }
        }
    }
    out.extend(done(tally));
    mark_missing(&mut out);
    Ok((out, *reader.damage()))
}

/// Marks each summary whose segment's name starts past the seq after its predecessor's
/// seal (`missing_seqs_before`: the seqs in no segment listed: one deleted, quarantined
/// as `.broken`, or not uploaded), and says so on stderr. A segment that ends without a
/// seal is not compared: its lost tail is already told as damage.
fn mark_missing(summaries: &mut [Value]) {
    for i in 1..summaries.len() {
        let (before, this) = summaries.split_at_mut(i);
        let prev = &before[i - 1];
        let sealed_last = prev["seal_reason"]
            .is_string()
            .then(|| prev["last_seq"].as_u64())
            .flatten();
        let path = Path::new(this[0]["path"].as_str().unwrap_or(""));
        if let Some(gap) = sealed_last.and_then(|last| SeqGap::between(last, path)) {
            eprintln!("edgewatt: {gap}");
            this[0]["missing_seqs_before"] = json!([gap.from_seq, gap.to_seq]);
        }
    }
}

pub fn run(cli: &Cli, args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(cli)?;
    super::damage::tell_misnamed("inspect", &cfg.state_dir);
    let (summaries, damage) = inspect_source(&LogSource::dir(&cfg.state_dir))?;
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
    Ok(damage_status(&damage, args.allow_damaged))
}

#[cfg(test)]
mod tests;
