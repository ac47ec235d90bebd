//! The rows whose record is in one segment, read with the segments before it that hold what
//! they read: what a segment's uploaded runs file holds ([`crate::upload`]).
//!
//! The cache ([`super::cache`]) answers the same question for rows it has read
//! (`Segs::complete_from`, from each segment's latest time). Here the segments before are
//! not read yet: where to start is told from their headers (the monotonic time each was
//! opened at), so a segment is read only when a row needs it.

use std::io::Read as _;
use std::path::Path;
use std::path::PathBuf;

use super::read::ReachIn;
use super::CostLog;
use super::CostOptions;
use crate::logread::BlockSpan;
use crate::logread::Filter;
use crate::logread::LogError;
use crate::logread::LogIndex;
use crate::logread::LogSource;
use crate::store::SegmentReader;

/// The rows whose record is in the last of `files` (sealed segments of one directory, oldest
/// first), derived with as many of the segments before it as they read: back to the
/// earliest sample they read (and power reading, for an idle row) and to the plan lead-in a
/// run that does not name one takes, but at most `max_before` segments back. A row is then
/// the row of the whole log unless something it reads is further back than that, in a
/// segment no longer there, or not written yet (an idle row's power readings, written up to
/// [`super::cache::POWER_LAG_US`] late). Reads the last segment with the one before it;
/// when a row reads further back, again from the last segment opened before what it reads.
pub fn rows_of_last_segment(
    files: &[PathBuf],
    max_before: usize,
    opts: CostOptions,
) -> Result<CostLog, LogError> {
    let Some((last, before)) = files.split_last() else {
        return Ok(CostLog::default());
    };
    let oldest = before.len().saturating_sub(max_before);
    let mut from = before.len().saturating_sub(1).max(oldest);
    loop {
        let source = LogSource::Groups(vec![files[from..].to_vec()]);
        let (mut log, reach, index) = CostLog::read_reach(&source, Filter::default(), opts)?;
        let needed_us = needed_from(&index, &reach, last);
        if let (Some(t_us), true) = (needed_us, from > oldest) {
            from = opened_by(&files[oldest..from], last, t_us).map_or(from - 1, |k| oldest + k);
            continue;
        }
        let mut in_last = reach.iter().map(|(_, path)| path == last);
        log.rows.retain(|_| in_last.next().unwrap_or(false));
        return Ok(log);
    }
}

/// The earliest monotonic time a row of segment `last` (the last `index` holds) reads that
/// is not in what `index` read (0: a run whose plan lead-in is not known yet); `None` if
/// every row has what it reads: the first segment read is of another boot (the rows' boot
/// begins in what was read), or its first sample (and power reading, for a row that reads
/// readings, when any were read) is no later than where each row's reading starts.
fn needed_from(index: &LogIndex, reach: &[ReachIn], last: &Path) -> Option<u64> {
    let segments = index.segments();
    let (first, own) = (segments.first()?, segments.last()?);
    if first.boot != own.boot {
        return None;
    }
    let first_of = |blocks: &[BlockSpan]| {
        let first = blocks.iter().filter(|b| b.segment == 0);
        first.map(|b| b.first_mono_us).min()
    };
    let first_sample_us = first_of(index.sample_blocks());
    // A board without a meter: no reading anywhere to wait for.
    let first_power_us =
        first_of(index.power_blocks()).or_else(|| index.power_blocks().is_empty().then_some(0));
    let holds = |from_us: u64, first_us: Option<u64>| first_us.is_some_and(|t| t <= from_us);
    reach
        .iter()
        .filter(|(_, path)| path == last)
        .filter_map(|(r, _)| {
            if r.lead_in_unknown {
                return Some(0);
            }
            let span = r.span?;
            let held = holds(span.start_us, first_sample_us)
                && (!r.power || holds(span.start_us, first_power_us));
            (!held).then_some(span.start_us)
        })
        .min()
}

/// Of `earlier` (the segments before those read, oldest first), the index of the latest
/// opened no later than `t_us` on the clock of `last` (same device and boot), from its
/// header: what is timed from `t_us` on was written after it opened, so it is in it or
/// later. `None` when none was (the first of `earlier` that shares that clock is returned
/// then), or when `last`'s header cannot be read.
fn opened_by(earlier: &[PathBuf], last: &Path, t_us: u64) -> Option<usize> {
    // The header is the file's first frame: its first 64 KiB hold it.
    let clock = |path: &Path| {
        let mut head = Vec::new();
        let file = std::fs::File::open(path).ok()?;
        file.take(64 << 10).read_to_end(&mut head).ok()?;
        let reader = SegmentReader::from_bytes(path, head).ok()?;
        let h = reader.header()?;
        Some((h.device_id.clone(), h.boot_id.clone(), h.anchor.mono_us))
    };
    let (device, boot, _) = clock(last)?;
    let mut found = None;
    for (k, path) in earlier.iter().enumerate().rev() {
        match clock(path) {
            Some((d, b, opened_us)) if d == device && b == boot => {
                found = Some(k);
                if opened_us <= t_us {
                    break;
                }
            }
            // Another boot, or a header that says nothing: the segments after it.
            _ => break,
        }
    }
    found
}
