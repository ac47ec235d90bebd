//! Where each sample tick is, so that later passes over the log find it again: each boot's
//! sample times in order, numbered as one flat list.

use std::collections::HashMap;
use std::path::Path;
use std::path::PathBuf;

use crate::cost::boot_identity;
use crate::logread::SegmentMeta;
use crate::store::OPEN_SUFFIX;
use crate::store::SEALED_SUFFIX;

/// A segment as every pass names it: its path, an open segment's as if sealed (sealing
/// renames it, and may do so between two passes).
fn segment_key(path: &Path) -> PathBuf {
    let s = path.as_os_str().to_string_lossy();
    s.strip_suffix(OPEN_SUFFIX).map_or_else(
        || path.to_path_buf(),
        |stem| PathBuf::from(format!("{stem}{SEALED_SUFFIX}")),
    )
}

/// Where one pass is: the segments it has begun (a segment read twice, its directory
/// given twice, is two), and the boot among the ticks' boots of the segment it is in.
#[derive(Debug, Default)]
pub(super) struct Pass {
    seen: HashMap<PathBuf, u32>,
    slot: Option<usize>,
}

impl Pass {
    /// `seg` as every pass names it: its path (an open segment's as if sealed) and how
    /// many times this pass read it before.
    fn key(&mut self, seg: &SegmentMeta) -> (PathBuf, u32) {
        let path = segment_key(&seg.path);
        let n = self.seen.entry(path.clone()).or_default();
        *n += 1;
        (path, *n - 1)
    }
}

/// The ticks of the first pass. Its boots are the reader's boots of that pass (one
/// monotonic clock each), and a later pass finds a boot again by the segments the first
/// pass saw in it, not by the reader's boot numbers: those count boots from the first
/// segment read, so a segment that retention deletes between two passes would shift them,
/// and a boot's name (directory, device, boot id) does not tell two clocks apart (two boots
/// both called "unknown", or a damaged segment between two of one boot's).
#[derive(Debug, Default)]
pub(super) struct Ticks {
    /// Each segment of the first pass: its boot.
    segments: HashMap<(PathBuf, u32), usize>,
    /// The reader's number of the last boot of the first pass, and its slot.
    last_boot: Option<(u64, usize)>,
    /// Per boot: where its ticks start, and its sample times in order.
    times: Vec<(usize, Vec<u64>)>,
    /// Per boot: its device and boot id, if known ([`boot_identity`]).
    ids: Vec<Option<(String, String)>>,
    /// Per boot: the earlier boots of the same device and boot id (copies of it).
    copies_before: Vec<Vec<usize>>,
    pub(super) len: usize,
}

impl Ticks {
    /// A segment begins in the first pass.
    pub(super) fn segment(&mut self, pass: &mut Pass, seg: &SegmentMeta) {
        let slot = match self.last_boot {
            Some((boot, slot)) if boot == seg.boot => slot,
            _ => {
                self.times.push((0, Vec::new()));
                self.ids.push(None);
                self.times.len() - 1
            }
        };
        // A blank segment of the boot has no header: its other segments name it.
        if self.ids[slot].is_none() {
            self.ids[slot] = boot_identity(seg.device_id(), seg.boot_id());
        }
        self.last_boot = Some((seg.boot, slot));
        self.segments.insert(pass.key(seg), slot);
        pass.slot = Some(slot);
    }

    /// A segment begins in a later pass: its boot is the first pass's, if that saw it.
    pub(super) fn enter(&self, pass: &mut Pass, seg: &SegmentMeta) {
        pass.slot = self.segments.get(&pass.key(seg)).copied();
    }

    /// Adds a sample at `mono_us` of the segment `pass` is in (the first pass; then
    /// [`Ticks::sorted`]).
    pub(super) fn push(&mut self, pass: &Pass, mono_us: u64) {
        if let Some(slot) = pass.slot {
            self.times[slot].1.push(mono_us);
        }
    }

    /// Each boot's times sorted, the ticks numbered, and each boot's copies found.
    pub(super) fn sorted(mut self) -> Self {
        self.copies_before = (0..self.ids.len())
            .map(|slot| match &self.ids[slot] {
                Some(id) => (0..slot)
                    .filter(|&s| self.ids[s].as_ref() == Some(id))
                    .collect(),
                None => Vec::new(),
            })
            .collect();
        self.len = 0;
        for (start, times) in &mut self.times {
            times.sort_unstable();
            *start = self.len;
            self.len += times.len();
        }
        self
    }

    fn boot(&self, pass: &Pass) -> Option<&(usize, Vec<u64>)> {
        self.times.get(pass.slot?)
    }

    /// The tick whose interval holds a reading at `mono_us` of the segment `pass` is in:
    /// the first sample of its boot at or after it, if there is one before it (a reading
    /// before the boot's first sample or after its last is in no interval).
    pub(super) fn holding(&self, pass: &Pass, mono_us: u64) -> Option<usize> {
        let (start, times) = self.boot(pass)?;
        let i = times.partition_point(|m| *m < mono_us);
        (i > 0 && i < times.len()).then_some(start + i)
    }

    /// Whether the sample at `mono_us` of boot `slot` is in an earlier boot of the first
    /// pass of the same device and boot id: the same sample read again, from a copy of the
    /// log (another directory, or one given twice).
    fn repeated_in(&self, slot: usize, mono_us: u64) -> bool {
        self.first_copy(slot, mono_us).is_some()
    }

    /// The tick of the first earlier copy of boot `slot` that holds a sample at `mono_us`.
    fn first_copy(&self, slot: usize, mono_us: u64) -> Option<usize> {
        self.copies_before[slot].iter().find_map(|&s| {
            let (start, times) = &self.times[s];
            let i = times.partition_point(|m| *m < mono_us);
            (times.get(i) == Some(&mono_us)).then_some(start + i)
        })
    }

    /// Whether the sample at `mono_us` of the segment `pass` is in was read before, in an
    /// earlier copy of its boot (see [`Ticks::repeats`]).
    pub(super) fn repeated(&self, pass: &Pass, mono_us: u64) -> bool {
        pass.slot
            .is_some_and(|slot| self.repeated_in(slot, mono_us))
    }

    /// The repeated ticks (a sample in an earlier boot of the same device and boot id), each
    /// as the tick given (the first copy's) and the repeat (after [`Ticks::sorted`]).
    pub(super) fn repeats(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (slot, (start, times)) in self.times.iter().enumerate() {
            if !self.copies_before[slot].is_empty() {
                out.extend(
                    (times.iter().enumerate())
                        .filter_map(|(i, &t)| Some((self.first_copy(slot, t)?, start + i))),
                );
            }
        }
        out
    }

    /// The tick of the sample at `mono_us` of the segment `pass` is in (the first of its
    /// boot's equal times), if the first pass saw it.
    pub(super) fn find(&self, pass: &Pass, mono_us: u64) -> Option<usize> {
        let (start, times) = self.boot(pass)?;
        let i = times.partition_point(|m| *m < mono_us);
        (times.get(i) == Some(&mono_us)).then_some(start + i)
    }
}
