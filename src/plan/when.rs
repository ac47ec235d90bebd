//! When a plan runs unattended (`edgewatt run`): at start, every interval, at times of day.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use jiff::ToSpan;
use serde::Deserialize;

/// `[when]` of a plan. Without it a plan runs at start.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "WhenToml")]
pub struct When {
    /// Run as soon as the daemon starts. Default: only for a plan with neither `every_s`
    /// nor `at` (so a nightly plan is not also run by every restart).
    pub at_start: bool,
    /// Run again this long after the previous run started.
    pub every_s: Option<u64>,
    /// Local times of day, `HH:MM`.
    pub at: Vec<String>,
}

/// `[when]` as written: `at_start`'s default depends on the other keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhenToml {
    at_start: Option<bool>,
    every_s: Option<u64>,
    #[serde(default)]
    at: Vec<String>,
}

impl From<WhenToml> for When {
    fn from(w: WhenToml) -> Self {
        Self {
            at_start: w.at_start.unwrap_or(w.every_s.is_none() && w.at.is_empty()),
            every_s: w.every_s,
            at: w.at,
        }
    }
}

impl Default for When {
    fn default() -> Self {
        Self {
            at_start: true,
            every_s: None,
            at: Vec::new(),
        }
    }
}

/// `HH:MM` → seconds after midnight.
#[must_use]
pub fn parse_time_of_day(s: &str) -> Option<i64> {
    let (h, m) = s.split_once(':')?;
    if h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 3600 + m * 60)
}

impl When {
    /// The first of `key`'s values that is wrong, with why.
    pub(super) fn problem(&self) -> Option<(&'static str, String)> {
        if self.every_s == Some(0) {
            return Some(("when.every_s", "must be at least 1".into()));
        }
        self.at
            .iter()
            .find(|t| parse_time_of_day(t).is_none())
            .map(|t| ("when.at", format!("{t:?} is not HH:MM (00:00 to 23:59)")))
    }

    /// The latest of the plan's times of day in `(after_s, until_s]` (Unix s) on the
    /// local clock of `tz`, with its `HH:MM`; `None` if no time of day falls in it.
    ///
    /// A local time that does not exist on a day (skipped by a DST change) happens that
    /// day as much later as the clock jumped (02:30 → 03:30); one that happens twice
    /// (the clock set back) happens at the first of the two. So each time of day
    /// happens exactly once every local day.
    #[must_use]
    pub fn last_time_of_day_in(
        &self,
        after_s: i64,
        until_s: i64,
        tz: &TimeZone,
    ) -> Option<(i64, &str)> {
        if until_s <= after_s || self.at.is_empty() {
            return None;
        }
        let local = |s: i64| {
            Timestamp::from_second(s)
                .ok()
                .map(|t| tz.to_datetime(t).date())
        };
        let last_day = local(until_s)?;
        // Every time of day happens once a local day, so three days back reach the latest
        // one even across a DST change; an earlier `after_s` changes nothing.
        let first_day = local(after_s)
            .unwrap_or(Date::MIN)
            .max(last_day.checked_sub(2.days()).ok()?);
        let mut best: Option<(i64, &str)> = None;
        let mut day = first_day;
        while day <= last_day {
            for text in &self.at {
                let Some(t) = parse_time_of_day(text) else {
                    continue;
                };
                let (h, m) = ((t / 3600) as i8, (t % 3600 / 60) as i8);
                let Ok(at) = tz.to_ambiguous_timestamp(day.at(h, m, 0, 0)).compatible() else {
                    continue;
                };
                let at = at.as_second();
                if at > after_s && at <= until_s && best.is_none_or(|(b, _)| at > b) {
                    best = Some((at, text.as_str()));
                }
            }
            let Ok(next) = day.tomorrow() else { break };
            day = next;
        }
        best
    }
}
