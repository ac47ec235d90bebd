//! The fit library against known truth: synthetic data with known slopes, coefficients and
//! knees and seeded normal noise; the coverage of every CI over seeded repetitions; input
//! that must be refused; and property tests that no finite input makes a fit panic or
//! return a non-finite number.

mod coverage;
mod known_truth;
mod props;

use edgewatt::synth::Rng;

/// Seeded normal noise.
pub struct Noise(Rng);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Self(Rng::new(seed))
    }

    /// A draw from N(0, sd²).
    pub fn normal(&mut self, sd: f64) -> f64 {
        self.0.normal(sd)
    }
}

/// Nominal 95 %: with 1000 repetitions the binomial sd of a coverage is 0.0069; ±3.3 sd.
pub const COVERAGE_TOLERANCE: f64 = 0.023;
pub const REPS: u64 = 1000;

#[track_caller]
pub fn assert_coverage(what: &str, hits: u64, reps: u64) {
    let coverage = hits as f64 / reps as f64;
    eprintln!("{what}: coverage {coverage:.3} over {reps} repetitions");
    assert!(
        (coverage - 0.95).abs() <= COVERAGE_TOLERANCE,
        "{what}: {hits}/{reps} = {coverage:.3}, nominal 0.95 ± {COVERAGE_TOLERANCE}"
    );
}
