//! The energy estimate from sampled CPU and RAM, calibrated per device against measured
//! energy.
//!
//! **Model.** `E_est = P_idle·T + a·CPU_AUC + b·RAM_AUC [+ c·CPU·GHz_AUC]`, with `T` the run's
//! duration (s), `CPU_AUC` the machine CPU % above the idle baseline integrated over the run
//! (%·s), `RAM_AUC` the RAM used above idle (MB·s) and the optional frequency term the CPU
//! excess weighted by the clock (%·GHz·s). The AUCs are the **signed** ones (dips below idle
//! subtract): with power linear in CPU % and RAM, energy is linear in the signed AUCs
//! exactly, while the clamped AUC adds the positive part of the noise around idle, which
//! grows with `T` and biases `P_idle`. `P_idle` is the board's power at its idle baseline
//! (not at 0 % CPU). The net estimate is the usage terms alone, `E_est − P_idle·T`.
//!
//! **Calibration.** The coefficients come from a calibration file ([`Calibration`],
//! calibration/README.md has the format), fitted by `edgewatt calibrate` ([`fit`]) on runs
//! with measured energy, with their provenance and cross-validated error. The shipped
//! starting point ([`Calibration::pi5_board_average`]) is PowerJoular's published linear
//! Raspberry Pi 5 model, an uncalibrated board average. Every estimate names the calibration
//! it used: its source is `estimate:<calibration id>`.
//!
//! **Frequency term.** Used only when the calibration has one: `calibrate` fits the model
//! with and without it, and keeps it only if it lowers the cross-validated error by at least
//! [`fit::FREQ_TERM_MIN_GAIN`] (see there for why).
//!
//! **PMIC correction.** The Pi 5 PMIC's rail sum misses the 5 V side and the regulators'
//! losses. A calibration may hold the mapping `total ≈ k·ΣPMIC + c` fitted where a log holds
//! both an INA219 and the PMIC ([`pmic`]); a run measured by the PMIC alone then also gets
//! a corrected whole-board figure (`pmic-corrected:<calibration id>`).

mod apply;
mod file;
pub mod fit;
pub mod import;
pub mod pmic;

pub use apply::apply;
pub use apply::Calibrations;
pub use file::Calibration;
pub use file::Coefficients;
pub use file::PmicMapping;
pub use file::Provenance;

use std::path::PathBuf;

/// Why a calibration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EstimateError {
    #[error(
        "cannot read calibration {path}: {source}: check the path (given to --calibration, \
         else a file of <state_dir>/calibration/)"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}:{column}: {message}: correct it, or fit the device's own file with \
         `edgewatt calibrate` (calibration/README.md)"
    )]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "calibration {path} ({id}) was fitted on device {fitted_on}, not {device}: its \
         coefficients describe another board; run `edgewatt calibrate` on this device, or \
         pass --force-calibration to use it anyway"
    )]
    OtherDevice {
        path: PathBuf,
        id: String,
        fitted_on: String,
        device: String,
    },
    #[error("cannot write calibration {path}: {message}")]
    Write { path: PathBuf, message: String },
}
