//! When a plan runs unattended (`edgewatt run`): at start, every interval, at times of day.

use serde::Deserialize;

/// `[when]` of a plan. Without it a plan runs once, at start.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// Run as soon as the daemon starts.
    #[serde(default = "yes")]
    pub at_start: bool,
    /// Run again this long after the previous run started.
    pub every_s: Option<u64>,
    /// Local times of day, `HH:MM`.
    #[serde(default)]
    pub at: Vec<String>,
}

const fn yes() -> bool {
    true
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

    /// Unix time (s) at which the plan is next due, given the start of its last run
    /// (`None` if it never ran since the daemon started) and the local UTC offset (s).
    /// `None`: never again.
    #[must_use]
    pub fn next_due(
        &self,
        now_s: i64,
        last_start_s: Option<i64>,
        utc_offset_s: i64,
    ) -> Option<i64> {
        let mut due: Option<i64> = None;
        let mut consider = |t: i64| due = Some(due.map_or(t, |d| d.min(t)));
        match last_start_s {
            None if self.at_start => consider(now_s),
            Some(last) => {
                if let Some(every) = self.every_s {
                    consider((last + every as i64).max(now_s));
                }
            }
            None => {
                if let Some(every) = self.every_s {
                    consider(now_s + every as i64);
                }
            }
        }
        let local = now_s + utc_offset_s;
        let midnight = local - local.rem_euclid(86_400);
        for t in self.at.iter().filter_map(|t| parse_time_of_day(t)) {
            let mut at = midnight + t;
            if at <= local {
                at += 86_400;
            }
            consider(at - utc_offset_s);
        }
        due
    }
}

/// The local UTC offset at `unix_s`, seconds east of UTC (0 if unknown).
#[must_use]
pub fn local_utc_offset_s(unix_s: i64) -> i64 {
    let t: libc::time_t = unix_s;
    // SAFETY: zeroed `tm` is a valid out-parameter; localtime_r is thread-safe.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if ok {
        tm.tm_gmtoff
    } else {
        0
    }
}
