//! The bounded queue of encoded frames waiting for the disk, in write order, with the
//! writer's commands between them (sync, rotate, close).
//!
//! Frames keep their seq and their order. Beyond `max_frame_bytes` of frames the oldest
//! frames are dropped and counted (commands are never dropped): memory stays bounded
//! while the disk refuses writes, and what survives is the newest data.

use std::collections::VecDeque;

use crate::clock::Anchor;
use crate::record::SealReason;

/// One thing for the writer to do.
#[derive(Debug)]
pub(crate) enum Op {
    /// Append an encoded frame (its seq is inside the bytes, and here).
    Frame { seq: u64, bytes: Vec<u8> },
    /// Make what was written so far durable (`fdatasync`).
    Sync,
    /// Seal the segment with `seal_seq` and go on in a new one whose header carries
    /// `anchor`.
    Rotate {
        seal_seq: u64,
        now_mono_us: u64,
        anchor: Anchor,
    },
    /// Seal the segment with `seal_seq` and stop.
    Close {
        seal_seq: u64,
        reason: SealReason,
        now_mono_us: u64,
    },
}

#[derive(Debug)]
pub(crate) struct OpQueue {
    ops: VecDeque<Op>,
    frames: u64,
    frame_bytes: usize,
    max_frame_bytes: usize,
    dropped_frames: u64,
}

impl OpQueue {
    pub(crate) fn new(max_frame_bytes: usize) -> Self {
        Self {
            ops: VecDeque::new(),
            frames: 0,
            frame_bytes: 0,
            max_frame_bytes,
            dropped_frames: 0,
        }
    }

    /// Appends `op`; a frame first makes room by dropping the oldest frames beyond the
    /// bound. A `Sync` right after another is merged with it. Returns how many frames
    /// were dropped.
    pub(crate) fn push_back(&mut self, op: Op) -> u64 {
        let mut dropped = 0;
        match &op {
            Op::Frame { bytes, .. } => {
                while self.frames > 0 && self.frame_bytes + bytes.len() > self.max_frame_bytes {
                    self.drop_oldest_frame();
                    dropped += 1;
                }
                self.count(bytes.len(), true);
            }
            Op::Sync if matches!(self.ops.back(), Some(Op::Sync)) => return 0,
            _ => {}
        }
        self.ops.push_back(op);
        self.dropped_frames += dropped;
        dropped
    }

    /// Puts back an op taken with [`pop_front`](Self::pop_front) that could not be done.
    pub(crate) fn push_front(&mut self, op: Op) {
        if let Op::Frame { bytes, .. } = &op {
            self.count(bytes.len(), true);
        }
        self.ops.push_front(op);
    }

    pub(crate) fn pop_front(&mut self) -> Option<Op> {
        let op = self.ops.pop_front()?;
        if let Op::Frame { bytes, .. } = &op {
            self.count(bytes.len(), false);
        }
        Some(op)
    }

    pub(crate) fn front(&self) -> Option<&Op> {
        self.ops.front()
    }

    /// Frames queued.
    pub(crate) const fn frames(&self) -> u64 {
        self.frames
    }

    /// Bytes of the frames queued.
    pub(crate) const fn frame_bytes(&self) -> u64 {
        self.frame_bytes as u64
    }

    /// Frames dropped to keep the bound, in all.
    pub(crate) const fn dropped_frames(&self) -> u64 {
        self.dropped_frames
    }

    fn count(&mut self, len: usize, added: bool) {
        if added {
            self.frames += 1;
            self.frame_bytes += len;
        } else {
            self.frames -= 1;
            self.frame_bytes -= len;
        }
    }

    fn drop_oldest_frame(&mut self) {
        if let Some(i) = self
            .ops
            .iter()
            .position(|op| matches!(op, Op::Frame { .. }))
        {
            if let Some(Op::Frame { bytes, .. }) = self.ops.remove(i) {
                self.count(bytes.len(), false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: u64, len: usize) -> Op {
        Op::Frame {
            seq,
            bytes: vec![1; len],
        }
    }

    fn seqs(q: &mut OpQueue) -> Vec<Option<u64>> {
        std::iter::from_fn(|| q.pop_front())
            .map(|op| match op {
                Op::Frame { seq, .. } => Some(seq),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_oldest_frames_go_first_and_commands_stay() {
        let mut q = OpQueue::new(25);
        assert_eq!(q.push_back(frame(1, 10)), 0);
        q.push_back(Op::Sync);
        assert_eq!(q.push_back(frame(2, 10)), 0);
        assert_eq!((q.frames(), q.frame_bytes()), (2, 20));
        // 20 + 10 > 25: seq 1 goes, the sync before seq 2 stays.
        assert_eq!(q.push_back(frame(3, 10)), 1);
        assert_eq!(
            (q.frames(), q.frame_bytes(), q.dropped_frames()),
            (2, 20, 1)
        );
        // A frame larger than the bound replaces everything, but is kept.
        assert_eq!(q.push_back(frame(4, 30)), 2);
        assert_eq!(q.dropped_frames(), 3);
        assert_eq!(seqs(&mut q), [None, Some(4)]);
        assert_eq!((q.frames(), q.frame_bytes()), (0, 0));
    }

    #[test]
    fn a_failed_op_goes_back_in_front_and_syncs_merge() {
        let mut q = OpQueue::new(100);
        q.push_back(frame(1, 5));
        q.push_back(Op::Sync);
        q.push_back(Op::Sync);
        q.push_back(frame(2, 5));
        let first = q.pop_front().unwrap();
        assert_eq!((q.frames(), q.frame_bytes()), (1, 5));
        q.push_front(first);
        assert_eq!((q.frames(), q.frame_bytes()), (2, 10));
        assert!(matches!(q.front(), Some(Op::Frame { seq: 1, .. })));
        assert_eq!(seqs(&mut q), [Some(1), None, Some(2)]);
        assert!(q.front().is_none());
    }
}
