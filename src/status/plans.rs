//! When each plan runs next, from its `[when]`, its last start (`schedule.json`) and
//! whether the daemon runs — by the scheduler's rules (`daemon::schedule`): `every_s`
//! after the last start, the next local time of day, and what fell due while the daemon
//! was down runs once as soon as it is up again.

use jiff::tz::TimeZone;
use serde::Serialize;

use crate::plan::When;

/// When a plan runs next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "when", rename_all = "snake_case")]
pub enum NextRun {
    /// At this wall time (Unix s), by this trigger (`every_s`, `at HH:MM`).
    At { unix_s: i64, trigger: String },
    /// Due now: the daemon starts it once the plan running before it has ended.
    Due { trigger: String },
    /// When the daemon next starts; `catch_up`: it fell due while the daemon was down.
    AtNextStart { trigger: String, catch_up: bool },
    /// Never again: an `at_start`-only plan that has started in this session.
    Never,
}

/// Plan `when`'s next run at `now_s`, given its last start (`last_start_s`, Unix s), the
/// running daemon's start (`daemon_start_s`; `None` if it is not running) and the local
/// time zone.
#[must_use]
pub fn next_run(
    when: &When,
    last_start_s: Option<i64>,
    daemon_start_s: Option<i64>,
    now_s: i64,
    tz: &TimeZone,
) -> NextRun {
    let started_this_session = match (last_start_s, daemon_start_s) {
        (Some(last), Some(start)) => last >= start,
        _ => false,
    };
    let mut candidates: Vec<(i64, String)> = Vec::new();
    if when.at_start && !started_this_session {
        candidates.push((daemon_start_s.unwrap_or(now_s), "at_start".into()));
    }
    if let Some(every_s) = when.every_s {
        // From the last start; a daemon that never started it counts from its own start.
        let from = last_start_s.or(daemon_start_s);
        if let Some(from) = from {
            candidates.push((from.saturating_add(every_s as i64), "every_s".into()));
        }
    }
    // A time of day missed since the last start (or while the daemon was down) is due.
    let watermark = last_start_s.or(daemon_start_s).unwrap_or(now_s);
    if let Some((at, text)) = when.last_time_of_day_in(watermark, now_s, tz) {
        candidates.push((at, format!("at {text}")));
    } else if let Some((at, text)) = when.next_time_of_day_after(now_s, tz) {
        candidates.push((at, format!("at {text}")));
    }
    let Some((at, trigger)) = candidates.into_iter().min_by_key(|c| c.0) else {
        return if daemon_start_s.is_none() && when.every_s.is_some() {
            NextRun::AtNextStart {
                trigger: "every_s".into(),
                catch_up: false,
            }
        } else {
            NextRun::Never
        };
    };
    match daemon_start_s {
        Some(_) if at <= now_s => NextRun::Due { trigger },
        Some(_) => NextRun::At {
            unix_s: at,
            trigger,
        },
        None if at <= now_s || trigger == "at_start" => NextRun::AtNextStart {
            catch_up: trigger != "at_start",
            trigger,
        },
        None => NextRun::At {
            unix_s: at,
            trigger,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000; // 2023-11-14 22:13:20 UTC
    const MIDNIGHT: i64 = 1_699_920_000;

    fn when(at_start: bool, every_s: Option<u64>, at: &[&str]) -> When {
        When {
            at_start,
            every_s,
            at: at.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn next(w: &When, last: Option<i64>, daemon: Option<i64>) -> NextRun {
        next_run(w, last, daemon, NOW, &TimeZone::UTC)
    }

    fn at(unix_s: i64, trigger: &str) -> NextRun {
        NextRun::At {
            unix_s,
            trigger: trigger.into(),
        }
    }

    #[test]
    fn an_interval_counts_from_the_last_start_or_the_daemons_start() {
        let w = when(false, Some(600), &[]);
        assert_eq!(
            next(&w, Some(NOW - 100), Some(NOW - 1000)),
            at(NOW + 500, "every_s")
        );
        assert_eq!(next(&w, None, Some(NOW - 100)), at(NOW + 500, "every_s"));
        // Overdue while running: due, waiting for the plan before it.
        assert_eq!(
            next(&w, Some(NOW - 700), Some(NOW - 1000)),
            NextRun::Due {
                trigger: "every_s".into()
            }
        );
        // Overdue while stopped: a catch-up at the next start.
        assert_eq!(
            next(&w, Some(NOW - 700), None),
            NextRun::AtNextStart {
                trigger: "every_s".into(),
                catch_up: true
            }
        );
        assert_eq!(next(&w, Some(NOW - 100), None), at(NOW + 500, "every_s"));
        assert_eq!(
            next(&w, None, None),
            NextRun::AtNextStart {
                trigger: "every_s".into(),
                catch_up: false
            }
        );
    }

    #[test]
    fn times_of_day_and_their_catch_up() {
        let w = when(false, None, &["03:00", "23:30"]);
        assert_eq!(
            next(&w, Some(NOW - 60), Some(NOW - 60)),
            at(MIDNIGHT + 84_600, "at 23:30")
        );
        // Yesterday's 23:30 and today's 03:00 passed since the last start (the daemon was
        // down): one catch-up, named by the latest.
        assert_eq!(
            next(&w, Some(NOW - 86_400), None),
            NextRun::AtNextStart {
                trigger: "at 03:00".into(),
                catch_up: true
            }
        );
        assert_eq!(
            next(&w, Some(NOW - 86_400), Some(NOW - 10)),
            NextRun::Due {
                trigger: "at 03:00".into()
            }
        );
    }

    #[test]
    fn at_start_is_due_once_a_session() {
        let w = when(true, None, &[]);
        assert_eq!(next(&w, Some(NOW - 5), Some(NOW - 10)), NextRun::Never);
        assert_eq!(
            next(&w, Some(NOW - 50), Some(NOW - 10)),
            NextRun::Due {
                trigger: "at_start".into()
            }
        );
        assert_eq!(
            next(&w, Some(NOW - 50), None),
            NextRun::AtNextStart {
                trigger: "at_start".into(),
                catch_up: false
            }
        );
        // With an interval too: the interval after this session's start.
        let w = when(true, Some(3600), &[]);
        assert_eq!(
            next(&w, Some(NOW - 5), Some(NOW - 10)),
            at(NOW + 3595, "every_s")
        );
    }
}
