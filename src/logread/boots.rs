//! Boot numbers: when a segment starts a new boot (see the module docs of [`super`]).

use crate::store::SegmentHeader;

/// Numbers boots in reading order (see the module docs for when a new one starts).
#[derive(Debug, Default)]
pub(super) struct Boots {
    count: u64,
    /// Directory, (device, boot) ids and anchor of the last segment read; ids `None` when
    /// its header was damaged.
    last: Option<(Option<usize>, Option<(String, String, u64)>)>,
}

impl Boots {
    pub(super) fn assign(&mut self, dir: Option<usize>, header: Option<&SegmentHeader>) -> u64 {
        let same = match (&self.last, header) {
            (Some((last_dir, Some((device, boot, mono_us)))), Some(h)) => {
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
        self.last = Some((
            dir,
            header.map(|h| (h.device_id.clone(), h.boot_id.clone(), h.anchor.mono_us)),
        ));
        self.count - 1
    }
}
