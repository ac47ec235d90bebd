//! The statistics of the laws edgewatt reports, and the charts that show them.
//!
//! Pure functions over `f64` slices: no I/O, no records, no units (the caller says what
//! x and y are). Every function returns a typed [`fit::FitError`] on input it cannot fit
//! (no points, one x value, zero variance, a non-finite value), never NaN or a panic.
//!
//! - [`fit`]: the linear law (OLS with standard errors, Student-t CIs and the confidence
//!   band of the mean), least squares with several regressors and k-fold cross-validation,
//!   the knee (plateau) fit with profile and bootstrap CIs, ratios of means with CIs,
//!   output agreement, and the error of an estimate against a measurement.
//! - [`chart`]: SVG charts of those fits (law with band, knee with ψ, estimated vs
//!   measured, stacked bars), each a self-contained `<svg>` string.

pub mod chart;
pub mod fit;
