//! What the newest part of a log says: read through [`crate::logread`] one segment at a
//! time, newest first, and only as far back as needed (the last sample and power reading,
//! the daemon session's start, each plan's last run). Sample and power blocks are decoded
//! only until the newest sample and reading are found, so a week of log costs a scan of
//! frames, not a decode.

use std::collections::BTreeMap;
use std::path::Path;
use std::path::PathBuf;

use crate::logread::DamageCounts;
use crate::logread::Entry;
use crate::logread::Filter;
use crate::logread::LogError;
use crate::logread::LogItem;
use crate::logread::LogReader;
use crate::logread::LogSource;
use crate::logread::Payload;
use crate::logread::RecordKind;
use crate::record::EventKind;
use crate::record::Run;

/// A segment file of the state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFile {
    pub path: PathBuf,
    pub len_bytes: u64,
    pub open: bool,
}

/// An event of the daemon session, with its wall time (Unix µs; `None` if unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedEvent {
    pub wall_us: Option<i64>,
    pub kind: EventKind,
}

/// A run with its wall time.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedRun {
    pub wall_us: Option<i64>,
    pub run: Run,
}

/// What the scan found, newest first where it is a list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scan {
    /// Every segment of the directory, oldest first.
    pub segments: Vec<SegmentFile>,
    pub last_sample_us: Option<i64>,
    /// The newest power reading's wall time and its source's label.
    pub last_power: Option<(i64, String)>,
    /// The last daemon session's `Start` event; `None` if none was found.
    pub session_start: Option<TimedEvent>,
    /// The session's effective configuration (its `Config` event), as TOML.
    pub session_config: Option<String>,
    /// Events of the last session, newest first: stop, power faults and recoveries, absent
    /// sensors, store errors, late ticks, plan starts.
    pub events: Vec<TimedEvent>,
    /// The newest run, and the newest of each plan by name.
    pub last_run: Option<TimedRun>,
    pub plan_runs: BTreeMap<String, TimedRun>,
    /// What the reader skipped in the segments read.
    pub damage: DamageCounts,
}

/// The events a status looks at.
fn wanted(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Stop { .. }
            | EventKind::PowerFault { .. }
            | EventKind::PowerRecovered { .. }
            | EventKind::SensorAbsent { .. }
            | EventKind::StoreError { .. }
            | EventKind::SamplerLate { .. }
            | EventKind::PlanStart { .. }
    )
}

/// What one segment holds, in file order.
#[derive(Default)]
struct Segment {
    /// Its header's wall time (when it was created), Unix µs.
    created_us: Option<i64>,
    last_sample_us: Option<i64>,
    last_power: Option<(i64, String)>,
    /// Index in `events` of the last `Start`.
    start: Option<usize>,
    config: Option<String>,
    events: Vec<TimedEvent>,
    runs: Vec<TimedRun>,
}

impl Segment {
    fn add(&mut self, e: Entry) {
        let wall_us = e.wall.us();
        match e.payload {
            Payload::Sample { .. } => self.last_sample_us = wall_us.or(self.last_sample_us),
            Payload::Power { label, .. } => {
                if let Some(w) = wall_us {
                    self.last_power = Some((w, label.to_string()));
                }
            }
            Payload::Event(ev) => match ev.kind {
                EventKind::Start { .. } => {
                    self.start = Some(self.events.len());
                    self.config = None;
                    self.events.push(TimedEvent {
                        wall_us,
                        kind: ev.kind,
                    });
                }
                EventKind::Config { toml } => self.config = Some(toml),
                kind if wanted(&kind) => self.events.push(TimedEvent { wall_us, kind }),
                _ => {}
            },
            Payload::Run(run) => self.runs.push(TimedRun { wall_us, run: *run }),
            Payload::Seal(_) => {}
        }
    }
}

/// Reads one segment file with these kinds of record.
fn read_segment(path: &Path, kinds: &[RecordKind], damage: &mut DamageCounts) -> Segment {
    let mut seg = Segment::default();
    let source = LogSource::segment(path);
    let Ok(reader) = LogReader::open(&source, Filter::kinds(kinds)) else {
        return seg;
    };
    for item in reader {
        match item {
            LogItem::Segment(meta) => {
                seg.created_us = meta.header().map(|h| h.anchor.wall_unix_us);
            }
            LogItem::Entry(e) => seg.add(e),
            LogItem::Skipped(skip) => damage.add(&skip),
        }
    }
    seg
}

/// Scans `dir`'s log from its newest segment back. `plans_since_us`: the oldest wall time
/// (Unix µs) a plan's last run can be at (its last start in `schedule.json`): older
/// segments are not read for runs.
pub fn scan(dir: &Path, plans_since_us: Option<i64>) -> Result<Scan, LogError> {
    let mut scan = Scan {
        segments: LogSource::dir(dir)
            .segments()?
            .into_iter()
            .map(|s| SegmentFile {
                path: s.path,
                len_bytes: s.len_bytes,
                open: s.open,
            })
            .collect(),
        ..Scan::default()
    };
    let mut in_session = true;
    for file in scan.segments.clone().iter().rev() {
        let need_blocks = scan.last_sample_us.is_none() || scan.last_power.is_none();
        let mut kinds = vec![RecordKind::Event, RecordKind::Run];
        if need_blocks && in_session {
            kinds.extend([RecordKind::Sample, RecordKind::Power]);
        }
        let seg = read_segment(&file.path, &kinds, &mut scan.damage);
        let created_us = seg.created_us;
        scan.merge(seg, &mut in_session);
        let runs_done = match (plans_since_us, created_us) {
            (Some(since), Some(first)) => first < since,
            (None, _) => true,
            (Some(_), None) => false,
        };
        if !in_session && runs_done && scan.last_sample_us.is_some() {
            break;
        }
    }
    Ok(scan)
}

impl Scan {
    /// Adds an older segment's findings to those of the newer ones already read.
    fn merge(&mut self, seg: Segment, in_session: &mut bool) {
        if *in_session {
            self.last_sample_us = self.last_sample_us.or(seg.last_sample_us);
            self.last_power = self.last_power.take().or(seg.last_power);
            let from = seg.start.unwrap_or(0);
            self.events.extend(seg.events[from..].iter().rev().cloned());
            if let Some(start) = seg.start {
                self.session_start = Some(seg.events[start].clone());
                self.session_config = seg.config;
                *in_session = false;
            }
        }
        for r in seg.runs.into_iter().rev() {
            if self.last_run.is_none() {
                self.last_run = Some(r.clone());
            }
            if !r.run.plan.is_empty() {
                self.plan_runs.entry(r.run.plan.clone()).or_insert(r);
            }
        }
    }
}
