//! Derived values: utilisation series from raw samples, idle baselines, and the area
//! under the curve (AUC) above the baseline. Pure functions, no I/O.
//!
//! The method follows the reference paper (../shared/notes/field.md §1): sample CPU and
//! RAM utilisation (the paper at 5 Hz; edgewatt at its configured rate), subtract a
//! stable idle baseline, and integrate the excess with the trapezoidal rule:
//! Σ (f_i + f_{i+1}) / 2 · (t_{i+1} − t_i).
//!
//! Stages, each usable alone:
//! 1. [`utilisation`] turns consecutive raw [`Sample`](crate::record::Sample)s into
//!    [`Series`]: machine CPU % (100 % = the whole machine), per-core-sum CPU %
//!    (100 % per core, 400 % on 4 cores), RAM used MB, and per tracked process CPU % in
//!    both conventions and RSS MB. **MB = MiB = 1024 kB** (the kernel's "kB" is KiB).
//! 2. [`baseline`] over an explicit quiet window, or [`quietest_window`] to find one.
//! 3. [`auc`] over a window (clamped `max(0, u − baseline)` and signed), per phase of a
//!    run with [`phase_auc`]; [`UsageAuc`] does all series of a [`Utilisation`] at once.
//!
//! 4. [`conditions`]: a run's mean CPU frequency, its CPU excess weighted by frequency,
//!    peak temperature and throttling flags.
//!
//! Every area — this AUC, measured energy ([`energy`]) and the worker's RSS AUC
//! ([`runs`]) — comes from one integer trapezoid integrator, [`trapezoid`].
//!
//! Missing readings and counter resets become gaps, which are never integrated;
//! every AUC reports its coverage and largest gap.
//!
//! ```
//! use edgewatt::derive::{auc, GapRule, Series, Window};
//!
//! // (0 s, 10 %), (1 s, 30 %), (3 s, 30 %) sampled nominally every second, baseline 10 %:
//! // (0 + 20)/2 · 1 + (20 + 20)/2 · 2 = 50 %·s.
//! let rule = GapRule::new(1_000_000, GapRule::DEFAULT_FACTOR)?;
//! let s = Series::from_parts(&[(0, 10.0), (1_000_000, 30.0), (3_000_000, 30.0)], &[], rule)?;
//! let a = auc(&s, Window::new(0, 3_000_000)?, 10.0);
//! assert_eq!(a.above, 50.0);
//! assert_eq!(a.coverage.fraction, 1.0);
//! # Ok::<(), edgewatt::derive::DeriveError>(())
//! ```

mod auc;
mod baseline;
pub mod conditions;
pub mod energy;
pub mod runs;
mod series;
pub mod trapezoid;
mod usage;
mod util;

pub use auc::auc;
pub use auc::phase_auc;
pub use auc::Auc;
pub use auc::PhaseAuc;
pub use baseline::baseline;
pub use baseline::quietest_window;
pub use baseline::Baseline;
pub use baseline::MIN_BASELINE_POINTS;
pub use series::Coverage;
pub use series::GapRule;
pub use series::Series;
pub use series::Shape;
pub use series::Window;
pub use usage::phase_usage;
pub use usage::CpuAuc;
pub use usage::ProcAuc;
pub use usage::ProcBaseline;
pub use usage::ProcBaselinePolicy;
pub use usage::UsageAuc;
pub use usage::UsageBaseline;
pub use util::machine_cpu_pct;
pub use util::per_core_sum_cpu_pct;
pub use util::proc_cpu_pct;
pub use util::ram_used_mb;
pub use util::rss_mb;
pub use util::utilisation;
pub use util::DeriveOptions;
pub use util::GapCause;
pub use util::ProcUtil;
pub use util::Rate;
pub use util::Utilisation;
pub use util::DEFAULT_USER_HZ;
pub use util::KB_PER_MB;

/// Why a derivation could not be done.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeriveError {
    #[error("window [{start_us}, {end_us}] µs is empty: its end must be after its start")]
    EmptyWindow { start_us: u64, end_us: u64 },
    #[error(
        "phase {} [{t_start_us}, {t_end_us}] µs is empty: its end must be after its start",
        phase.name()
    )]
    EmptyPhase {
        phase: crate::record::RunPhase,
        t_start_us: u64,
        t_end_us: u64,
    },
    #[error("nominal sampling interval is 0 µs: give the sampler's interval (1e6 / rate_hz)")]
    ZeroInterval,
    #[error("gap factor {factor} must be finite and at least 1 (default 2.5)")]
    BadGapFactor { factor: f64 },
    #[error("USER_HZ is 0: pass the kernel's clock tick rate (getconf CLK_TCK, usually 100)")]
    ZeroUserHz,
    #[error(
        "series time {t_us} µs is not after the previous entry at {prev_us} µs: \
         push points and breaks in increasing time order"
    )]
    SeriesOrder { t_us: u64, prev_us: u64 },
    #[error("series value at {t_us} µs is not finite")]
    NotFinite { t_us: u64 },
    #[error(
        "sample {index} does not fit the layout (cpu lines, procs, zones or policies differ): \
         derive each layout's samples separately"
    )]
    LayoutMismatch { index: usize },
    #[error(
        "sample {index} at {mono_us} µs is not after the previous sample at {prev_us} µs: \
         split the samples at a reboot or daemon restart and derive each part separately"
    )]
    NotIncreasing {
        index: usize,
        mono_us: u64,
        prev_us: u64,
    },
    #[error(
        "layout has {cpus} /proc/stat cpu lines: per-core values need the aggregate line \
         and at least one core"
    )]
    NoCores { cpus: u16 },
    #[error(
        "cannot estimate the sampling interval from {samples} sample(s): \
         give nominal_interval_us or at least 2 samples"
    )]
    NoInterval { samples: usize },
    #[error(
        "{what}: window [{t0_us}, {t1_us}] µs holds {n} point(s), at least {min} needed: \
         widen the window or pick a quieter stretch without gaps"
    )]
    TooFewPoints {
        what: String,
        t0_us: u64,
        t1_us: u64,
        n: usize,
        min: usize,
    },
    #[error(
        "no window of {len_us} µs with at least {min} points fits in the series \
         ({n} points): record a longer idle stretch or shorten the window"
    )]
    NoQuietWindow { len_us: u64, n: usize, min: usize },
}

#[cfg(test)]
mod tests;
