//! What the cache keeps of each segment, and the two questions it answers with it: is a
//! row derived from the segments `from..` the row of the whole log ([`Segs::complete`]),
//! and will a row stay as it is whatever is appended to the log ([`Segs::is_final`]).
//!
//! Both rest on what the stream of rows already relies on ([`super::super::stream`]): a
//! row reads the samples (and an idle row the power readings) of its boot within one span
//! of monotonic time, and a boot's samples are written in time order. Boots are told apart
//! as [`LogIndex`] does (`logread::boots`): consecutive segments of one device, boot id and
//! a non-decreasing anchor. A segment whose header is unknown (damaged, or unreadable) is
//! taken to continue the boot before it, which only ever makes a row look less complete or
//! less final than it is.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde::Serialize;

use super::super::read::Reach;
use crate::logread::LogIndex;

/// How late after its time the daemon may write a power reading: twice the longest
/// `store.fsync_interval_ms` (600 s), the interval at which it hands the store the
/// readings it has collected. An idle row's energy is final once the log holds anything of
/// its boot this far past the row's window. (Samples need no such margin: a later sample
/// is proof.)
pub const POWER_LAG_US: u64 = 1_200_000_000;

/// A segment file as listed: a cached segment is used only while it is the same file
/// (the same inode, length, modification and status-change times: a file replaced, or
/// whose permissions changed, is not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub name: String,
    pub len_bytes: u64,
    /// Modification and status-change times, ns since the Unix epoch.
    pub mtime_ns: i128,
    pub ctime_ns: i128,
    pub dev: u64,
    pub ino: u64,
    pub open: bool,
    pub first_seq: u64,
}

impl Stamp {
    /// The stamp of `path` now; `None` if it cannot be read (it is then read, not cached).
    pub fn of(path: &Path, open: bool, first_seq: u64) -> Option<Self> {
        use std::os::unix::fs::MetadataExt as _;
        let meta = std::fs::metadata(path).ok()?;
        let mtime = meta.modified().ok()?;
        let mtime_ns = match mtime.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        Some(Self {
            name: path.file_name()?.to_str()?.to_owned(),
            len_bytes: meta.len(),
            mtime_ns,
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            dev: meta.dev(),
            ino: meta.ino(),
            open,
            first_seq,
        })
    }
}

/// The clock a segment's header names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub device_id: String,
    pub boot_id: String,
    pub anchor_mono_us: u64,
}

/// What the cache keeps of one segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seg {
    pub stamp: Stamp,
    /// It could not be read (a permission, an I/O error): it is read again next time, and
    /// nothing from it on is kept.
    pub unreadable: bool,
    /// `None`: its header is damaged, or it could not be read.
    pub clock: Option<Clock>,
    /// The latest monotonic time of anything in it (samples, readings, events, runs).
    pub max_mono_us: Option<u64>,
    /// The latest monotonic time of a sample in it.
    pub max_sample_mono_us: Option<u64>,
}

impl Seg {
    /// A segment with nothing known of it but its stamp.
    pub const fn unknown(stamp: Stamp) -> Self {
        Self {
            stamp,
            unreadable: false,
            clock: None,
            max_mono_us: None,
            max_sample_mono_us: None,
        }
    }
}

/// Sets what `index` says of `segs` (matched by file name): each one's clock and the
/// latest times in it; nothing but its stamp for one it did not read.
pub fn fill_from_index(segs: &mut [Seg], index: &LogIndex) {
    for s in segs.iter_mut() {
        *s = Seg::unknown(s.stamp.clone());
    }
    let by_name: HashMap<&str, usize> = segs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.stamp.name.as_str(), i))
        .collect();
    let at: Vec<Option<usize>> = index
        .segments()
        .iter()
        .map(|m| {
            let name = m.path.file_name()?.to_str()?;
            by_name.get(name).copied()
        })
        .collect();
    let by_ptr: HashMap<*const crate::logread::SegmentMeta, Option<usize>> = index
        .segments()
        .iter()
        .zip(&at)
        .map(|(m, i)| (Arc::as_ptr(m), *i))
        .collect();
    for (m, i) in index.segments().iter().zip(&at) {
        if let Some(i) = i {
            segs[*i].clock = m.header().map(|h| Clock {
                device_id: h.device_id.clone(),
                boot_id: h.boot_id.clone(),
                anchor_mono_us: h.anchor.mono_us,
            });
        }
    }
    let mut later = |i: Option<usize>, mono_us: u64, sample: bool| {
        let Some(s) = i.map(|i| &mut segs[i]) else {
            return;
        };
        s.max_mono_us = s.max_mono_us.max(Some(mono_us));
        if sample {
            s.max_sample_mono_us = s.max_sample_mono_us.max(Some(mono_us));
        }
    };
    for b in index.sample_blocks() {
        later(at.get(b.segment).copied().flatten(), b.last_mono_us, true);
    }
    for b in index.power_blocks() {
        later(at.get(b.segment).copied().flatten(), b.last_mono_us, false);
    }
    for e in index.records() {
        let i = by_ptr
            .get(&Arc::as_ptr(&e.origin.segment))
            .copied()
            .flatten();
        let run_end = e.run().and_then(|r| r.phases.last()).map(|p| p.mono_us);
        for mono_us in [e.mono_us, run_end].into_iter().flatten() {
            later(i, mono_us, false);
        }
    }
}

/// How many segments from the first are sealed and were read: what a cache may keep.
pub fn kept(segs: &[Seg]) -> usize {
    segs.iter()
        .take_while(|s| !s.stamp.open && !s.unreadable)
        .count()
}

/// The segments of a log, in reading order, and how late a power reading may be written
/// ([`POWER_LAG_US`]).
pub struct Segs<'a> {
    pub segs: &'a [Seg],
    pub power_lag_us: u64,
}

impl Segs<'_> {
    /// Whether segment `i` may continue the boot of segment `i - 1` (see the module doc).
    fn linked(&self, i: usize) -> bool {
        let (Some(a), Some(b)) = (&self.segs[i - 1].clock, &self.segs[i].clock) else {
            return true;
        };
        a.device_id == b.device_id && a.boot_id == b.boot_id && b.anchor_mono_us >= a.anchor_mono_us
    }

    /// The first segment of the boot segment `i` is in.
    fn boot_start(&self, i: usize) -> usize {
        let mut m = i;
        while m > 0 && self.linked(m) {
            m -= 1;
        }
        m
    }

    /// Where to start reading so that the row of segment `seg`, read as `reach` from the
    /// segments `from..`, is the row of the whole log: `from` itself if it already is.
    pub fn complete_from(&self, from: usize, seg: usize, reach: &Reach) -> usize {
        let start = self.boot_start(seg);
        if start >= from {
            return from;
        }
        if reach.lead_in_unknown {
            return start;
        }
        let Some(span) = reach.span else {
            return from;
        };
        // The boot's segments before `from` whose frames all end before the span starts
        // hold nothing the row reads.
        let mut m = start;
        let mut latest_us = None;
        while m < from {
            latest_us = latest_us.max(self.segs[m].max_mono_us);
            if latest_us.is_some_and(|t| t >= span.start_us) {
                break;
            }
            m += 1;
        }
        m
    }

    /// Whether the row of segment `seg` that read `reach` stays as it is whatever is
    /// appended to the log: the segments `seg..sealed` hold a later sample of its boot
    /// (and, for a row that reads power readings, anything of its boot `power_lag_us`
    /// later), or a later boot.
    pub fn is_final(&self, sealed: usize, seg: usize, reach: &Reach) -> bool {
        if seg >= sealed {
            return false;
        }
        let Some(span) = reach.span else {
            return true;
        };
        let mut sample_us = None;
        let mut any_us = None;
        for m in self.boot_start(seg)..sealed {
            if m > seg && !self.linked(m) {
                return true;
            }
            sample_us = sample_us.max(self.segs[m].max_sample_mono_us);
            any_us = any_us.max(self.segs[m].max_mono_us);
        }
        let samples_done = sample_us.is_some_and(|t| t > span.end_us);
        let power_done = !reach.power
            || any_us.is_some_and(|t| t > span.end_us.saturating_add(self.power_lag_us));
        samples_done && power_done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::Window;

    /// A sealed segment of `boot` (`None`: header unknown) whose frames end at `max_s` and
    /// samples at `sample_s`, seconds.
    fn seg(boot: Option<&str>, anchor_s: u64, max_s: u64, sample_s: u64) -> Seg {
        Seg {
            unreadable: false,
            stamp: Stamp {
                name: format!("{anchor_s}.ewlog"),
                len_bytes: 1,
                mtime_ns: 0,
                ctime_ns: 0,
                dev: 0,
                ino: 0,
                open: false,
                first_seq: anchor_s,
            },
            clock: boot.map(|b| Clock {
                device_id: "pi".into(),
                boot_id: b.into(),
                anchor_mono_us: anchor_s * 1_000_000,
            }),
            max_mono_us: Some(max_s * 1_000_000),
            max_sample_mono_us: Some(sample_s * 1_000_000),
        }
    }

    fn reach(from_s: u64, to_s: u64, power: bool) -> Reach {
        Reach {
            span: Some(Window::spanning(from_s * 1_000_000, to_s * 1_000_000)),
            power,
            lead_in_unknown: false,
        }
    }

    const LAG_US: u64 = 30_000_000;

    fn segs(segs: &[Seg]) -> Segs<'_> {
        Segs {
            segs,
            power_lag_us: LAG_US,
        }
    }

    #[test]
    fn a_row_is_final_once_a_later_sample_or_a_later_boot_is_sealed() {
        let log = [
            seg(Some("a"), 0, 60, 59),
            seg(Some("a"), 60, 120, 119),
            seg(Some("b"), 0, 30, 30),
        ];
        let s = segs(&log);
        // Samples up to 59 s in the first segment: a row read to 50 s is final there.
        assert!(s.is_final(1, 0, &reach(40, 50, false)));
        // A row read to 59.5 s needs the next segment's samples.
        let late = Reach {
            span: Some(Window::spanning(40_000_000, 59_500_000)),
            ..reach(0, 0, false)
        };
        assert!(!s.is_final(1, 0, &late));
        assert!(s.is_final(2, 0, &late));
        // Power readings: final only `power_lag_us` later.
        assert!(!s.is_final(2, 0, &reach(40, 100, true)));
        assert!(s.is_final(2, 0, &reach(40, 89, true)));
        // A later boot ends the boot: nothing more can come.
        assert!(!s.is_final(2, 1, &reach(100, 150, true)));
        assert!(s.is_final(3, 1, &reach(100, 150, true)));
        // Never for a segment not sealed yet; always for a row that reads nothing.
        assert!(!s.is_final(1, 1, &reach(0, 1, false)));
        let nothing = Reach {
            span: None,
            ..reach(0, 0, false)
        };
        assert!(s.is_final(1, 0, &nothing));
    }

    #[test]
    fn a_segment_whose_header_is_unknown_does_not_end_a_boot() {
        let log = [
            seg(Some("a"), 0, 60, 59),
            seg(None, 60, 61, 61),
            seg(Some("a"), 120, 180, 179),
        ];
        let s = segs(&log);
        assert!(!s.is_final(2, 0, &reach(100, 150, true)));
        assert!(s.is_final(3, 0, &reach(40, 150, false)));
        // ... nor starts one: a row of the third segment may read the first.
        assert_eq!(s.complete_from(2, 2, &reach(50, 130, false)), 0);
    }

    #[test]
    fn the_reading_starts_where_a_row_of_the_boot_reads() {
        let log = [
            seg(Some("b"), 0, 30, 30),
            seg(Some("a"), 0, 60, 59),
            seg(Some("a"), 60, 120, 119),
            seg(Some("a"), 120, 180, 179),
        ];
        let s = segs(&log);
        // Reading from the last segment: a row reading from 130 s needs nothing earlier.
        assert_eq!(s.complete_from(3, 3, &reach(130, 140, false)), 3);
        // From 110 s: the segment before; from 10 s: the boot's first segment, not the
        // other boot's before it.
        assert_eq!(s.complete_from(3, 3, &reach(110, 140, false)), 2);
        assert_eq!(s.complete_from(3, 3, &reach(10, 140, false)), 1);
        // A run that does not name its lead-in, none found: from the boot's start.
        let unknown = Reach {
            lead_in_unknown: true,
            ..reach(130, 140, false)
        };
        assert_eq!(s.complete_from(3, 3, &unknown), 1);
        // The reading already starts at the boot's start: complete.
        assert_eq!(s.complete_from(1, 3, &unknown), 1);
        // A boot that starts in what is read needs nothing before it.
        assert_eq!(s.complete_from(1, 1, &reach(0, 5, false)), 1);
    }
}
