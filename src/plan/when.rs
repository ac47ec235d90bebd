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
        let last_day = local_date(until_s, tz)?;
        // Every time of day happens once a local day, so three days back reach the latest
        // one even across a DST change; an earlier `after_s` changes nothing.
        let first_day = local_date(after_s, tz)
            .unwrap_or(Date::MIN)
            .max(last_day.checked_sub(2.days()).ok()?);
        self.times_of_day(first_day, last_day, tz)
            .into_iter()
            .filter(|&(at, _)| at > after_s && at <= until_s)
            .reduce(|best, t| if t.0 > best.0 { t } else { best })
    }

    /// The first of the plan's times of day after `after_s` (Unix s) on the local clock of
    /// `tz` (the same rule as [`Self::last_time_of_day_in`]), with its `HH:MM`; `None`
    /// without times of day.
    #[must_use]
    pub fn next_time_of_day_after(&self, after_s: i64, tz: &TimeZone) -> Option<(i64, &str)> {
        let first_day = local_date(after_s, tz)?;
        let last_day = first_day.checked_add(2.days()).ok()?;
        self.times_of_day(first_day, last_day, tz)
            .into_iter()
            .filter(|&(at, _)| at > after_s)
            .min_by_key(|&(at, _)| at)
    }

    /// Every time of day of the plan on the local days `first..=last`, as Unix s.
    fn times_of_day(&self, first: Date, last: Date, tz: &TimeZone) -> Vec<(i64, &str)> {
        let days = std::iter::successors(Some(first), |d| {
            d.tomorrow().ok().filter(|next| *next <= last)
        });
        let mut out = Vec::new();
        for day in days {
            for text in &self.at {
                let Some(t) = parse_time_of_day(text) else {
                    continue;
                };
                let (h, m) = ((t / 3600) as i8, (t % 3600 / 60) as i8);
                if let Ok(at) = tz.to_ambiguous_timestamp(day.at(h, m, 0, 0)).compatible() {
                    out.push((at.as_second(), text.as_str()));
                }
            }
        }
        out
    }
}

/// The local date of Unix second `s` in `tz`.
fn local_date(s: i64, tz: &TimeZone) -> Option<Date> {
    Timestamp::from_second(s)
        .ok()
        .map(|t| tz.to_datetime(t).date())
}
