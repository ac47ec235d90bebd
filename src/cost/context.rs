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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::RowKey;
    use crate::store::list_segments;
    use crate::synth::calib::spread;
    use crate::synth::calib::Flushing;
    use crate::synth::calib::PowerTruth;
    use crate::synth::calib::SynthLog;

    /// 8 runs written as the daemon writes them, a segment every 10 s (headers anchored when
    /// each segment opened): the segments, oldest first, and when each opened.
    fn short_segments(dir: &Path) -> (Vec<PathBuf>, Vec<u64>) {
        let truth = PowerTruth {
            idle_w: 3.2,
            cpu_w_per_pct: 0.038,
            ram_w_per_mb: 0.0015,
            cpu_ghz_w_per_pct_ghz: 0.0,
        };
        let mut log = SynthLog::new(truth, spread(8, false));
        log.flushing = Some(Flushing {
            flush_us: 5_000_000,
            flushes_per_segment: 2,
        });
        crate::synth::calib::write(dir, &log).unwrap();
        let files: Vec<PathBuf> = (list_segments(dir).unwrap().into_iter())
            .map(|s| s.path)
            .collect();
        let opened = (files.iter())
            .map(|p| {
                SegmentReader::open(p)
                    .unwrap()
                    .header()
                    .unwrap()
                    .anchor
                    .mono_us
            })
            .collect();
        (files, opened)
    }

    /// The segment a time is in is found from the headers in one step (rev-i: the upload
    /// tests' segments shared one anchor, so only the one-back step was ever taken).
    #[test]
    fn the_segment_opened_by_a_time_is_told_by_the_headers() {
        let tmp = tempfile::tempdir().unwrap();
        let (files, opened) = short_segments(tmp.path());
        assert!(files.len() >= 6, "{files:?}");
        let (last, earlier) = files.split_last().unwrap();
        for (j, w) in opened.windows(2).enumerate() {
            assert!(w[0] < w[1], "{opened:?}");
            assert_eq!(opened_by(earlier, last, w[0]), Some(j), "{opened:?}");
            assert_eq!(opened_by(earlier, last, w[1] - 1), Some(j), "{opened:?}");
        }
        // Before the first opened: the first of the boot.
        assert_eq!(opened_by(&earlier[2..], last, opened[1]), Some(0));
    }

    /// The last segment's rows, read back as far as they need across short segments, are
    /// the whole directory's.
    #[test]
    fn rows_read_back_across_short_segments_are_the_whole_logs() {
        let tmp = tempfile::tempdir().unwrap();
        let (files, _) = short_segments(tmp.path());
        let whole = CostLog::read(
            &LogSource::dir(tmp.path()),
            Filter::default(),
            CostOptions::default(),
        )
        .unwrap()
        .rows;
        let (mut checked, mut further) = (0, 0);
        for end in 2..=files.len() {
            let log = rows_of_last_segment(&files[..end], 24, CostOptions::default()).unwrap();
            // Rows that read more than the segment before: the walk went further back.
            let one_back = rows_of_last_segment(&files[..end], 1, CostOptions::default()).unwrap();
            further += usize::from(one_back.rows != log.rows);
            for row in &log.rows {
                let key = RowKey::of(row);
                let want = whole.iter().find(|w| RowKey::of(w) == key).unwrap();
                assert_eq!(row, want, "segment {end}");
                assert!(row.trust.usage, "segment {end}: {row:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, whole.len(), "every row in one segment's");
        assert!(
            further > 0,
            "no row read further back than the segment before"
        );
    }
}
