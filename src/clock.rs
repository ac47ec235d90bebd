//! Time: the monotonic clock that orders everything, and wall-clock anchors.
//!
//! A Pi has no RTC and its wall clock jumps when NTP syncs, so every record carries
//! CLOCK_MONOTONIC µs; a segment header holds one (monotonic, wall) pair, and a
//! `ClockStep` event holds every later correction.
//!
//! Loops that wait (the sampler's ticker, the power reader, the cooldown) take a
//! [`Clock`]: [`MonoClock`] in the daemon, [`FakeClock`] in tests, whose sleeps only move
//! it forward, so no test waits for real time to pass.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

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

/// A monotonic clock with sleeps.
pub trait Clock: Send {
    /// CLOCK_MONOTONIC µs (or the fake's notion of it).
    fn now_us(&self) -> u64;

    /// Waits `us` microseconds.
    fn sleep_us(&self, us: u64);

    /// Waits until [`now_us`](Self::now_us) reaches `deadline_us` (it may return a little
    /// early or late; callers check the time again).
    fn sleep_until_us(&self, deadline_us: u64) {
        let now = self.now_us();
        if deadline_us > now {
            self.sleep_us(deadline_us - now);
        }
    }
}

impl<C: Clock + Sync> Clock for &C {
    fn now_us(&self) -> u64 {
        (**self).now_us()
    }

    fn sleep_us(&self, us: u64) {
        (**self).sleep_us(us);
    }

    fn sleep_until_us(&self, deadline_us: u64) {
        (**self).sleep_until_us(deadline_us);
    }
}

/// The real clock: CLOCK_MONOTONIC, `thread::sleep`, and absolute-deadline sleeps with
/// `clock_nanosleep(TIMER_ABSTIME)` (no drift from the time spent computing the sleep).
#[derive(Debug, Clone, Copy, Default)]
pub struct MonoClock;

impl Clock for MonoClock {
    fn now_us(&self) -> u64 {
        mono_us()
    }

    fn sleep_us(&self, us: u64) {
        std::thread::sleep(Duration::from_micros(us));
    }

    fn sleep_until_us(&self, deadline_us: u64) {
        let ts = libc::timespec {
            tv_sec: (deadline_us / 1_000_000) as libc::time_t,
            tv_nsec: ((deadline_us % 1_000_000) * 1_000) as libc::c_long,
        };
        // An absolute deadline makes an interrupted sleep safe to restart as is.
        loop {
            // SAFETY: `ts` is a valid timespec; a null remainder is allowed with TIMER_ABSTIME.
            let rc = unsafe {
                libc::clock_nanosleep(
                    libc::CLOCK_MONOTONIC,
                    libc::TIMER_ABSTIME,
                    &ts,
                    std::ptr::null_mut(),
                )
            };
            if rc != libc::EINTR {
                return;
            }
        }
    }
}

/// A fake clock for tests: only sleeps and [`advance_us`](Self::advance_us) move it, each
/// by exactly what it is given. Clones share one time, so a fake sensor sees the time its
/// reader slept to.
#[derive(Debug, Clone, Default)]
pub struct FakeClock(Arc<AtomicU64>);

impl FakeClock {
    #[must_use]
    pub fn new(start_us: u64) -> Self {
        Self(Arc::new(AtomicU64::new(start_us)))
    }

    pub fn advance_us(&self, us: u64) {
        self.0.fetch_add(us, Ordering::SeqCst);
    }

    pub fn set_us(&self, us: u64) {
        self.0.store(us, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_us(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    fn sleep_us(&self, us: u64) {
        self.advance_us(us);
    }
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
    fn the_real_clock_sleeps_at_least_until_the_deadline() {
        let c = MonoClock;
        let deadline = c.now_us() + 2_000;
        c.sleep_until_us(deadline);
        assert!(c.now_us() >= deadline);
        let before = c.now_us();
        c.sleep_us(1_000);
        assert!(c.now_us() >= before + 1_000);
    }

    #[test]
    fn the_fake_clock_moves_only_by_its_sleeps_and_clones_share_it() {
        let c = FakeClock::new(10);
        let other = c.clone();
        c.sleep_us(5);
        other.sleep_until_us(100);
        other.sleep_until_us(50); // in the past: no move
        assert_eq!((c.now_us(), other.now_us()), (100, 100));
        c.set_us(7);
        other.advance_us(1);
        let by_ref: &dyn Clock = &&c;
        assert_eq!(by_ref.now_us(), 8);
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
