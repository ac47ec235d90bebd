//! Conversions between the working types of energy and the record a Run stores: the same
//! integers, field for field.

use super::Baseline;
use super::Integration;
use super::RunEnergy;
use super::Tokens;
use super::WindowEnergy;
use crate::derive::Window;
use crate::record::EnergyBaseline;
use crate::record::EnergyIntegration;
use crate::record::EnergyWindow;
use crate::record::MeasuredEnergy;
use crate::record::MonoWindow;
use crate::record::Run;
use crate::record::TokenCounts;

impl From<Window> for MonoWindow {
    fn from(w: Window) -> Self {
        Self {
            start_us: w.start_us,
            end_us: w.end_us,
        }
    }
}

impl From<MonoWindow> for Window {
    /// A stored window whose end is before its start (only damage can make one) spans the
    /// same instants.
    fn from(w: MonoWindow) -> Self {
        Self::spanning(w.start_us, w.end_us)
    }
}

impl From<&WindowEnergy> for EnergyWindow {
    fn from(e: &WindowEnergy) -> Self {
        Self {
            window: e.window.into(),
            gross_uj: e.gross_uj,
            net_uj: e.net_uj,
            covered_us: e.covered_us,
            coverage_ppm: e.coverage_ppm,
            largest_gap_us: e.largest_gap_us,
            readings: e.readings,
        }
    }
}

impl From<&EnergyWindow> for WindowEnergy {
    fn from(e: &EnergyWindow) -> Self {
        Self {
            window: e.window.into(),
            gross_uj: e.gross_uj,
            net_uj: e.net_uj,
            covered_us: e.covered_us,
            coverage_ppm: e.coverage_ppm,
            largest_gap_us: e.largest_gap_us,
            readings: e.readings,
        }
    }
}

impl From<&RunEnergy> for MeasuredEnergy {
    fn from(e: &RunEnergy) -> Self {
        Self {
            source: e.source.clone(),
            period_us: e.period_us,
            measured_rate_mhz: e.measured_rate_mhz,
            integration: EnergyIntegration {
                max_gap_us: e.integration.max_gap_us,
            },
            baseline: e.baseline.map(|b| EnergyBaseline {
                window: b.window.into(),
                power_uw: b.power_uw,
                coverage_ppm: b.coverage_ppm,
            }),
            run: (&e.run).into(),
            phases: e.phases.iter().map(|(p, w)| (*p, w.into())).collect(),
            tokens: TokenCounts {
                prompt: e.tokens.prompt,
                generated: e.tokens.generated,
            },
        }
    }
}

impl From<&MeasuredEnergy> for RunEnergy {
    fn from(e: &MeasuredEnergy) -> Self {
        Self {
            source: e.source.clone(),
            period_us: e.period_us,
            measured_rate_mhz: e.measured_rate_mhz,
            integration: Integration {
                max_gap_us: e.integration.max_gap_us,
            },
            baseline: e.baseline.map(|b| Baseline {
                window: b.window.into(),
                power_uw: b.power_uw,
                coverage_ppm: b.coverage_ppm,
            }),
            run: (&e.run).into(),
            phases: e.phases.iter().map(|(p, w)| (*p, w.into())).collect(),
            tokens: Tokens {
                prompt: e.tokens.prompt,
                generated: e.tokens.generated,
            },
            cooldown_capped: false,
        }
    }
}

impl RunEnergy {
    /// The measured energy a run stored, with what the run says of its cooldown: the one
    /// way from a logged [`Run`] to its figures, so every reader trusts them alike.
    #[must_use]
    pub fn of_run(run: &Run) -> Option<Self> {
        run.energy.as_ref().map(|e| Self {
            cooldown_capped: run.cooldown_capped,
            ..Self::from(e)
        })
    }
}
