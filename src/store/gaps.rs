//! Seqs in no segment of a directory: a sealed segment's seal is its last frame, and the
//! next segment's name is the seq after it; a seq between them was in a segment that was
//! deleted, quarantined (`*.broken`) or not copied. Read from each seal alone (the file's
//! last few hundred bytes), so that a reader going through a cache of derived rows still
//! tells what is missing from under it.

use std::fmt;
use std::io::Read;
use std::io::Seek;
use std::io::SeekFrom;
use std::path::Path;
use std::path::PathBuf;

use super::decode_frame;
use super::Decoded;
use super::SegmentInfo;
use crate::record::Record;

/// Seqs `from_seq..=to_seq` are in no segment; the next one that is, is `before`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqGap {
    pub from_seq: u64,
    pub to_seq: u64,
    pub before: PathBuf,
}

impl SeqGap {
    /// The seqs between a sealed segment whose seal is `seal_seq` and the segment `next`,
    /// when its name starts past the seq after it.
    #[must_use]
    pub fn between(seal_seq: u64, next: &Path) -> Option<Self> {
        let first = super::named_first_seq(next)?;
        (first > seal_seq.saturating_add(1)).then(|| Self {
            from_seq: seal_seq + 1,
            to_seq: first - 1,
            before: next.to_path_buf(),
        })
    }
}

impl fmt::Display for SeqGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seqs {}–{} are in no segment before {}: a segment was deleted, quarantined \
             (*.broken) or not copied here; its records are not in this log",
            self.from_seq,
            self.to_seq,
            self.before.display()
        )
    }
}

/// The gaps between the segments of one directory (`segments` in seq order, as
/// [`list_segments`](super::list_segments) gives them). A segment that is open, or does
/// not end with an intact seal, is not compared: its lost tail is told as damage when read.
#[must_use]
pub fn seq_gaps(segments: &[SegmentInfo]) -> Vec<SeqGap> {
    segments
        .windows(2)
        .filter(|w| !w[0].open)
        .filter_map(|w| SeqGap::between(seal_seq(&w[0].path)?, &w[1].path))
        .collect()
}

/// The seq of the seal that ends the segment at `path`, from the file's tail alone; `None`
/// when it does not end with an intact seal frame (or cannot be read).
#[must_use]
pub fn seal_seq(path: &Path) -> Option<u64> {
    // A seal frame is a few dozen bytes; the frame before it ends inside this tail.
    const TAIL_BYTES: u64 = 512;
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))
        .ok()?;
    let mut tail = Vec::with_capacity(TAIL_BYTES as usize);
    file.read_to_end(&mut tail).ok()?;
    let body = tail.strip_suffix(&[0])?;
    let start = body.iter().rposition(|&b| b == 0)? + 1;
    match decode_frame(&body[start..], &mut Vec::new()) {
        Decoded::Frame(frame) if matches!(frame.record, Record::Seal(_)) => Some(frame.seq),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::calib::{spread, write, Flushing, PowerTruth, SynthLog};

    #[test]
    fn a_seal_is_read_from_the_tail_and_a_deleted_segment_is_a_gap() {
        let dir = tempfile::tempdir().unwrap();
        let truth = PowerTruth {
            idle_w: 3.0,
            cpu_w_per_pct: 0.03,
            ram_w_per_mb: 0.001,
            cpu_ghz_w_per_pct_ghz: 0.0,
        };
        let mut log = SynthLog::new(truth, spread(12, false));
        log.flushing = Some(Flushing::SHORT_SEGMENTS);
        write(dir.path(), &log).unwrap();
        let segs = super::super::list_segments(dir.path()).unwrap();
        assert!(segs.len() >= 4, "{segs:?}");
        // Each seal is the seq before the next segment's name.
        for w in segs.windows(2) {
            assert_eq!(seal_seq(&w[0].path).map(|s| s + 1), Some(w[1].first_seq));
        }
        assert_eq!(seq_gaps(&segs), []);
        std::fs::remove_file(&segs[2].path).unwrap();
        let left = super::super::list_segments(dir.path()).unwrap();
        let want = SeqGap {
            from_seq: segs[2].first_seq,
            to_seq: segs[3].first_seq - 1,
            before: segs[3].path.clone(),
        };
        assert_eq!(seq_gaps(&left), [want]);
        // Not a seal at the end (a cut file): no seq, not a gap.
        let bytes = std::fs::read(&segs[0].path).unwrap();
        std::fs::write(&segs[0].path, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(seal_seq(&segs[0].path), None);
    }
}
