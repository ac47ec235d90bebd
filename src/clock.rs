//! Time: the monotonic clock that orders everything, and wall-clock anchors.
//!
//! A Pi has no RTC and its wall clock jumps when NTP syncs, so every record carries
//! CLOCK_MONOTONIC µs; a segment header holds one (monotonic, wall) pair, and a
//! `ClockStep` event holds every later correction.

use serde::Deserialize;
use serde::Serialize;

fn clock_us(id: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; clock ids used here always exist on Linux.
    let rc = unsafe { libc::clock_gettime(id, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({id}) failed");
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

/// CLOCK_MONOTONIC, µs.
#[must_use]
pub fn mono_us() -> u64 {
    clock_us(libc::CLOCK_MONOTONIC)
}

/// Wall time (CLOCK_REALTIME), µs since the Unix epoch; may jump.
#[must_use]
pub fn wall_unix_us() -> i64 {
    clock_us(libc::CLOCK_REALTIME) as i64
}

/// CPU time used by the calling thread, µs.
#[must_use]
pub fn thread_cpu_us() -> u64 {
    clock_us(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time used by the whole process, µs.
#[must_use]
pub fn process_cpu_us() -> u64 {
    clock_us(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// A monotonic instant and the wall time read right after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub mono_us: u64,
    pub wall_unix_us: i64,
}

impl Anchor {
    /// Reads both clocks now.
    #[must_use]
    pub fn now() -> Self {
        Self {
            mono_us: mono_us(),
            wall_unix_us: wall_unix_us(),
        }
    }

    /// wall − monotonic, µs.
    #[must_use]
    pub const fn offset_us(&self) -> i64 {
        self.wall_unix_us - self.mono_us as i64
    }

    /// Wall time of a monotonic instant, under this anchor.
    #[must_use]
    pub const fn wall_of(&self, mono_us: u64) -> i64 {
        mono_us as i64 + self.offset_us()
    }
}

/// Watches for wall-clock steps against an anchor.
#[derive(Debug, Clone)]
pub struct StepDetector {
    anchor: Anchor,
    threshold_us: i64,
}

impl StepDetector {
    #[must_use]
    pub const fn new(anchor: Anchor, threshold_us: i64) -> Self {
        Self {
            anchor,
            threshold_us,
        }
    }

    #[must_use]
    pub const fn anchor(&self) -> Anchor {
        self.anchor
    }

    /// Checks a fresh reading; on a step beyond the threshold, re-anchors and returns
    /// `(old_offset_us, new_offset_us)`.
    pub fn check(&mut self, now: Anchor) -> Option<(i64, i64)> {
        let (old, new) = (self.anchor.offset_us(), now.offset_us());
        if (new - old).abs() > self.threshold_us {
            self.anchor = now;
            Some((old, new))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_never_goes_back() {
        let a = mono_us();
        let b = mono_us();
        assert!(b >= a);
        assert!(a > 0);
    }

    #[test]
    fn a_step_beyond_the_threshold_is_reported_once_and_re_anchors() {
        let a = Anchor {
            mono_us: 1_000_000,
            wall_unix_us: 1_700_000_000_000_000,
        };
        let mut d = StepDetector::new(a, 500_000);
        let drift = Anchor {
            mono_us: 2_000_000,
            wall_unix_us: a.wall_unix_us + 1_000_100,
        };
        assert_eq!(d.check(drift), None, "100 µs of drift is no step");
        let stepped = Anchor {
            mono_us: 3_000_000,
            wall_unix_us: a.wall_unix_us + 2_000_000 + 3_600_000_000,
        };
        let (old, new) = d.check(stepped).unwrap();
        assert_eq!(new - old, 3_600_000_000);
        assert_eq!(d.anchor(), stepped);
        assert_eq!(d.check(stepped), None);
        assert_eq!(stepped.wall_of(3_000_001), stepped.wall_unix_us + 1);
    }
}
