//! When the daemon starts each plan: at start, `every_s` after its last start, and at its
//! local times of day — decided from a (monotonic, wall) reading passed in, so tests step
//! a virtual clock through midnight, DST changes and clock steps.
//!
//! Rules (README "When plans run"):
//! - A plan starts when any of its triggers is due; one start consumes every trigger due
//!   by then (a time of day and an interval due together give one run).
//! - A time of day is due once the wall clock has passed it since the plan's last start
//!   (or, for a plan that never started, since the daemon started). The watermark never
//!   goes back, so a wall clock set back (NTP) never fires a time twice; a clock set
//!   forward over a time fires it once. A clock set back by more than a day was wrong
//!   before: the watermark follows it.
//! - `every_s` counts on the monotonic clock from the last start in this process; across a
//!   restart from the saved wall time of the last start, and at the latest `every_s`
//!   after the daemon started (so a wrong wall clock delays a plan by one interval at most).
//! - The last start of each plan (wall time of the decision, written when the plan's
//!   runs begin) is kept in `schedule.json` in the state directory. **Catch-up rule**: a
//!   time of day or an interval that fell due while the daemon was down starts the plan
//!   once, as soon as the daemon is up, however many were missed; the `plan_due` event
//!   says `catch_up` and the time it was due.
//! - A plan still running when a trigger falls due starts again once it has ended.

mod persist;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use jiff::tz::TimeZone;

use crate::clock::Anchor;
use crate::plan::When;
use crate::record::EventKind;

#[cfg(test)]
use persist::STATE_FILE;

/// A wall clock set back by more than this was wrong before: the watermark follows it, s.
const BACKWARD_RESET_S: i64 = 86_400;

/// Why a plan is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Trigger {
    AtStart,
    Every,
    /// A time of day, `HH:MM`.
    At(String),
}

impl Trigger {
    fn describe(&self) -> String {
        match self {
            Self::AtStart => "at_start".into(),
            Self::Every => "every_s".into(),
            Self::At(t) => format!("at {t}"),
        }
    }
}

/// A plan to start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Due {
    /// Index of the plan, in the order given to [`Scheduler::new`].
    pub(super) index: usize,
    pub(super) trigger: Trigger,
    /// When it was due, Unix s (a catch-up's is in the past).
    pub(super) scheduled_unix_s: i64,
    /// It fell due while the daemon was down.
    pub(super) catch_up: bool,
}

impl Due {
    /// `at_start`, `every_s` or `at HH:MM`.
    pub(super) fn trigger_text(&self) -> String {
        self.trigger.describe()
    }

    /// The `plan_due` event of this start.
    pub(super) fn event(&self, plan: &str) -> EventKind {
        EventKind::PlanDue {
            plan: plan.to_owned(),
            trigger: self.trigger_text(),
            scheduled_unix_s: self.scheduled_unix_s,
            catch_up: self.catch_up,
        }
    }
}

struct Entry {
    name: String,
    when: When,
    /// The saved last start, Unix s (from an earlier daemon, until this one starts it).
    saved_last_s: Option<i64>,
    /// The last start in this process, CLOCK_MONOTONIC µs.
    last_start_mono_us: Option<u64>,
    /// Times of day up to this wall time (Unix s) are consumed.
    watermark_s: i64,
    at_start_pending: bool,
    /// Queued or running: not due again until [`Scheduler::finished`].
    busy: bool,
    /// The start decided but not yet saved (the plan's runs have not begun).
    unsaved_start_s: Option<i64>,
}

/// The daemon's schedule of its plans.
pub(super) struct Scheduler {
    entries: Vec<Entry>,
    tz: TimeZone,
    state: Option<persist::StateFile>,
    started: Anchor,
    last_poll_wall_s: i64,
}

fn wall_s(a: Anchor) -> i64 {
    a.wall_unix_us.div_euclid(1_000_000)
}

impl Scheduler {
    /// The schedule of `plans` (name, `[when]`) for a daemon started at `now`, on the
    /// local clock of `tz`, keeping last starts in `state_dir/schedule.json` (`None`: kept
    /// in memory only). Returns the events to log (a state file that cannot be read).
    pub(super) fn new(
        plans: Vec<(String, When)>,
        tz: TimeZone,
        state_dir: Option<PathBuf>,
        now: Anchor,
    ) -> (Self, Vec<EventKind>) {
        let mut events = Vec::new();
        let state = state_dir.map(|dir| {
            let (file, problem) = persist::StateFile::load(&dir);
            events.extend(problem);
            file
        });
        let now_s = wall_s(now);
        let entries = plans
            .into_iter()
            .map(|(name, when)| Entry::new(name, when, state.as_ref(), now_s))
            .collect();
        let s = Self {
            entries,
            tz,
            state,
            started: now,
            last_poll_wall_s: now_s,
        };
        (s, events)
    }

    /// The plans are now `plans`: a plan of a name already here keeps its last start,
    /// its watermark and whether it is busy, and takes the new `[when]`; a new plan is
    /// scheduled as at daemon start (its saved last start, `at_start`).
    pub(super) fn reload(&mut self, plans: Vec<(String, When)>, now: Anchor) {
        let mut old = std::mem::take(&mut self.entries);
        let now_s = wall_s(now);
        for (name, when) in plans {
            let entry = match old.iter().position(|e| e.name == name) {
                Some(i) => {
                    let mut e = old.swap_remove(i);
                    e.when = when;
                    e
                }
                None => Entry::new(name, when, self.state.as_ref(), now_s),
            };
            self.entries.push(entry);
        }
    }

    /// Index of the plan named `name`.
    pub(super) fn index_of(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.name == name)
    }

    /// Every queued or running plan was dropped (the workload thread died): none is busy
    /// any more, each is due again by its `[when]`.
    pub(super) fn abandon(&mut self) {
        for e in &mut self.entries {
            e.busy = false;
            e.unsaved_start_s = None;
        }
    }

    /// The plans due at `now`, each marked busy until [`Self::finished`].
    pub(super) fn poll(&mut self, now: Anchor) -> Vec<Due> {
        let now_s = wall_s(now);
        if now_s < self.last_poll_wall_s - BACKWARD_RESET_S {
            log::warn!(
                "the wall clock went back by {} s: times of day count from now",
                self.last_poll_wall_s - now_s
            );
            for e in &mut self.entries {
                e.watermark_s = e.watermark_s.min(now_s);
            }
        }
        self.last_poll_wall_s = now_s;
        let started_s = wall_s(self.started);
        let mut due = Vec::new();
        for (index, e) in self.entries.iter_mut().enumerate() {
            if e.busy {
                continue;
            }
            let Some((trigger, scheduled_unix_s)) = e.due(now, self.started.mono_us, &self.tz)
            else {
                continue;
            };
            e.busy = true;
            e.at_start_pending = false;
            e.last_start_mono_us = Some(now.mono_us);
            e.watermark_s = e.watermark_s.max(now_s);
            e.unsaved_start_s = Some(now_s);
            due.push(Due {
                index,
                catch_up: trigger != Trigger::AtStart && scheduled_unix_s < started_s,
                trigger,
                scheduled_unix_s,
            });
        }
        due
    }

    /// Plan `index`'s runs began: saves its last start. Returns the event to log if the
    /// state file cannot be written (the schedule goes on from memory).
    pub(super) fn started(&mut self, index: usize) -> Option<EventKind> {
        let e = &mut self.entries[index];
        let start_s = e.unsaved_start_s.take()?;
        e.saved_last_s = Some(start_s);
        let state = self.state.as_mut()?;
        state.set_last_start(&e.name, start_s).err()
    }

    /// Plan `index` has ended (or was dropped from the queue): it may be due again.
    pub(super) fn finished(&mut self, index: usize) {
        self.entries[index].busy = false;
    }

    /// No plan is running or waiting for its start at start.
    pub(super) fn settled(&self) -> bool {
        self.entries.iter().all(|e| !e.busy && !e.at_start_pending)
    }
}

impl Entry {
    /// A plan not started by this daemon yet, at `now_s`.
    fn new(name: String, when: When, state: Option<&persist::StateFile>, now_s: i64) -> Self {
        let saved_last_s = state.and_then(|s| s.last_start(&name));
        Self {
            at_start_pending: when.at_start,
            watermark_s: saved_last_s.unwrap_or(now_s),
            saved_last_s,
            name,
            when,
            last_start_mono_us: None,
            busy: false,
            unsaved_start_s: None,
        }
    }

    /// The first trigger due at `now`, with when it was due.
    fn due(&self, now: Anchor, daemon_start_mono_us: u64, tz: &TimeZone) -> Option<(Trigger, i64)> {
        let now_s = wall_s(now);
        if self.at_start_pending {
            return Some((Trigger::AtStart, now_s));
        }
        if let Some(every_s) = self.when.every_s {
            let from_us = self.last_start_mono_us.unwrap_or(daemon_start_mono_us);
            let due_us = from_us.saturating_add(every_s.saturating_mul(1_000_000));
            if now.mono_us >= due_us {
                let late_s = ((now.mono_us - due_us) / 1_000_000) as i64;
                return Some((Trigger::Every, now_s - late_s));
            }
            let saved = self
                .saved_last_s
                .filter(|_| self.last_start_mono_us.is_none());
            if let Some(last_s) = saved {
                let due_s = last_s.saturating_add(every_s as i64);
                if now_s >= due_s {
                    return Some((Trigger::Every, due_s));
                }
            }
        }
        self.when
            .last_time_of_day_in(self.watermark_s, now_s, tz)
            .map(|(at_s, text)| (Trigger::At(text.to_owned()), at_s))
    }
}
