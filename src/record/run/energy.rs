//! Measured energy as a Run stores it: integers with their units in their names (µJ, µW,
//! µs, ppm, mHz). `derive::energy` computes it and converts to and from its working types;
//! the readings it came from are in the same log (Power records), so it can be recomputed.

use serde::Deserialize;
use serde::Serialize;

use super::RunPhase;

/// A stretch of CLOCK_MONOTONIC time, µs, `start_us ≤ end_us` (may be empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonoWindow {
    pub start_us: u64,
    pub end_us: u64,
}

/// How far apart two readings may be and still be joined, µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnergyIntegration {
    pub max_gap_us: u64,
}

/// Energy over one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnergyWindow {
    pub window: MonoWindow,
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

/// Idle power measured over a quiet window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnergyBaseline {
    pub window: MonoWindow,
    pub power_uw: i64,
    pub coverage_ppm: u32,
}

/// Token counts the per-token figures divide by (prompt: text and image tokens).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCounts {
    pub prompt: u64,
    pub generated: u64,
}

/// Measured energy of one run: where it came from, the whole run and each phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeasuredEnergy {
    /// The source's label (what it measures and misses).
    pub source: String,
    /// Nominal sampling period of the source, µs.
    pub period_us: u64,
    /// Valid readings per second inside the run window, mHz.
    pub measured_rate_mhz: u64,
    pub integration: EnergyIntegration,
    pub baseline: Option<EnergyBaseline>,
    pub run: EnergyWindow,
    /// Energy of each phase but `Done`, in the run's order.
    pub phases: Vec<(RunPhase, EnergyWindow)>,
    pub tokens: TokenCounts,
}
