//! The conditions a run ran under, from the samples of its window: CPU frequency (its mean,
//! and the CPU excess weighted by it, the regressor of a frequency-aware power model), the
//! SoC's peak temperature, and the firmware's throttling and under-voltage flags.

use std::borrow::Borrow;

use super::auc;
use super::machine_cpu_pct;
use super::GapRule;
use super::Rate;
use super::Series;
use super::Window;
use crate::record::Sample;
use crate::record::SampleLayout;

/// `get_throttled` bits that say what is happening now (bits 16–19 say "since boot").
pub mod throttle_bits {
    pub const UNDER_VOLTAGE: u64 = 1 << 0;
    pub const FREQ_CAPPED: u64 = 1 << 1;
    pub const THROTTLED: u64 = 1 << 2;
    pub const SOFT_TEMP_LIMIT: u64 = 1 << 3;
    /// The four "now" bits.
    pub const NOW: u64 = 0xf;
}

/// What a run ran under. `None`: the samples hold no such reading.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct RunConditions {
    /// Mean CPU frequency over the run, MHz: the mean over cpufreq policies at each sample,
    /// averaged over the samples in the window.
    pub freq_mean_mhz: Option<f64>,
    /// ∫ (machine CPU % − baseline) × frequency GHz dt over the run, %·GHz·s (signed):
    /// the CPU term of a power model whose per-% cost grows with the clock.
    pub cpu_ghz_signed_pct_ghz_s: Option<f64>,
    /// Highest temperature of any thermal zone in the window, °C.
    pub temp_peak_c: Option<f64>,
    /// The "now" bits (0–3) of `get_throttled` of every sample in the window, OR-ed.
    pub throttled_bits: Option<u64>,
}

impl RunConditions {
    /// The firmware reported under-voltage during the run.
    #[must_use]
    pub fn under_voltage(&self) -> bool {
        self.throttled_bits
            .is_some_and(|b| b & throttle_bits::UNDER_VOLTAGE != 0)
    }

    /// The firmware capped or throttled the CPU during the run (frequency cap, throttling
    /// or the soft temperature limit).
    #[must_use]
    pub fn throttled(&self) -> bool {
        let bits =
            throttle_bits::FREQ_CAPPED | throttle_bits::THROTTLED | throttle_bits::SOFT_TEMP_LIMIT;
        self.throttled_bits.is_some_and(|b| b & bits != 0)
    }
}

/// Mean frequency of a sample over its valid cpufreq policies, kHz.
pub(crate) fn freq_khz(layout: &SampleLayout, s: &Sample) -> Option<f64> {
    let (sum, n) = (0..layout.cpufreq.len())
        .filter(|&i| s.is_valid(layout.freq_bit(i)))
        .filter_map(|i| s.freqs_khz.get(i).map(|&f| f as f64))
        .fold((0.0, 0u32), |(sum, n), f| (sum + f, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

/// The conditions of the run over `window`, from `samples` in time order (the run's and
/// some before it: a sample's CPU % is over the interval since the previous one), each
/// with its layout. `baseline_cpu_pct` is the run's idle machine CPU %.
#[must_use]
pub fn run_conditions<L: Borrow<SampleLayout>, S: Borrow<Sample>>(
    samples: &[(L, S)],
    window: Window,
    baseline_cpu_pct: f64,
) -> RunConditions {
    let mut freq = (0.0, 0u32);
    let mut temp_peak_mc: Option<i64> = None;
    let mut throttled_bits: Option<u64> = None;
    for (l, s) in samples.iter().map(|(l, s)| (l.borrow(), s.borrow())) {
        if !window.contains(s.mono_us) {
            continue;
        }
        if let Some(f) = freq_khz(l, s) {
            freq = (freq.0 + f, freq.1 + 1);
        }
        let temps = (0..l.thermal_zones.len())
            .filter(|&i| s.is_valid(l.temp_bit(i)))
            .filter_map(|i| s.temps_mc.get(i).copied());
        temp_peak_mc = temps.fold(temp_peak_mc, |m, t| Some(m.map_or(t, |m| m.max(t))));
        if l.throttled && s.is_valid(l.throttled_bit()) {
            let now = s.throttled & throttle_bits::NOW;
            throttled_bits = Some(throttled_bits.map_or(now, |b| b | now));
        }
    }
    RunConditions {
        freq_mean_mhz: (freq.1 > 0).then(|| freq.0 / f64::from(freq.1) / 1000.0),
        cpu_ghz_signed_pct_ghz_s: cpu_ghz_auc(samples, window, baseline_cpu_pct),
        temp_peak_c: temp_peak_mc.map(|mc| mc as f64 / 1000.0),
        throttled_bits,
    }
}

/// ∫ (u − baseline) · f dt over `window`, %·GHz·s, over the samples' intervals (gaps: a missing reading, or more than 2.5 median intervals, as for the AUC).
fn cpu_ghz_auc<L: Borrow<SampleLayout>, S: Borrow<Sample>>(
    samples: &[(L, S)],
    window: Window,
    baseline_cpu_pct: f64,
) -> Option<f64> {
    let mut dts: Vec<u64> = samples
        .windows(2)
        .map(|w| {
            w[1].1
                .borrow()
                .mono_us
                .saturating_sub(w[0].1.borrow().mono_us)
        })
        .collect();
    if dts.is_empty() {
        return None;
    }
    let mid = dts.len() / 2;
    let median = *dts.select_nth_unstable(mid).1;
    let rule = GapRule::new(median, GapRule::DEFAULT_FACTOR).ok()?;
    // A step per interval: the CPU % averaged over it, at the frequency read at its end.
    let mut series =
        Series::with_capacity(rule, samples.len()).with_shape(crate::derive::Shape::Steps);
    let mut any_freq = false;
    // Where an empty interval (no tick, or a layout change) began: part of the next step.
    let mut empty_from: Option<u64> = None;
    for w in samples.windows(2) {
        let (pl, prev) = (w[0].0.borrow(), w[0].1.borrow());
        let (l, cur) = (w[1].0.borrow(), w[1].1.borrow());
        if cur.mono_us <= prev.mono_us {
            continue;
        }
        let rate = if pl.cpus == l.cpus {
            machine_cpu_pct(prev, cur)
        } else {
            Rate::Empty
        };
        let start_us = match rate {
            Rate::Empty => *empty_from.get_or_insert(prev.mono_us),
            _ => empty_from.take().unwrap_or(prev.mono_us),
        };
        let pushed = match (rate, freq_khz(l, cur)) {
            (Rate::Value(u), Some(f)) => {
                any_freq = true;
                let v = (u - baseline_cpu_pct) * f / 1e6;
                series.push_step(start_us, cur.mono_us, v)
            }
            (Rate::Empty, _) => Ok(()),
            _ => series.push_break(cur.mono_us),
        };
        pushed.ok()?;
    }
    any_freq.then(|| auc(&series, window, 0.0).signed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::group;

    const S: u64 = 1_000_000;

    /// 2 cores at 10 Hz for 4 s: 50 % busy at 2.0 GHz for t ≤ 2 s, then 100 % at 1.5 GHz;
    /// 50 °C then 60 °C; throttled bit 2 at one sample, sticky bit 18 throughout.
    fn samples() -> Vec<(SampleLayout, Sample)> {
        let layout = SampleLayout {
            cpus: 3,
            procs: vec![],
            thermal_zones: vec!["z".into()],
            cpufreq: vec!["policy0".into()],
            throttled: true,
        };
        let mut cpu = vec![crate::record::CpuTicks::default(); 3];
        (0..=40u64)
            .map(|i| {
                let mut s = Sample::empty(&layout);
                let hi = i > 20;
                if i > 0 {
                    let busy = if hi { 10 } else { 5 };
                    for c in &mut cpu[1..] {
                        c.user += busy;
                        c.idle += 10 - busy;
                    }
                    cpu[0].user = cpu[1].user + cpu[2].user;
                    cpu[0].idle = cpu[1].idle + cpu[2].idle;
                }
                s.cpu = cpu.as_slice().into();
                s.mono_us = i * S / 10;
                s.freqs_khz = smallvec::smallvec![if hi { 1_500_000 } else { 2_000_000 }];
                s.temps_mc = smallvec::smallvec![if hi { 60_000 } else { 50_000 }];
                s.throttled = (1 << 18) | if i == 30 { 1 << 2 } else { 0 };
                s.valid = (1 << layout.groups()) - 1;
                s.set_valid(group::MEM, false);
                (layout.clone(), s)
            })
            .collect()
    }

    #[test]
    fn frequency_temperature_and_flags_over_the_window() {
        let c = run_conditions(&samples(), Window::new(0, 4 * S).unwrap(), 0.0);
        // 21 samples at 2000 MHz, 20 at 1500 MHz.
        let mean = (21.0 * 2000.0 + 20.0 * 1500.0) / 41.0;
        assert!((c.freq_mean_mhz.unwrap() - mean).abs() < 1e-9);
        assert_eq!(c.temp_peak_c, Some(60.0));
        assert_eq!(c.throttled_bits, Some(throttle_bits::THROTTLED));
        assert!(c.throttled() && !c.under_voltage());
        // Each interval at its CPU % and the frequency read at its end: 50 % × 2 GHz = 100
        // over (0, 2] s, 100 % × 1.5 GHz = 150 over (2, 4] s: 2 × 100 + 2 × 150 = 500.
        let auc = c.cpu_ghz_signed_pct_ghz_s.unwrap();
        assert!((auc - 500.0).abs() < 1e-6, "{auc}");
    }

    #[test]
    fn the_baseline_is_subtracted_before_weighting_and_the_window_cuts() {
        let c = run_conditions(&samples(), Window::new(3 * S, 4 * S).unwrap(), 50.0);
        // 50 points above idle × 1.5 GHz = 75 for 1 s.
        let auc = c.cpu_ghz_signed_pct_ghz_s.unwrap();
        assert!((auc - 75.0).abs() < 1e-6, "{auc}");
        assert_eq!(c.throttled_bits, Some(throttle_bits::THROTTLED));
        let quiet = run_conditions(&samples(), Window::new(0, S).unwrap(), 0.0);
        assert_eq!(
            quiet.throttled_bits,
            Some(0),
            "sticky bits are not this run's"
        );
    }

    #[test]
    fn an_interval_without_a_tick_is_part_of_the_next_step() {
        // Sample 10 read the counters of sample 9 (no tick in (0.9, 1.0]): the 50 % of
        // (0.9, 1.1] holds over both intervals, not over the second alone.
        let mut s = samples();
        s[10].1.cpu = s[9].1.cpu.clone();
        let c = run_conditions(&s, Window::new(0, 4 * S).unwrap(), 0.0);
        let auc = c.cpu_ghz_signed_pct_ghz_s.unwrap();
        assert!((auc - 500.0).abs() < 1e-6, "{auc}");
    }

    #[test]
    fn without_such_readings_the_conditions_are_unknown_not_zero() {
        let bare: Vec<_> = samples()
            .into_iter()
            .map(|(mut l, mut s)| {
                l.thermal_zones.clear();
                l.cpufreq.clear();
                l.throttled = false;
                s.temps_mc.clear();
                s.freqs_khz.clear();
                s.valid = 1;
                (l, s)
            })
            .collect();
        let c = run_conditions(&bare, Window::new(0, 4 * S).unwrap(), 0.0);
        assert_eq!(c, RunConditions::default());
        assert_eq!(
            run_conditions::<SampleLayout, Sample>(&[], Window::new(0, S).unwrap(), 0.0),
            RunConditions::default()
        );
    }
}
