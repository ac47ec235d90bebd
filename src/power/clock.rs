//! The clock the power reader runs on: the real monotonic clock, or a fake one for tests
//! whose `sleep` just moves time forward (so backoff and replay tests never wait).

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// A monotonic clock with a sleep.
pub trait Clock: Send {
    /// CLOCK_MONOTONIC µs (or the fake's notion of it).
    fn now_us(&self) -> u64;
    /// Waits `us` microseconds.
    fn sleep_us(&self, us: u64);
}

/// The real clock: [`crate::clock::mono_us`] and `thread::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MonoClock;

impl Clock for MonoClock {
    fn now_us(&self) -> u64 {
        crate::clock::mono_us()
    }

    fn sleep_us(&self, us: u64) {
        std::thread::sleep(Duration::from_micros(us));
    }
}

/// A shared fake clock: `sleep_us` advances it, so does [`FakeClock::advance_us`]. Clones
/// share the same time, so a fake sensor can see the time its reader sleeps to.
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

impl<C: Clock + Sync> Clock for &C {
    fn now_us(&self) -> u64 {
        (**self).now_us()
    }

    fn sleep_us(&self, us: u64) {
        (**self).sleep_us(us);
    }
}
