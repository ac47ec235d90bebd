//! Recent power readings kept in memory, so a run's energy can be integrated when the
//! run ends (its window plus the quiet window before it), without reading the log back.
// Used by the workload path, which needs the `llama` feature.
#![cfg_attr(not(feature = "llama"), allow(dead_code))]

use std::collections::VecDeque;

use crate::power::PowerReading;

/// Power readings of the last `keep_us`, oldest first.
#[derive(Debug)]
pub struct PowerHistory {
    readings: VecDeque<PowerReading>,
    keep_us: u64,
}

impl PowerHistory {
    #[must_use]
    pub fn new(keep_us: u64) -> Self {
        Self {
            readings: VecDeque::new(),
            keep_us,
        }
    }

    /// Keeps readings for at least `keep_us` from now on (never less than before).
    pub fn keep_at_least(&mut self, keep_us: u64) {
        self.keep_us = self.keep_us.max(keep_us);
    }

    /// Adds readings (in time order) and forgets those older than `keep_us` before the newest.
    pub fn extend(&mut self, readings: impl IntoIterator<Item = PowerReading>) {
        self.readings.extend(readings);
        if let Some(newest) = self.readings.back().map(|r| r.mono_us) {
            let horizon = newest.saturating_sub(self.keep_us);
            while self.readings.front().is_some_and(|r| r.mono_us < horizon) {
                self.readings.pop_front();
            }
        }
    }

    /// Time of the newest reading.
    #[must_use]
    pub fn newest_us(&self) -> Option<u64> {
        self.readings.back().map(|r| r.mono_us)
    }

    /// The newest reading that is valid.
    #[must_use]
    pub fn newest_valid(&self) -> Option<PowerReading> {
        self.readings.iter().rev().find(|r| r.is_valid()).copied()
    }

    /// Readings with `t0_us ≤ mono_us ≤ t1_us`, plus the nearest one on each side (so
    /// integration can interpolate the window's edges).
    #[must_use]
    pub fn around(&self, t0_us: u64, t1_us: u64) -> Vec<PowerReading> {
        let first = self.readings.partition_point(|r| r.mono_us < t0_us);
        let end = self.readings.partition_point(|r| r.mono_us <= t1_us);
        let from = first.saturating_sub(1);
        let to = (end + 1).min(self.readings.len());
        self.readings.range(from..to).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power::SourceId;

    fn reading(mono_us: u64) -> PowerReading {
        PowerReading {
            mono_us,
            source: SourceId::Replay,
            bus_uv: None,
            current_ua: None,
            power_uw: mono_us as i64,
            shunt_uv: None,
            flags: 0,
        }
    }

    #[test]
    fn old_readings_are_forgotten() {
        let mut h = PowerHistory::new(1_000);
        h.extend((0..=3000).step_by(100).map(reading));
        assert_eq!(h.around(0, u64::MAX).len(), 11, "2000..=3000 kept");
        assert_eq!(h.newest_us(), Some(3000));
        assert_eq!(h.around(0, u64::MAX).first().map(|r| r.mono_us), Some(2000));
        h.keep_at_least(1_500);
        h.keep_at_least(500);
        h.extend([reading(3100)]);
        assert_eq!(h.around(0, u64::MAX).first().map(|r| r.mono_us), Some(2000));
        h.extend([reading(3600)]);
        assert_eq!(h.around(0, u64::MAX).first().map(|r| r.mono_us), Some(2100));
    }

    #[test]
    fn a_window_comes_with_one_reading_on_each_side() {
        let mut h = PowerHistory::new(u64::MAX);
        h.extend((0..=1000).step_by(100).map(reading));
        let t: Vec<u64> = h.around(250, 480).iter().map(|r| r.mono_us).collect();
        assert_eq!(t, vec![200, 300, 400, 500]);
        let edge: Vec<u64> = h.around(300, 400).iter().map(|r| r.mono_us).collect();
        assert_eq!(edge, vec![200, 300, 400, 500]);
        assert_eq!(
            h.around(2000, 3000).len(),
            1,
            "only the last reading before"
        );
        assert!(PowerHistory::new(10).around(0, 10).is_empty());
    }
}
