//! Where each sample tick is, so that later passes over the log find it again: each boot's
//! sample times in order, numbered as one flat list.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::logread::SegmentMeta;

/// A boot as every pass names it. The reader's boot numbers count boots from the first
/// segment it reads, so a segment that retention deletes between two passes would shift
/// them; a boot is its state directory, device and boot id instead (one kernel boot: one
/// monotonic clock), or its segment when the header is damaged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum BootKey {
    Header {
        dir: Option<PathBuf>,
        device_id: String,
        boot_id: String,
    },
    Segment(PathBuf),
}

impl BootKey {
    fn of(seg: &SegmentMeta) -> Self {
        match seg.header() {
            Some(h) => Self::Header {
                dir: seg.dir.clone(),
                device_id: h.device_id.clone(),
                boot_id: h.boot_id.clone(),
            },
            None => Self::Segment(seg.path.clone()),
        }
    }
}

/// One pass's boot numbers, each named once and looked up among the ticks' boots.
#[derive(Debug, Default)]
pub(super) struct Pass {
    boots: HashMap<u64, Option<usize>>,
}

/// The ticks of the first pass.
#[derive(Debug, Default)]
pub(super) struct Ticks {
    boots: HashMap<BootKey, usize>,
    /// Per boot: where its ticks start, and its sample times in order.
    times: Vec<(usize, Vec<u64>)>,
    pub(super) len: usize,
}

impl Ticks {
    /// Adds a sample of `seg`'s boot at `mono_us` (the first pass; then [`Ticks::sorted`]).
    pub(super) fn push(&mut self, pass: &mut Pass, seg: &SegmentMeta, mono_us: u64) {
        let slot = *pass.boots.entry(seg.boot).or_insert_with(|| {
            let next = self.times.len();
            let slot = *self.boots.entry(BootKey::of(seg)).or_insert(next);
            if slot == next {
                self.times.push((0, Vec::new()));
            }
            Some(slot)
        });
        if let Some(slot) = slot {
            self.times[slot].1.push(mono_us);
        }
    }

    /// Each boot's times sorted, and the ticks numbered.
    pub(super) fn sorted(mut self) -> Self {
        self.len = 0;
        for (start, times) in &mut self.times {
            times.sort_unstable();
            *start = self.len;
            self.len += times.len();
        }
        self
    }

    fn boot(&self, pass: &mut Pass, seg: &SegmentMeta) -> Option<&(usize, Vec<u64>)> {
        let slot = *pass
            .boots
            .entry(seg.boot)
            .or_insert_with(|| self.boots.get(&BootKey::of(seg)).copied());
        self.times.get(slot?)
    }

    /// The tick whose interval holds a reading of `seg`'s boot at `mono_us`: the first
    /// sample at or after it, if there is one before it (a reading before the boot's first
    /// sample or after its last is in no interval).
    pub(super) fn holding(
        &self,
        pass: &mut Pass,
        seg: &SegmentMeta,
        mono_us: u64,
    ) -> Option<usize> {
        let (start, times) = self.boot(pass, seg)?;
        let i = times.partition_point(|m| *m < mono_us);
        (i > 0 && i < times.len()).then_some(start + i)
    }

    /// The tick of the sample of `seg`'s boot at `mono_us` (the first of equal times), if
    /// the first pass saw it.
    pub(super) fn find(&self, pass: &mut Pass, seg: &SegmentMeta, mono_us: u64) -> Option<usize> {
        let (start, times) = self.boot(pass, seg)?;
        let i = times.partition_point(|m| *m < mono_us);
        (times.get(i) == Some(&mono_us)).then_some(start + i)
    }
}
