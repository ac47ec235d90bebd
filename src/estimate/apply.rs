//! Estimates on cost rows, from the calibration that fits each row's device.

use std::path::Path;
use std::path::PathBuf;

use super::Calibration;
use super::Coefficients;
use super::EstimateError;
use crate::cost::CorrectedEnergy;
use crate::cost::EnergyEstimate;
use crate::cost::RunCost;

/// The calibrations to estimate with: each device's own, else a board average.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Calibrations {
    /// Fitted on one device each.
    pub devices: Vec<Calibration>,
    /// For devices without their own (a board average).
    pub fallback: Option<Calibration>,
}

impl Calibrations {
    /// The shipped Pi 5 board average only.
    #[must_use]
    pub fn board_average() -> Self {
        Self {
            devices: Vec::new(),
            fallback: Some(Calibration::pi5_board_average()),
        }
    }

    /// What `--calibration PATH` says: a file (used for every row; one fitted on another
    /// device than one of `devices` is refused unless `force`), or a directory of
    /// `<device_id>.toml` files (each used for its device) with the shipped board average
    /// for the others. A directory that does not exist holds no calibration.
    pub fn load(path: &Path, devices: &[String], force: bool) -> Result<Self, EstimateError> {
        if !path.is_dir() {
            let cal = Calibration::load(path)?;
            if let Some(other) = devices
                .iter()
                .find(|d| !cal.fits_device(d))
                .filter(|_| !force)
            {
                return Err(EstimateError::OtherDevice {
                    path: path.to_path_buf(),
                    id: cal.id.clone(),
                    fitted_on: cal.device_id.clone(),
                    device: other.clone(),
                });
            }
            let mut cal = cal;
            if force {
                cal.device_id.clear();
            }
            return Ok(if cal.device_id.is_empty() {
                Self {
                    devices: Vec::new(),
                    fallback: Some(cal),
                }
            } else {
                Self {
                    devices: vec![cal],
                    fallback: None,
                }
            });
        }
        let mut out = Self::board_average();
        for d in devices {
            let file: PathBuf = path.join(format!("{d}.toml"));
            if file.exists() {
                let cal = Calibration::load(&file)?;
                if !cal.fits_device(d) && !force {
                    return Err(EstimateError::OtherDevice {
                        path: file,
                        id: cal.id,
                        fitted_on: cal.device_id,
                        device: d.clone(),
                    });
                }
                out.devices.push(cal);
            }
        }
        Ok(out)
    }

    /// The calibration for a row of `device` (unknown device: the board average).
    #[must_use]
    pub fn for_device(&self, device: Option<&str>) -> Option<&Calibration> {
        device
            .and_then(|d| self.devices.iter().find(|c| c.device_id == d))
            .or(self.fallback.as_ref())
    }
}

/// The four regressors of a row: T s, CPU %·s, RAM MB·s, CPU·GHz %·GHz·s (0 without
/// frequency readings). `None` without trusted usage.
#[must_use]
pub fn regressors(row: &RunCost) -> Option<[f64; 4]> {
    let u = row.usage.as_ref().filter(|_| row.trust.usage)?;
    Some([
        row.duration_s?,
        u.cpu_signed_pct_s,
        u.ram_signed_mb_s,
        row.conditions.cpu_ghz_signed_pct_ghz_s.unwrap_or(0.0),
    ])
}

/// `E_est` of a row's regressors, J: (gross, net).
#[must_use]
pub fn energy_j(m: &Coefficients, x: [f64; 4]) -> (f64, f64) {
    let net = m.cpu_w_per_pct * x[1]
        + m.ram_w_per_mb * x[2]
        + m.cpu_ghz_w_per_pct_ghz.unwrap_or(0.0) * x[3];
    (m.idle_w * x[0] + net, net)
}

/// Adds to each row the estimate of its device's calibration (rows without trusted usage
/// get none), and, for energy measured by the PMIC, the whole-board figure of the
/// calibration's PMIC mapping.
pub fn apply(rows: &mut [RunCost], cals: &Calibrations) {
    // Each calibration's label, made once (rows are thousands, calibrations few).
    let mut sources: Vec<(&Calibration, String)> = Vec::new();
    for row in rows {
        let Some(cal) = cals.for_device(row.device_id.as_deref()) else {
            continue;
        };
        let i = match sources.iter().position(|(c, _)| std::ptr::eq(*c, cal)) {
            Some(i) => i,
            None => {
                sources.push((cal, cal.source()));
                sources.len() - 1
            }
        };
        let source = sources[i].1.clone();
        row.estimate = regressors(row).map(|x| {
            let (gross_j, net_j) = energy_j(&cal.model, x);
            EnergyEstimate {
                source,
                board_average: cal.board_average,
                gross_j,
                net_j,
            }
        });
        let pmic = row.energy_source_kind() == Some("pmic");
        row.corrected = cal
            .pmic_to_total
            .filter(|_| pmic)
            .zip(row.energy.as_ref())
            .map(|(m, e)| CorrectedEnergy {
                source: format!("pmic-corrected:{}", cal.id),
                gross_j: m.k * e.run.gross_j() + m.c_w * e.run.covered_us as f64 / 1e6,
            });
    }
}
