//! The scheduler stepped by a virtual clock through times of day, midnight, both DST
//! changes of a year, wall-clock steps and restarts. The time zone is a fixed POSIX rule
//! (Central European, the EU's DST dates), given to the scheduler as a value: no `TZ`
//! variable or system zone file is involved, so the tests run the same everywhere and in
//! parallel.

use std::path::Path;

use jiff::civil::date;
use jiff::tz::TimeZone;

use super::*;
use crate::clock::Clock;
use crate::clock::FakeClock;

mod reload;

fn cet() -> TimeZone {
    TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap()
}

/// Unix s of a local date and time in `cet()` (first of two in a fold).
fn local(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
    cet()
        .to_ambiguous_timestamp(date(y, mo, d).at(h, mi, 0, 0))
        .compatible()
        .unwrap()
        .as_second()
}

/// Unix s of a UTC date and time.
fn utc(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
    TimeZone::UTC
        .to_ambiguous_timestamp(date(y, mo, d).at(h, mi, 0, 0))
        .compatible()
        .unwrap()
        .as_second()
}

/// A monotonic clock (the fake one the power reader uses) and a wall clock that runs with
/// it and can be stepped apart, as NTP does.
struct VirtualClock {
    mono: FakeClock,
    wall_minus_mono_us: i64,
}

impl VirtualClock {
    fn at(wall_s: i64) -> Self {
        let mono = FakeClock::new(5_000_000_000);
        let wall_minus_mono_us = wall_s * 1_000_000 - mono.now_us() as i64;
        Self {
            mono,
            wall_minus_mono_us,
        }
    }

    fn now(&self) -> Anchor {
        let mono_us = self.mono.now_us();
        Anchor {
            mono_us,
            wall_unix_us: mono_us as i64 + self.wall_minus_mono_us,
        }
    }

    fn wall_s(&self) -> i64 {
        wall_s(self.now())
    }

    fn step_wall_s(&mut self, by_s: i64) {
        self.wall_minus_mono_us += by_s * 1_000_000;
    }
}

fn when(at_start: bool, every_s: Option<u64>, at: &[&str]) -> When {
    When {
        at_start,
        every_s,
        at: at.iter().map(|t| (*t).to_owned()).collect(),
    }
}

fn scheduler(w: When, dir: Option<&Path>, clock: &VirtualClock) -> (Scheduler, Vec<EventKind>) {
    Scheduler::new(
        vec![("nightly".to_owned(), w)],
        cet(),
        dir.map(Path::to_path_buf),
        clock.now(),
    )
}

/// Polls every `step_s` of both clocks until the wall clock reaches `until_s`; a due plan
/// starts and ends at once. Returns (wall s of the poll, what was due).
fn step_until(
    s: &mut Scheduler,
    clock: &VirtualClock,
    until_s: i64,
    step_s: u64,
) -> Vec<(i64, Due)> {
    let mut fired = Vec::new();
    while clock.wall_s() < until_s {
        clock.mono.advance_us(step_s * 1_000_000);
        for d in s.poll(clock.now()) {
            assert_eq!(s.started(d.index), None, "the state file is written");
            s.finished(d.index);
            fired.push((clock.wall_s(), d));
        }
    }
    fired
}

fn at(text: &str) -> Trigger {
    Trigger::At(text.to_owned())
}

#[test]
fn a_time_of_day_fires_at_its_time_every_day_across_midnight() {
    let clock = VirtualClock::at(local(2026, 6, 10, 21, 0));
    let (mut s, events) = scheduler(when(false, None, &["03:00", "00:00"]), None, &clock);
    assert!(events.is_empty());
    assert!(s.poll(clock.now()).is_empty(), "nothing at start");
    let fired = step_until(&mut s, &clock, local(2026, 6, 12, 4, 0), 20);
    let times: Vec<(i64, Trigger)> = fired
        .iter()
        .map(|(_, d)| (d.scheduled_unix_s, d.trigger.clone()))
        .collect();
    assert_eq!(
        times,
        [
            (local(2026, 6, 11, 0, 0), at("00:00")),
            (local(2026, 6, 11, 3, 0), at("03:00")),
            (local(2026, 6, 12, 0, 0), at("00:00")),
            (local(2026, 6, 12, 3, 0), at("03:00")),
        ]
    );
    // 03:00 CEST is 01:00 UTC; each fired at the first poll at or after its time.
    assert_eq!(local(2026, 6, 11, 3, 0), utc(2026, 6, 11, 1, 0));
    for (polled_s, d) in &fired {
        assert!(
            (0..20).contains(&(polled_s - d.scheduled_unix_s)),
            "{d:?} at {polled_s}"
        );
        assert!(!d.catch_up);
    }
}

#[test]
fn across_the_spring_dst_change_a_skipped_time_fires_an_hour_later_once() {
    // 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that day.
    let clock = VirtualClock::at(local(2026, 3, 27, 12, 0));
    let (mut s, _) = scheduler(when(false, None, &["02:30", "03:00"]), None, &clock);
    let fired = step_until(&mut s, &clock, local(2026, 3, 30, 12, 0), 60);
    let times: Vec<i64> = fired.iter().map(|(_, d)| d.scheduled_unix_s).collect();
    assert_eq!(
        times,
        [
            utc(2026, 3, 28, 1, 30), // 02:30 CET
            utc(2026, 3, 28, 2, 0),  // 03:00 CET
            utc(2026, 3, 29, 1, 0),  // 03:00 CEST: 23 h after the day before
            utc(2026, 3, 29, 1, 30), // "02:30": the clock jumped over it, so 03:30 CEST
            utc(2026, 3, 30, 0, 30), // 02:30 CEST
            utc(2026, 3, 30, 1, 0),  // 03:00 CEST
        ]
    );
}

#[test]
fn across_the_autumn_dst_change_a_time_that_happens_twice_fires_once() {
    // 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens at 00:30 and 01:30 UTC.
    let clock = VirtualClock::at(local(2026, 10, 24, 12, 0));
    let (mut s, _) = scheduler(when(false, None, &["02:30"]), None, &clock);
    let fired = step_until(&mut s, &clock, local(2026, 10, 26, 12, 0), 60);
    let times: Vec<i64> = fired.iter().map(|(_, d)| d.scheduled_unix_s).collect();
    assert_eq!(
        times,
        [
            utc(2026, 10, 25, 0, 30), // the first 02:30 (CEST) only
            utc(2026, 10, 26, 1, 30), // 02:30 CET, 25 h later
        ]
    );
}

#[test]
fn wall_clock_steps_never_fire_a_time_twice_and_a_step_over_it_fires_it_once() {
    let clock_start = local(2026, 6, 10, 2, 50);
    let mut clock = VirtualClock::at(clock_start);
    let (mut s, _) = scheduler(when(false, None, &["03:00"]), None, &clock);
    let fired = step_until(&mut s, &clock, local(2026, 6, 10, 3, 5), 1);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].0, local(2026, 6, 10, 3, 0), "at 03:00:00 exactly");
    // NTP sets the clock back 10 minutes: 03:00 comes round again and is not run again.
    clock.step_wall_s(-600);
    assert!(step_until(&mut s, &clock, local(2026, 6, 10, 3, 30), 1).is_empty());
    // A step forward over the next day's 03:00 runs it once, at the step.
    let fired = step_until(&mut s, &clock, local(2026, 6, 11, 2, 40), 60);
    assert!(fired.is_empty());
    clock.step_wall_s(3600);
    let fired = step_until(&mut s, &clock, local(2026, 6, 11, 4, 0), 60);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].1.scheduled_unix_s, local(2026, 6, 11, 3, 0));
    // A clock that was wrong by more than a day (set back two days) does not silence
    // the plan until it catches up again: the times of day count from the new time.
    clock.step_wall_s(-2 * 86_400);
    let fired = step_until(&mut s, &clock, local(2026, 6, 10, 4, 0), 60);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].1.scheduled_unix_s, local(2026, 6, 10, 3, 0));
}

#[test]
fn every_s_counts_on_the_monotonic_clock_whatever_the_wall_clock_does() {
    let start = local(2026, 6, 10, 12, 0);
    let mut clock = VirtualClock::at(start);
    let (mut s, _) = scheduler(when(true, Some(3600), &[]), None, &clock);
    let first = s.poll(clock.now());
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].trigger, Trigger::AtStart);
    assert_eq!(s.started(0), None);
    s.finished(0);
    clock.mono.advance_us(1_800_000_000);
    clock.step_wall_s(-1200); // NTP: 20 minutes back
    let fired = step_until(&mut s, &clock, start - 1200 + 3605, 1);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].1.trigger, Trigger::Every);
    // One hour of monotonic time after the start, whatever the wall clock says.
    assert_eq!(fired[0].0, start - 1200 + 3600);
    clock.step_wall_s(7200); // and two hours forward
    let fired = step_until(&mut s, &clock, start + 2400 + 7200 + 3605, 1);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].0, start + 2400 + 7200 + 3600);
}

#[test]
fn a_plan_running_when_its_time_comes_runs_once_more_after_it_ends() {
    let clock = VirtualClock::at(local(2026, 6, 10, 2, 0));
    let (mut s, _) = scheduler(when(true, None, &["03:00", "03:30"]), None, &clock);
    assert_eq!(s.poll(clock.now()).len(), 1, "at start");
    // It runs for two hours: both times pass meanwhile.
    clock.mono.advance_us(7_200_000_000);
    assert!(s.poll(clock.now()).is_empty(), "still running");
    s.finished(0);
    let again = s.poll(clock.now());
    assert_eq!(again.len(), 1, "both missed times give one run");
    assert_eq!(again[0].trigger, at("03:30"));
    s.finished(0);
    assert!(s.poll(clock.now()).is_empty());
}

#[test]
fn a_restart_neither_repeats_nor_skips_a_time_of_day() {
    let dir = tempfile::tempdir().unwrap();
    let w = when(false, None, &["03:00"]);
    let clock = VirtualClock::at(local(2026, 6, 10, 2, 0));
    let (mut s, _) = scheduler(w.clone(), Some(dir.path()), &clock);
    let fired = step_until(&mut s, &clock, local(2026, 6, 10, 3, 10), 30);
    assert_eq!(fired.len(), 1);
    let saved = std::fs::read_to_string(dir.path().join(STATE_FILE)).unwrap();
    assert_eq!(
        saved.trim(),
        format!(
            "{{\"format\":1,\"plans\":{{\"nightly\":{{\"last_start_unix_s\":{}}}}}}}",
            local(2026, 6, 10, 3, 0)
        )
    );
    // Restarted ten minutes after the run: not run again.
    let clock = VirtualClock::at(local(2026, 6, 10, 3, 20));
    let (mut s, events) = scheduler(w.clone(), Some(dir.path()), &clock);
    assert!(events.is_empty());
    assert!(step_until(&mut s, &clock, local(2026, 6, 11, 2, 59), 60).is_empty());
    drop(s);
    // Down from 02:59 to three days later at 05:00: three 03:00s were missed; the plan
    // runs once, at once, as a catch-up of the last one.
    let clock = VirtualClock::at(local(2026, 6, 14, 5, 0));
    let (mut s, _) = scheduler(w.clone(), Some(dir.path()), &clock);
    let due = s.poll(clock.now());
    assert_eq!(
        due,
        [Due {
            index: 0,
            trigger: at("03:00"),
            scheduled_unix_s: local(2026, 6, 14, 3, 0),
            catch_up: true,
        }]
    );
    assert!(matches!(
        due[0].event("nightly"),
        EventKind::PlanDue { catch_up: true, ref trigger, .. } if trigger == "at 03:00"
    ));
    // Stopped before its runs began (queued behind another plan): not saved, so the
    // next start catches it up again instead of skipping it.
    drop(s);
    let (mut s, _) = scheduler(w, Some(dir.path()), &clock);
    assert_eq!(s.poll(clock.now()).len(), 1);
    assert_eq!(s.started(0), None);
    s.finished(0);
    assert!(s.poll(clock.now()).is_empty());
}

#[test]
fn a_restart_keeps_the_interval_and_catches_up_a_missed_one_once() {
    let dir = tempfile::tempdir().unwrap();
    let w = when(false, Some(3600), &[]);
    let t0 = local(2026, 6, 10, 12, 0);
    let clock = VirtualClock::at(t0);
    let (mut s, _) = scheduler(w.clone(), Some(dir.path()), &clock);
    let fired = step_until(&mut s, &clock, t0 + 3700, 10);
    assert_eq!(fired.len(), 1);
    let last = fired[0].0;
    assert_eq!(last, t0 + 3600);
    // Restarted 10 minutes later: due 60 minutes after the last start, not at restart.
    let clock = VirtualClock::at(last + 600);
    let (mut s, _) = scheduler(w.clone(), Some(dir.path()), &clock);
    let fired = step_until(&mut s, &clock, last + 3700, 10);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].1.scheduled_unix_s, last + 3600);
    assert!(!fired[0].1.catch_up, "due while the daemon was up");
    let last = fired[0].0;
    // Down for five hours: one catch-up run at start, then hourly from it.
    let clock = VirtualClock::at(last + 5 * 3600);
    let (mut s, _) = scheduler(w, Some(dir.path()), &clock);
    let fired = step_until(&mut s, &clock, last + 5 * 3600 + 3650, 10);
    let got: Vec<(i64, bool)> = fired.iter().map(|(t, d)| (*t - last, d.catch_up)).collect();
    assert_eq!(got, [(5 * 3600 + 10, true), (6 * 3600 + 10, false)]);
}

#[test]
fn a_saved_start_from_a_wrong_clock_delays_an_interval_by_one_interval_at_most() {
    let dir = tempfile::tempdir().unwrap();
    let w = when(false, Some(3600), &[]);
    // Saved by a daemon whose wall clock was a year ahead.
    let t0 = local(2026, 6, 10, 12, 0);
    let future = VirtualClock::at(t0 + 365 * 86_400);
    let (mut s, _) = scheduler(w.clone(), Some(dir.path()), &future);
    step_until(&mut s, &future, t0 + 365 * 86_400 + 3601, 10);
    let clock = VirtualClock::at(t0);
    let (mut s, _) = scheduler(w, Some(dir.path()), &clock);
    let fired = step_until(&mut s, &clock, t0 + 3601, 1);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].0, t0 + 3600);
}

#[test]
fn an_unreadable_state_file_is_logged_and_the_plans_start_as_if_new() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(STATE_FILE),
        "{\"format\":1,\"plans\":{\"nightly\":",
    )
    .unwrap();
    let clock = VirtualClock::at(local(2026, 6, 10, 2, 0));
    let (mut s, events) = scheduler(when(false, None, &["03:00"]), Some(dir.path()), &clock);
    match &events[..] {
        [EventKind::ScheduleStateError { path, message }] => {
            assert!(path.ends_with("schedule.json"), "{path}");
            assert!(message.contains("line 1"), "{message}");
            assert!(message.contains("as if they never ran"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let fired = step_until(&mut s, &clock, local(2026, 6, 10, 3, 1), 30);
    assert_eq!(fired.len(), 1, "the file is replaced by a good one");
    let (_, events) = scheduler(when(false, None, &[]), Some(dir.path()), &clock);
    assert!(events.is_empty());
}

#[test]
fn a_state_file_that_cannot_be_written_is_an_event_and_the_schedule_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone");
    let clock = VirtualClock::at(local(2026, 6, 10, 2, 0));
    let (mut s, _) = scheduler(when(true, None, &["03:00"]), Some(&missing), &clock);
    let due = s.poll(clock.now());
    match s.started(due[0].index) {
        Some(EventKind::ScheduleStateError { path, message }) => {
            assert!(path.ends_with("gone/schedule.json"), "{path}");
            assert!(message.contains("\"nightly\""), "{message}");
        }
        other => panic!("{other:?}"),
    }
    s.finished(0);
    clock.mono.advance_us(3_600_000_000);
    let due = s.poll(clock.now());
    assert_eq!(due.len(), 1, "03:00 from the start kept in memory");
    assert_eq!(due[0].trigger, at("03:00"));
}
