//! Measured energy: trapezoidal integration of power readings over a window and its phases.
//!
//! Readings are points `(mono_us, power_uw)`; consecutive valid readings at most `max_gap_us`
//! apart are joined by a straight line, and the area under the lines inside the window is the
//! energy. Stretches of the window not under such a line are holes: they add no energy, and
//! show in the **coverage** (covered share of the window) and the **largest gap**. No value is
//! invented for a hole. Readings just outside the window count for its edges, so a run shorter
//! than the sampling period still gets a figure (by interpolation) with its coverage.
//!
//! Idle subtraction: the baseline is the mean power over a quiet window before the run's
//! rise ([`run_baseline`] says which); `net = gross − baseline × covered time`. Every figure
//! is an integer (µJ, µW, µs, ppm); J, Wh and per-token figures are computed from them. A
//! Run stores its energy as [`MeasuredEnergy`](crate::record::MeasuredEnergy), converted to
//! and from [`RunEnergy`].
//!
//! Trust: a figure whose window (or, for a net figure, whose baseline) is covered less than
//! [`MinCoverage`] is shown as `-` with the reason ([`Untrusted`]) and left out of averages;
//! [`RunEnergy::figure`] checks one.

use super::trapezoid;
use super::trapezoid::div_round;
use super::trapezoid::Point;
use super::Window;
use crate::record::PowerReading;
use crate::record::RunPhase;

mod idle;
mod stored;
mod trust;

pub use idle::run_baseline;
pub use idle::BaselineFrom;
pub use idle::CooldownEnd;
pub use idle::BASELINE_MAX_US;
pub use trust::show;
pub use trust::Figure;
pub use trust::MinCoverage;
pub use trust::Untrusted;

/// How far apart two readings may be and still be joined, µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Integration {
    pub max_gap_us: u64,
}

impl Integration {
    /// Four nominal periods: one or two lost readings are bridged, an outage is a hole.
    #[must_use]
    pub const fn for_period(period_us: u64) -> Self {
        Self {
            max_gap_us: period_us.saturating_mul(4),
        }
    }
}

/// Energy over one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WindowEnergy {
    pub window: Window,
    /// ∫ P dt over the covered parts of the window, µJ.
    pub gross_uj: i64,
    /// `gross − baseline × covered_us`, µJ; `None` without a baseline.
    pub net_uj: Option<i64>,
    /// Time of the window covered by valid readings, µs.
    pub covered_us: u64,
    /// Covered share of the window, parts per million.
    pub coverage_ppm: u32,
    /// Longest stretch of the window not covered, µs.
    pub largest_gap_us: u64,
    /// Valid readings inside the window.
    pub readings: u32,
}

const UJ_PER_WH: f64 = 3.6e9;

impl WindowEnergy {
    #[must_use]
    pub fn coverage(&self) -> f64 {
        f64::from(self.coverage_ppm) / 1e6
    }

    #[must_use]
    pub fn gross_j(&self) -> f64 {
        self.gross_uj as f64 / 1e6
    }

    /// `gross`, J (over the covered time: a hole adds nothing), over the whole window at
    /// the mean power of the covered time: gross ÷ coverage; `None` if nothing is covered.
    #[must_use]
    pub fn over_window_j(&self, gross_j: f64) -> Option<f64> {
        let coverage = self.coverage();
        (coverage > 0.0).then(|| gross_j / coverage)
    }

    #[must_use]
    pub fn gross_wh(&self) -> f64 {
        self.gross_uj as f64 / UJ_PER_WH
    }

    #[must_use]
    pub fn net_j(&self) -> Option<f64> {
        self.net_uj.map(|uj| uj as f64 / 1e6)
    }

    #[must_use]
    pub fn net_wh(&self) -> Option<f64> {
        self.net_uj.map(|uj| uj as f64 / UJ_PER_WH)
    }

    /// Mean power over the covered time, µW; `None` if nothing is covered.
    #[must_use]
    pub fn mean_power_uw(&self) -> Option<i64> {
        (self.covered_us > 0)
            .then(|| (i128::from(self.gross_uj) * 1_000_000 / i128::from(self.covered_us)) as i64)
    }
}

/// Integrates `readings` (any order; stuck ones are skipped) over `window` with the
/// [`trapezoid`] integrator: µW × µs, exact.
#[must_use]
pub fn integrate(
    readings: &[PowerReading],
    window: Window,
    cfg: Integration,
    baseline_uw: Option<i64>,
) -> WindowEnergy {
    let mut points: Vec<Point> = readings
        .iter()
        .filter(|r| r.is_valid())
        .map(|r| (r.mono_us, r.power_uw))
        .collect();
    points.sort_unstable_by_key(|p| p.0);
    let joined = points
        .windows(2)
        .map(|p| (p[0], p[1]))
        .filter(|(a, b)| b.0 - a.0 <= cfg.max_gap_us);
    let i = trapezoid::integrate(joined, window);
    // Twice the area in µW·µs = pJ; 1 µJ = 10⁶ pJ.
    let gross_uj = div_round(i.twice_area, 2_000_000) as i64;
    let duration = window.len_us();
    let coverage_ppm = if duration == 0 {
        if i.touched {
            1_000_000
        } else {
            0
        }
    } else {
        (u128::from(i.covered_us) * 1_000_000 / u128::from(duration)) as u32
    };
    let (ws, we) = (window.start_us, window.end_us);
    let readings = points.iter().filter(|p| (ws..=we).contains(&p.0)).count() as u32;
    WindowEnergy {
        window,
        gross_uj,
        net_uj: baseline_uw.map(|b| {
            gross_uj - div_round(i128::from(b) * i128::from(i.covered_us), 1_000_000) as i64
        }),
        covered_us: i.covered_us,
        coverage_ppm,
        largest_gap_us: i.largest_gap_us(),
        readings,
    }
}

/// Idle power measured over a quiet window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Baseline {
    pub window: Window,
    pub power_uw: i64,
    pub coverage_ppm: u32,
}

/// Mean power over `window`; `None` if no valid readings cover it.
#[must_use]
pub fn baseline(readings: &[PowerReading], window: Window, cfg: Integration) -> Option<Baseline> {
    let e = integrate(readings, window, cfg, None);
    Some(Baseline {
        window,
        power_uw: e.mean_power_uw()?,
        coverage_ppm: e.coverage_ppm,
    })
}

/// Token counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tokens {
    pub prompt: u64,
    pub generated: u64,
}

/// Measured energy of one run: where it came from, the whole run and each phase.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunEnergy {
    /// The source's label (what it measures and misses).
    pub source: String,
    /// Nominal sampling period of the source, µs.
    pub period_us: u64,
    /// Valid readings per second inside the run window, mHz.
    pub measured_rate_mhz: u64,
    pub integration: Integration,
    pub baseline: Option<Baseline>,
    pub run: WindowEnergy,
    /// Each phase but `Done`, in the run's order.
    pub phases: Vec<(RunPhase, WindowEnergy)>,
    pub tokens: Tokens,
    /// The cooldown before the run was ended by its cap (`Run.cooldown_capped`): the
    /// machine had not settled, so the idle baseline its net figures subtract is not what
    /// it started from, and [`figure`](Self::figure) trusts none of them.
    pub cooldown_capped: bool,
}

impl RunEnergy {
    /// The energy of `phase` over all its windows: a phase may repeat (a VLM's prefill is
    /// marked before and after its image's encode, the image's tokens in the second
    /// window), and each of its windows counts. Gross, net, covered time and readings are
    /// the windows' sums, the coverage is the covered share of their total length and the
    /// largest gap the longest of theirs; `window` spans the first one's start to the last
    /// one's end. `None` if the run has no such phase.
    #[must_use]
    pub fn phase(&self, phase: RunPhase) -> Option<WindowEnergy> {
        let mut windows = self.phases.iter().filter(|(p, _)| *p == phase);
        let first = windows.next()?.1;
        let (mut all, mut len_us) = (first, first.window.len_us());
        for (_, w) in windows {
            all.window = Window::spanning(all.window.start_us, w.window.end_us);
            all.gross_uj += w.gross_uj;
            all.net_uj = all.net_uj.zip(w.net_uj).map(|(a, b)| a + b);
            all.covered_us += w.covered_us;
            all.largest_gap_us = all.largest_gap_us.max(w.largest_gap_us);
            all.readings += w.readings;
            all.coverage_ppm = if len_us + w.window.len_us() == 0 {
                all.coverage_ppm.min(w.coverage_ppm)
            } else {
                (u128::from(all.covered_us) * 1_000_000 / u128::from(len_us + w.window.len_us()))
                    as u32
            };
            len_us += w.window.len_us();
        }
        Some(all)
    }

    /// One line for text output: gross and net J of the run, each a number only when
    /// [`figure`](Self::figure) trusts it (else `-` and why), with the coverage, largest
    /// gap, reading rate, baseline and source.
    #[must_use]
    pub fn summary(&self, min: MinCoverage) -> String {
        let r = &self.run;
        let base = self.baseline.map_or_else(String::new, |b| {
            format!(", baseline {:.3} W", b.power_uw as f64 / 1e6)
        });
        let joules = |f| match self.figure(f, min) {
            Ok(j) => format!("{j:.3} J"),
            Err(why) => show(&Err(why), 0),
        };
        format!(
            "gross {}, net {} over {:.3} s, coverage {:.1}%, largest gap {:.3} s, \
             {:.1} Hz{base} [{}]",
            joules(Figure::GrossJ),
            joules(Figure::NetJ),
            r.window.len_us() as f64 / 1e6,
            r.coverage() * 100.0,
            r.largest_gap_us as f64 / 1e6,
            self.measured_rate_mhz as f64 / 1e3,
            self.source
        )
    }
}

/// Everything [`run_energy`] needs besides the readings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec<'a> {
    pub source_label: &'a str,
    pub period_us: u64,
    pub run: Window,
    pub phases: &'a [(RunPhase, Window)],
    /// The idle baseline ([`run_baseline`] chooses it); [`BaselineFrom::None`]: gross
    /// figures only.
    pub baseline: BaselineFrom,
    pub tokens: Tokens,
}

/// Measured energy of a run from its readings and phase windows: one call per run.
#[must_use]
pub fn run_energy(readings: &[PowerReading], spec: &RunSpec<'_>) -> RunEnergy {
    let integration = Integration::for_period(spec.period_us);
    let baseline = match spec.baseline {
        BaselineFrom::Window(w) => baseline(readings, w, integration),
        BaselineFrom::Stored(b) => Some(b),
        BaselineFrom::None => None,
    };
    let idle = baseline.map(|b| b.power_uw);
    let run = integrate(readings, spec.run, integration, idle);
    let phases = spec
        .phases
        .iter()
        .map(|&(p, w)| (p, integrate(readings, w, integration, idle)))
        .collect();
    let duration = spec.run.len_us();
    let measured_rate_mhz = if duration == 0 {
        0
    } else {
        (u128::from(run.readings) * 1_000_000_000 / u128::from(duration)) as u64
    };
    RunEnergy {
        source: spec.source_label.to_string(),
        period_us: spec.period_us,
        measured_rate_mhz,
        integration,
        baseline,
        run,
        phases,
        tokens: spec.tokens,
        cooldown_capped: false,
    }
}

#[cfg(test)]
mod tests;
