//! The header a segment whose own is damaged takes from its neighbours (see the module
//! docs of [`super`], "Boots").

use crate::clock::Anchor;
use crate::record::EventKind;
use crate::record::Record;
use crate::store::Item;
use crate::store::SegmentHeader;
use crate::store::SegmentReader;

use super::SegmentRef;

/// The header the segment `this` (its header damaged, its frames `items`) is taken to have,
/// from the segments around it in its directory, `prev` and `next`; `None` unless
///
/// - both have intact headers of one device and boot id, `next`'s anchor not earlier than
///   `prev`'s (as the segments of one boot have, `boots`), and
/// - every frame of `this` that has a seq has one from its own name's to before `next`'s
///   name's (so it was written between them), and there is at least one.
///
/// The boots of a directory are consecutive stretches of its segments, so a segment written
/// between two of one boot is of that boot. It takes their device and boot id, and the
/// anchor in force while it was written: before its first clock step, the offset that step
/// replaced; with no step in it, `next`'s anchor (a step is logged in the segment it happens
/// in, so none came between it and `next`'s opening).
pub(super) fn taken_header<'a>(
    prev: Option<&SegmentRef>,
    this: &SegmentRef,
    items: impl IntoIterator<Item = &'a Item>,
    next: Option<&SegmentRef>,
) -> Option<SegmentHeader> {
    let (prev, next) = (prev?, next?);
    if prev.dir.is_none() || prev.dir != this.dir || next.dir != this.dir {
        return None;
    }
    let (from_seq, to_seq) = (this.first_seq?, next.first_seq?);
    let mut first_step = None;
    let mut any = false;
    for item in items {
        let seq = match item {
            Item::Frame { frame, .. } => {
                if let Record::Event(e) = &frame.record {
                    if let (None, EventKind::ClockStep { old_offset_us, .. }) =
                        (first_step, &e.kind)
                    {
                        first_step = Some(Anchor {
                            mono_us: e.mono_us,
                            wall_unix_us: (e.mono_us as i64).saturating_add(*old_offset_us),
                        });
                    }
                }
                Some(frame.seq)
            }
            Item::Passed { seq, .. } => Some(*seq),
            Item::Unknown { seq, .. } => *seq,
            Item::Corrupt { .. } => None,
        };
        if let Some(seq) = seq {
            if !(from_seq..to_seq).contains(&seq) {
                return None;
            }
            any = true;
        }
    }
    let before = SegmentReader::header_only(&prev.path)?;
    let after = SegmentReader::header_only(&next.path)?;
    let one_boot = before.device_id == after.device_id
        && before.boot_id == after.boot_id
        && after.anchor.mono_us >= before.anchor.mono_us;
    (any && one_boot).then(|| SegmentHeader {
        anchor: first_step.unwrap_or(after.anchor),
        first_seq: from_seq,
        ..before
    })
}
