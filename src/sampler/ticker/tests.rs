use std::cell::RefCell;
use std::collections::VecDeque;

use super::*;
use crate::clock::FakeClock;

/// The fake clock with a script: a sleep lands exactly on its deadline plus the next
/// scripted stall (or `early_us` before it, to mimic a spurious wake-up).
#[derive(Debug, Default)]
struct Scripted {
    time: FakeClock,
    stalls_us: RefCell<VecDeque<u64>>,
    early_us: RefCell<VecDeque<u64>>,
    sleeps: RefCell<Vec<u64>>,
}

impl Scripted {
    /// The work of a tick took `us`.
    fn work_us(&self, us: u64) {
        self.time.advance_us(us);
    }
}

impl Clock for Scripted {
    fn now_us(&self) -> u64 {
        self.time.now_us()
    }

    fn sleep_us(&self, us: u64) {
        self.sleep_until_us(self.now_us() + us);
    }

    fn sleep_until_us(&self, deadline_us: u64) {
        self.sleeps.borrow_mut().push(deadline_us);
        if let Some(early) = self.early_us.borrow_mut().pop_front() {
            self.time.set_us(deadline_us - early);
            return;
        }
        let stall = self.stalls_us.borrow_mut().pop_front().unwrap_or(0);
        self.time.set_us(self.now_us().max(deadline_us) + stall);
    }
}

fn ticker_10hz(start_us: u64) -> Ticker<Scripted> {
    let clock = Scripted {
        time: FakeClock::new(start_us),
        ..Scripted::default()
    };
    Ticker::with_clock(100_000, start_us, clock).unwrap()
}

fn on_time(tick: u64, deadline_us: u64) -> Tick {
    Tick {
        tick,
        deadline_us,
        now_us: deadline_us,
        late_us: 0,
        missed: 0,
        late: false,
    }
}

#[test]
fn ticks_land_on_the_grid_whatever_the_work_takes() {
    let mut t = ticker_10hz(1_000_000);
    assert_eq!(
        t.wait(),
        on_time(0, 1_000_000),
        "tick 0 is due at start: no sleep"
    );
    assert!(t.clock_mut().sleeps.borrow().is_empty());
    t.clock_mut().work_us(2_345); // the reads took 2.345 ms
    assert_eq!(t.wait(), on_time(1, 1_100_000));
    t.clock_mut().work_us(99_000); // a slow read, still before the next deadline
    assert_eq!(t.wait(), on_time(2, 1_200_000));
    assert_eq!(*t.clock_mut().sleeps.borrow(), vec![1_100_000, 1_200_000]);
}

#[test]
fn a_stall_is_reported_with_its_lateness_and_missed_ticks_are_skipped_not_burst() {
    let mut t = ticker_10hz(1_000_000);
    t.wait();
    // The sleep towards tick 1 (1.1 s) returns 350 ms late, at 1.45 s:
    // ticks 1, 2, 3 are past; tick 4 (1.4 s) is the one we are at, 50 ms late.
    t.clock_mut().stalls_us.borrow_mut().push_back(350_000);
    let late = t.wait();
    assert_eq!(
        late,
        Tick {
            tick: 4,
            deadline_us: 1_400_000,
            now_us: 1_450_000,
            late_us: 50_000,
            missed: 3,
            late: true,
        }
    );
    // The next deadline stays on the grid: 1.5 s, not 1.45 s + 100 ms.
    assert_eq!(t.next_tick(), 5);
    assert_eq!(t.wait(), on_time(5, 1_500_000));
    assert_eq!(*t.clock_mut().sleeps.borrow(), vec![1_100_000, 1_500_000]);
}

#[test]
fn lateness_within_one_interval_is_late_only_beyond_the_threshold() {
    let mut t = ticker_10hz(0);
    t.wait();
    t.clock_mut()
        .stalls_us
        .borrow_mut()
        .extend([40_000, 60_000, 99_999]);
    let a = t.wait();
    assert_eq!((a.tick, a.late_us, a.missed, a.late), (1, 40_000, 0, false));
    let b = t.wait();
    assert_eq!((b.tick, b.late_us, b.missed, b.late), (2, 60_000, 0, true));
    let c = t.wait();
    assert_eq!((c.tick, c.late_us, c.missed, c.late), (3, 99_999, 0, true));
    t.set_late_threshold_us(10_000);
    t.clock_mut().stalls_us.borrow_mut().push_back(10_001);
    assert!(t.wait().late);
}

#[test]
fn a_spurious_early_wake_up_sleeps_again() {
    let mut t = ticker_10hz(0);
    t.wait();
    t.clock_mut().early_us.borrow_mut().push_back(30_000);
    assert_eq!(t.wait(), on_time(1, 100_000));
    assert_eq!(*t.clock_mut().sleeps.borrow(), vec![100_000, 100_000]);
}

#[test]
fn an_hour_at_10_hz_ends_exactly_one_hour_after_start() {
    let start = 5_000_000;
    let mut t = ticker_10hz(start);
    let mut last = t.wait();
    for i in 1..=36_000u64 {
        t.clock_mut().work_us(i % 31 * 1_000); // 0–30 ms of work per tick
        last = t.wait();
        assert!(!last.late);
    }
    assert_eq!(last, on_time(36_000, start + 3_600_000_000));
}

#[test]
fn a_rate_that_does_not_divide_a_second_does_not_drift() {
    let clock = Scripted::default();
    let mut t = Ticker::rate_with_clock(3, 0, clock).unwrap();
    assert_eq!(t.interval_us(), 333_333);
    assert_eq!(
        [t.deadline_us(1), t.deadline_us(2), t.deadline_us(3)],
        [333_333, 666_666, 1_000_000]
    );
    let mut last = t.wait();
    for _ in 0..3 * 3_600 {
        last = t.wait();
    }
    // 333 333 µs × 10 800 would be 3.6 ms short of an hour; the fraction is exact.
    assert_eq!(last, on_time(10_800, 3_600_000_000));
}

#[test]
fn rates_and_intervals_outside_1_to_100_hz_are_rejected() {
    let c = Scripted::default;
    assert_eq!(
        Ticker::rate_with_clock(0, 0, c()).unwrap_err(),
        TickerError::Rate { rate_hz: 0 }
    );
    assert_eq!(
        Ticker::rate_with_clock(101, 0, c()).unwrap_err(),
        TickerError::Rate { rate_hz: 101 }
    );
    assert_eq!(
        Ticker::rate_with_clock(100, 0, c()).unwrap().interval_us(),
        10_000
    );
    assert_eq!(
        Ticker::rate_with_clock(1, 0, c()).unwrap().interval_us(),
        1_000_000
    );
    assert_eq!(
        Ticker::with_clock(9_999, 0, c()).unwrap_err(),
        TickerError::Interval { interval_us: 9_999 }
    );
    assert_eq!(
        Ticker::with_clock(1_000_001, 0, c()).unwrap_err(),
        TickerError::Interval {
            interval_us: 1_000_001
        }
    );
    let msg = TickerError::Rate { rate_hz: 0 }.to_string();
    assert_eq!(msg, "sampling rate 0 Hz is out of range: use 1..=100 Hz");
}
