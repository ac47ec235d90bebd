//! Wall time of a monotonic instant within one segment: its header's anchor, re-anchored by
//! each `ClockStep` event (see the module docs of [`super`]).

use super::Wall;
use super::WallUnknown;
use crate::clock::Anchor;
use crate::record::Event;
use crate::record::EventKind;
use crate::store::HeaderDamage;

/// The anchors of one segment known so far.
#[derive(Debug, Clone)]
pub(super) struct Anchors {
    header: Result<Anchor, HeaderDamage>,
    /// From clock-step events, in frame order.
    steps: Vec<Anchor>,
}

impl Anchors {
    pub(super) const fn new(header: Result<Anchor, HeaderDamage>) -> Self {
        Self {
            header,
            steps: Vec::new(),
        }
    }

    /// Takes the anchor of a clock-step event.
    pub(super) fn see(&mut self, e: &Event) {
        if let EventKind::ClockStep { new_offset_us, .. } = e.kind {
            self.steps.push(Anchor {
                mono_us: e.mono_us,
                wall_unix_us: (e.mono_us as i64).saturating_add(new_offset_us),
            });
        }
    }

    /// Wall time of `mono_us`: under the known anchor with the latest monotonic time at or
    /// before it (the latest step to name that time wins a tie); the header's before all.
    pub(super) fn wall_of(&self, mono_us: Option<u64>) -> Wall {
        let Some(mono_us) = mono_us else {
            return Wall::Unknown(WallUnknown::NoTime);
        };
        let header = self.header.as_ref().ok();
        let best = header
            .into_iter()
            .chain(&self.steps)
            .filter(|a| a.mono_us <= mono_us)
            .max_by_key(|a| a.mono_us)
            .or(header)
            .copied();
        match (best, self.header) {
            (Some(a), _) | (None, Ok(a)) => Wall::At(a.wall_of(mono_us)),
            (None, Err(damage)) => Wall::Unknown(WallUnknown::NoAnchor(damage)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::CorruptReason;

    const WALL: i64 = 1_700_000_000_000_000;

    fn step(mono_us: u64, new_offset_us: i64) -> Event {
        Event {
            mono_us,
            kind: EventKind::ClockStep {
                old_offset_us: 0,
                new_offset_us,
                wall_unix_us: mono_us as i64 + new_offset_us,
            },
        }
    }

    #[test]
    fn a_record_takes_the_anchor_in_force_at_its_monotonic_time() {
        let header = Anchor {
            mono_us: 1_000,
            wall_unix_us: WALL,
        };
        let mut a = Anchors::new(Ok(header));
        a.see(&step(5_000, WALL + 3_600_000_000));
        // Before the header's own instant: the header's anchor all the same.
        assert_eq!(a.wall_of(Some(0)), Wall::At(WALL - 1_000));
        assert_eq!(a.wall_of(Some(4_999)), Wall::At(WALL + 3_999));
        // From the step on, its offset; a record logged after the step but timed before it
        // (a run's start) keeps the header's.
        assert_eq!(a.wall_of(Some(5_000)), Wall::At(WALL + 3_600_005_000));
        assert_eq!(a.wall_of(None), Wall::Unknown(WallUnknown::NoTime));
    }

    #[test]
    fn without_a_header_only_clock_steps_anchor() {
        let damage = HeaderDamage::Frame(CorruptReason::Crc);
        let mut a = Anchors::new(Err(damage));
        assert_eq!(
            a.wall_of(Some(10)),
            Wall::Unknown(WallUnknown::NoAnchor(damage))
        );
        a.see(&step(5_000, WALL));
        assert_eq!(
            a.wall_of(Some(4_999)),
            Wall::Unknown(WallUnknown::NoAnchor(damage))
        );
        assert_eq!(a.wall_of(Some(6_000)), Wall::At(WALL + 6_000));
    }
}
