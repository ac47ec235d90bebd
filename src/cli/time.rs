//! Parsing and printing wall times for `dump --since/--until` and text output,
//! without a date library: UTC civil dates from days since the epoch.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "cannot read time {0:?}: use Unix seconds (1700000000.5) or RFC 3339 (2026-11-22T09:30:00Z)"
)]
pub struct TimeError(pub String);

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + if m <= 2 { 1 } else { 0 }, m, d)
}

/// A field of digits alone (no sign, no space: `-30` seconds or `+5` is no time).
fn num(s: &str, orig: &str) -> Result<i64, TimeError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TimeError(orig.to_string()));
    }
    s.parse().map_err(|_| TimeError(orig.to_string()))
}

/// Seconds: digits, then a fraction of digits if any (`07`, `07.250`); never `NaN`, `inf`
/// or `1e3`, which `f64` would take.
fn seconds(s: &str, orig: &str) -> Result<f64, TimeError> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, "0"));
    num(whole, orig)?;
    num(frac, orig)?;
    s.parse().map_err(|_| TimeError(orig.to_string()))
}

/// Days in month `m` of year `y` (Gregorian).
const fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Unix seconds edgewatt takes: years 1970 to 9999 (a log's wall times are after 1970).
const MAX_UNIX_S: f64 = 253_402_300_800.0;

/// Parses Unix seconds or an RFC 3339 time (`Z` or `±HH:MM` offset) into Unix µs.
pub fn parse_wall_us(s: &str) -> Result<i64, TimeError> {
    let err = || TimeError(s.to_string());
    let plain = s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if let (true, Ok(secs)) = (plain, s.parse::<f64>()) {
        if !(0.0..MAX_UNIX_S).contains(&secs) {
            return Err(err());
        }
        return Ok((secs * 1e6).round() as i64);
    }
    let (date, rest) = s.split_once(['T', ' ']).ok_or_else(err)?;
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (
        num(d.next().ok_or_else(err)?, s)?,
        num(d.next().ok_or_else(err)?, s)?,
        num(d.next().ok_or_else(err)?, s)?,
    );
    let (clock, offset_s) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, off) = rest.split_at(i);
        let (oh, om) = off[1..].split_once(':').ok_or_else(err)?;
        let sign = if off.starts_with('-') { -1 } else { 1 };
        (c, sign * (num(oh, s)? * 3600 + num(om, s)? * 60))
    } else {
        return Err(err());
    };
    let mut t = clock.splitn(3, ':');
    let (hh, mm) = (
        num(t.next().ok_or_else(err)?, s)?,
        num(t.next().ok_or_else(err)?, s)?,
    );
    let sec = seconds(t.next().unwrap_or("0"), s)?;
    if !(1..=12).contains(&m)
        || !(1..=days_in_month(y, m)).contains(&day)
        || hh > 23
        || mm > 59
        || sec >= 61.0
    {
        return Err(err());
    }
    let days = days_from_civil(y, m, day);
    let whole = days * 86_400 + hh * 3600 + mm * 60 - offset_s;
    Ok(whole * 1_000_000 + (sec * 1e6).round() as i64)
}

/// The log filter of `--since`/`--until` (Unix µs), shared by `dump` and `export`: a window
/// that holds nothing (`--since` not before `--until`) is an error naming both, not an
/// empty output and exit 0.
pub(crate) fn window_filter(
    since_wall_us: Option<i64>,
    until_wall_us: Option<i64>,
) -> anyhow::Result<crate::logread::Filter> {
    if let (Some(since), Some(until)) = (since_wall_us, until_wall_us) {
        anyhow::ensure!(
            since < until,
            "--since ({since} µs) is not before --until ({until} µs): the window holds nothing; \
             swap them"
        );
    }
    Ok(crate::logread::Filter {
        since_wall_us,
        until_wall_us,
        ..crate::logread::Filter::default()
    })
}

/// Formats Unix µs as RFC 3339 UTC with milliseconds.
#[must_use]
pub fn format_wall_us(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let ms = us.rem_euclid(1_000_000) / 1000;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(parse_wall_us("1970-01-01T00:00:00Z"), Ok(0));
        // 2026-11-22T09:30:00Z = 20779 days × 86400 + 34200 s.
        assert_eq!(
            parse_wall_us("2026-11-22T09:30:00Z"),
            Ok((20_779 * 86_400 + 34_200) * 1_000_000)
        );
        assert_eq!(
            parse_wall_us("2026-11-22T10:30:00+01:00"),
            parse_wall_us("2026-11-22T09:30:00Z")
        );
        assert_eq!(parse_wall_us("1700000000.5"), Ok(1_700_000_000_500_000));
        assert_eq!(
            parse_wall_us("2024-02-29T12:00:00.250Z"),
            Ok(1_709_208_000_250_000)
        );
    }

    #[test]
    fn bad_times_name_themselves() {
        for bad in [
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-11-22T09:30:00",
            "2026-11-22",
            // Outside review (stop 27): these read as no filter, an empty window, 15:10:00,
            // 15:09:30 and 3 March.
            "NaN",
            "inf",
            "-inf",
            "-5",
            "1e9",
            "2025-06-15T15:10:NaNZ",
            "2025-06-15T15:10:-30Z",
            "2025-06-15T15:10:+30Z",
            "2025-06-15T15:-1:00Z",
            "2025-02-31T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2025-06-15T15:10:30.Z",
        ] {
            assert_eq!(parse_wall_us(bad), Err(TimeError(bad.to_string())), "{bad}");
        }
    }

    #[test]
    fn format_round_trips() {
        for us in [
            0,
            1_709_208_000_250_000,
            1_795_000_123_456_000,
            -86_400_000_000,
        ] {
            assert_eq!(parse_wall_us(&format_wall_us(us)), Ok(us / 1000 * 1000));
        }
        assert_eq!(
            format_wall_us(1_709_208_000_250_000),
            "2024-02-29T12:00:00.250Z"
        );
    }
}
