//! The rows whose record is in one segment, read with the segments before it that hold what
//! they read: what a segment's uploaded runs file holds ([`crate::upload`]).

use std::path::Path;
use std::path::PathBuf;

use super::read::ReachIn;
use super::CostLog;
use super::CostOptions;
use crate::logread::Filter;
use crate::logread::LogError;
use crate::logread::LogIndex;
use crate::logread::LogSource;

/// The rows whose record is in the last of `files` (sealed segments of one directory, oldest
/// first), derived with as many of the segments before it as they read: back to the
/// earliest sample they read (and power reading, for an idle row) and to the plan lead-in a
/// run that does not name one takes, but at most `max_before` segments back. A row is then
/// the row of the whole log unless something it reads is further back than that, or in a
/// segment no longer there. Reads the last segment with the one before it first, then
/// twice as many each time the rows need more.
pub fn rows_of_last_segment(
    files: &[PathBuf],
    max_before: usize,
    opts: CostOptions,
) -> Result<CostLog, LogError> {
    let Some((last, before)) = files.split_last() else {
        return Ok(CostLog::default());
    };
    let oldest = before.len().saturating_sub(max_before);
    let mut back = 1;
    loop {
        let from = before.len().saturating_sub(back).max(oldest);
        let source = LogSource::Groups(vec![files[from..].to_vec()]);
        let (mut log, reach, index) = CostLog::read_reach(&source, Filter::default(), opts)?;
        if from == oldest || read_enough(&index, &reach, last) {
            let mut in_last = reach.iter().map(|(_, path)| path == last);
            log.rows.retain(|_| in_last.next().unwrap_or(false));
            return Ok(log);
        }
        back *= 2;
    }
}

/// Whether the rows of segment `last` (the last `index` holds) read nothing before the
/// first segment `index` holds: that segment is of another boot (the rows' boot begins in
/// what was read), or its first sample (and power reading, for a row that reads readings)
/// is no later than where each row's reading starts, and every run knows its plan lead-in.
fn read_enough(index: &LogIndex, reach: &[ReachIn], last: &Path) -> bool {
    let segments = index.segments();
    let (Some(first), Some(own)) = (segments.first(), segments.last()) else {
        return true;
    };
    if first.boot != own.boot {
        return true;
    }
    let first_of = |blocks: &[crate::logread::BlockSpan]| {
        blocks
            .iter()
            .filter(|b| b.segment == 0)
            .map(|b| b.first_mono_us)
            .min()
    };
    let first_sample_us = first_of(index.sample_blocks());
    let first_power_us = first_of(index.power_blocks());
    let holds = |from_us: u64, first_us: Option<u64>| first_us.is_some_and(|t| t <= from_us);
    reach.iter().filter(|(_, path)| path == last).all(|(r, _)| {
        !r.lead_in_unknown
            && r.span.is_none_or(|span| {
                holds(span.start_us, first_sample_us)
                    && (!r.power || holds(span.start_us, first_power_us))
            })
    })
}
