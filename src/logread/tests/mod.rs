//! Unit tests of the log layer on synthetic segments written by the real store writer.

mod damage;
mod index;
mod mutation;
mod reader;

use std::path::Path;
use std::path::PathBuf;

use super::*;
use crate::clock::Anchor;
use crate::power::PowerReading;
use crate::power::SourceId;
use crate::record::Event;
use crate::record::EventKind;
use crate::record::PowerBlockBuilder;
use crate::record::Record;
use crate::record::RunPhase;
use crate::record::SampleBlockBuilder;
use crate::record::SealReason;
use crate::sampler::Sample;
use crate::sampler::SampleLayout;
use crate::store::SegmentIdent;
use crate::store::Writer;

const WALL0: i64 = 1_700_000_000_000_000;
const S: u64 = 1_000_000;

fn ident(device: &str, boot: &str) -> SegmentIdent {
    SegmentIdent {
        device_id: device.into(),
        boot_id: boot.into(),
        host: "pi".into(),
    }
}

/// The anchor of a segment created at `mono_us`: wall = WALL0 + mono_us.
fn anchor(mono_us: u64) -> Anchor {
    Anchor {
        mono_us,
        wall_unix_us: WALL0 + mono_us as i64,
    }
}

/// One daemon session: a segment of `device`/`boot` created at `mono_us`, `records`
/// appended, sealed at the time of the last one. Returns the sealed segment's path.
fn session(dir: &Path, device: &str, boot: &str, mono_us: u64, records: &[Record]) -> PathBuf {
    let opts = crate::config::StoreConfig::default().options(dir.to_path_buf());
    let (mut w, _) = Writer::open(opts, ident(device, boot), anchor(mono_us)).unwrap();
    for r in records {
        w.append(r).unwrap();
    }
    w.close(SealReason::Shutdown, mono_us + 100 * S).unwrap()
}

fn event(mono_us: u64, tick: u64) -> Record {
    Record::Event(Event {
        mono_us,
        kind: EventKind::SamplerLate {
            tick,
            late_us: 1,
            missed: 0,
        },
    })
}

fn clock_step(mono_us: u64, new_offset_us: i64) -> Record {
    Record::Event(Event {
        mono_us,
        kind: EventKind::ClockStep {
            old_offset_us: 0,
            new_offset_us,
            wall_unix_us: mono_us as i64 + new_offset_us,
        },
    })
}

fn layout() -> SampleLayout {
    crate::synth::pi5_layout()
}

/// `n` samples every 100 ms from `start_us`.
fn samples(start_us: u64, n: usize, seed: u64) -> Vec<Sample> {
    let mut out = crate::synth::trace(&layout(), n, seed);
    for (i, s) in out.iter_mut().enumerate() {
        s.mono_us = start_us + i as u64 * 100_000;
    }
    out
}

/// A key block of these samples.
fn key_block(samples: &[Sample]) -> Record {
    let mut b = SampleBlockBuilder::new(layout());
    for s in samples {
        b.push(s).unwrap();
    }
    Record::Samples(b.finish().unwrap())
}

fn power(mono_us: &[u64]) -> Record {
    let mut b = PowerBlockBuilder::new(SourceId::Pmic, "pmic rails", 100_000);
    for &t in mono_us {
        b.push(&PowerReading::power_only(
            t,
            SourceId::Pmic,
            4_000_000 + t as i64 % 1000,
        ))
        .unwrap();
    }
    Record::Power(b.finish().unwrap())
}

fn run(id: u64, start_us: u64, end_us: u64) -> Record {
    let mut r = crate::record::Run::for_test(
        9,
        16,
        8,
        &[
            (RunPhase::Load, start_us),
            (RunPhase::Prefill, start_us + 100_000),
            (RunPhase::Done, end_us),
        ],
    );
    r.run_id = id;
    r.label = format!("llm/run{id}");
    Record::Run(Box::new(r))
}

/// Every item of `source`, and the damage counts.
fn read_all(source: &LogSource, filter: Filter) -> (Vec<LogItem>, DamageCounts) {
    let mut r = LogReader::open(source, filter).unwrap();
    let items: Vec<LogItem> = r.by_ref().collect();
    (items, *r.damage())
}

fn entries(items: &[LogItem]) -> Vec<&Entry> {
    items
        .iter()
        .filter_map(|i| match i {
            LogItem::Entry(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn skips(items: &[LogItem]) -> Vec<&Skip> {
    items
        .iter()
        .filter_map(|i| match i {
            LogItem::Skipped(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn segments(items: &[LogItem]) -> Vec<&SegmentMeta> {
    items
        .iter()
        .filter_map(|i| match i {
            LogItem::Segment(m) => Some(m.as_ref()),
            _ => None,
        })
        .collect()
}

/// Byte offsets and lengths of the frames of a segment file, in order.
fn frame_spans(path: &Path) -> Vec<(u64, u64)> {
    crate::store::SegmentReader::open(path)
        .unwrap()
        .items()
        .map(|i| (i.offset(), i.end() - i.offset()))
        .collect()
}
