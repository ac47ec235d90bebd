//! Boot numbers: when a segment starts a new boot (see the module docs of [`super`]).

use crate::store::SegmentHeader;

/// What the last segment read says about its clock.
#[derive(Debug)]
struct Last {
    /// Its directory (`None`: a lone segment file).
    dir: Option<usize>,
    /// Device id, boot id and anchor monotonic time; `None` when its header was damaged.
    clock: Option<(String, String, u64)>,
}

/// Numbers boots in reading order.
#[derive(Debug, Default)]
pub(super) struct Boots {
    count: u64,
    last: Option<Last>,
}

impl Boots {
    /// The boot number of the next segment read, from its directory and header. A blank
    /// file (`empty`: no header and no record; empty, zero-filled or cut inside its header:
    /// a failed copy, a crash or power cut as it was opened) takes the boot of the segment
    /// before it in its directory (first in it, the boot of the segment after it) and leaves
    /// that segment the one the next is compared with: it says nothing of the clock, so it
    /// does not split a boot.
    pub(super) fn assign(
        &mut self,
        dir: Option<usize>,
        header: Option<&SegmentHeader>,
        empty: bool,
    ) -> u64 {
        if empty {
            // First of its directory (or a lone file): the boot of the segment after it, the
            // next number; else the boot before it.
            let after_one = self
                .last
                .as_ref()
                .is_some_and(|l| dir.is_some() && l.dir == dir);
            return self.count.saturating_sub(u64::from(after_one));
        }
        let same = match (&self.last, header) {
            (
                Some(Last {
                    dir: last_dir,
                    clock: Some((device, boot, mono_us)),
                }),
                Some(h),
            ) => {
                dir.is_some()
                    && *last_dir == dir
                    && *device == h.device_id
                    && *boot == h.boot_id
                    && h.anchor.mono_us >= *mono_us
            }
            _ => false,
        };
        if !same {
            self.count += 1;
        }
        self.last = Some(Last {
            dir,
            clock: header.map(|h| (h.device_id.clone(), h.boot_id.clone(), h.anchor.mono_us)),
        });
        self.count - 1
    }
}
