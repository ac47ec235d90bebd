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
    /// Each device's own: the device, and its calibration (fitted on that device, or on
    /// another and used by force: it still names the device it was fitted on).
    pub devices: Vec<(String, Calibration)>,
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
    /// for the others. A directory that does not exist holds no calibration. Errors: the
    /// first refusal of [`load_each`](Self::load_each).
    pub fn load(path: &Path, devices: &[String], force: bool) -> Result<Self, EstimateError> {
        let (cals, refused) = Self::load_each(path, devices, force);
        match refused.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(cals),
        }
    }

    /// As [`load`](Self::load), but what cannot be used is refused for the devices it was
    /// for alone, which keep the shipped board average: the calibrations, and each refusal
    /// (a file that does not read or check, or was fitted on another device).
    #[must_use]
    pub fn load_each(path: &Path, devices: &[String], force: bool) -> (Self, Vec<EstimateError>) {
        if !path.is_dir() {
            let cal = match Calibration::load(path) {
                Ok(cal) => cal,
                Err(e) => return (Self::board_average(), vec![e]),
            };
            if force {
                // Every device's, still naming the device it was fitted on (so the runs of
                // the others are known to be held out from its fit).
                let cals = Self {
                    devices: Vec::new(),
                    fallback: Some(cal),
                };
                return (cals, Vec::new());
            }
            let others: Vec<&String> = devices.iter().filter(|d| !cal.fits_device(d)).collect();
            let refused: Vec<EstimateError> =
                others.iter().map(|d| other_device(path, &cal, d)).collect();
            let cals = if cal.device_id.is_empty() {
                Self {
                    devices: Vec::new(),
                    fallback: Some(cal),
                }
            } else {
                // The board average for each device refused, and for the rows of an unknown
                // device (a damaged segment header: nothing says the file fits them), as
                // without `--calibration`: labelled as the board average, not left without
                // an estimate (whose law then said no run had a trusted one).
                let board = others.into_iter().map(|d| Calibration {
                    device_id: d.clone(),
                    ..Calibration::pi5_board_average()
                });
                Self {
                    devices: std::iter::once(cal)
                        .chain(board)
                        .map(|c| (c.device_id.clone(), c))
                        .collect(),
                    fallback: Some(Calibration::pi5_board_average()),
                }
            };
            return (cals, refused);
        }
        let mut out = Self::board_average();
        let mut refused = Vec::new();
        for d in devices {
            let file: PathBuf = path.join(format!("{d}.toml"));
            if !file.exists() {
                continue;
            }
            match Calibration::load(&file) {
                Ok(cal) if cal.fits_device(d) || force => out.devices.push((d.clone(), cal)),
                Ok(cal) => refused.push(other_device(&file, &cal, d)),
                Err(e) => refused.push(e),
            }
        }
        (out, refused)
    }

    /// The calibrations of the directories `dirs` (each of `<device_id>.toml` files), in
    /// order: a device's is the first file for it that can be used; the shipped board
    /// average for the others. Each refusal as [`load_each`](Self::load_each)'s, of the
    /// devices no later directory gave one to.
    #[must_use]
    pub fn load_dirs(
        dirs: &[PathBuf],
        devices: &[String],
        force: bool,
    ) -> (Self, Vec<EstimateError>) {
        let mut out = Self::board_average();
        let mut refused: Vec<(&String, EstimateError)> = Vec::new();
        for dir in dirs {
            for d in devices {
                if out.devices.iter().any(|(of, _)| of == d) {
                    continue;
                }
                let (found, why) = Self::load_each(dir, std::slice::from_ref(d), force);
                out.devices.extend(found.devices);
                refused.extend(why.into_iter().map(|e| (d, e)));
            }
        }
        let refused = refused
            .into_iter()
            .filter(|(d, _)| !out.devices.iter().any(|(of, _)| of == *d))
            .map(|(_, e)| e)
            .collect();
        (out, refused)
    }

    /// What the directories `dirs` hold that no device of `devices` takes: for each device
    /// without a calibration of its own, the `*.toml` files there named after no device
    /// read (a calibration is found by its device's id: `mypi.toml` is not `pi-7`'s).
    #[must_use]
    pub fn unclaimed_files(&self, dirs: &[PathBuf], devices: &[String]) -> Vec<String> {
        // A device whose own file is there but refused is told as refused, not here.
        let own_file = |d: &String| {
            dirs.iter()
                .any(|dir| dir.join(format!("{d}.toml")).exists())
        };
        let without: Vec<&String> = (devices.iter())
            .filter(|d| !self.devices.iter().any(|(of, _)| of == *d) && !own_file(d))
            .collect();
        if without.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        // The shipped board average, in a copy of the shipped directory, is what a device
        // without a file of its own uses anyway.
        let shipped = Path::new(super::file::PI5_BOARD_AVERAGE_PATH).file_name();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| {
                    n.strip_suffix(".toml")
                        .is_some_and(|stem| !devices.iter().any(|d| d == stem))
                        && shipped.is_none_or(|f| f != n.as_str())
                })
                .collect();
            names.sort();
            if !names.is_empty() {
                out.push(format!(
                    "{} holds {} but no calibration named after device {}: a device's \
                     calibration is <device_id>.toml there (rename it, or name it with \
                     --calibration FILE); its runs are estimated with the shipped Pi 5 board \
                     average",
                    dir.display(),
                    names.join(", "),
                    without
                        .iter()
                        .map(|d| d.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        out
    }

    /// The calibration for a row of `device` (unknown device: the board average).
    #[must_use]
    pub fn for_device(&self, device: Option<&str>) -> Option<&Calibration> {
        device
            .and_then(|d| self.devices.iter().find(|(of, _)| of == d))
            .map(|(_, c)| c)
            .or(self.fallback.as_ref())
    }
}

/// `cal`, from `path`, refused for `device`: fitted on another.
fn other_device(path: &Path, cal: &Calibration, device: &str) -> EstimateError {
    EstimateError::OtherDevice {
        path: path.to_path_buf(),
        id: cal.id.clone(),
        fitted_on: cal.device_id.clone(),
        device: device.to_owned(),
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

/// Whether `cal` cannot have been fitted on `row` ([`EnergyEstimate::held_out`]): a
/// published model (no run fitted), another device's calibration (applied by force), or a
/// run that started after the fit. A pooled calibration (no device) may hold any device's
/// runs up to its fit.
fn held_out(cal: &Calibration, row: &RunCost) -> Option<bool> {
    let other_device =
        !cal.device_id.is_empty() && row.device_id.as_deref().is_some_and(|d| d != cal.device_id);
    if cal.provenance.runs == 0 || other_device {
        return Some(true);
    }
    let fitted_us = cal
        .provenance
        .fitted_at
        .parse::<jiff::Timestamp>()
        .ok()?
        .as_microsecond();
    Some(row.start_unix_us? > fitted_us)
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
                held_out: held_out(cal, row),
                of_pmic: cal.provenance.energy_source == "pmic",
            }
        });
        // A calibration fitted against the PMIC estimates the PMIC's power: its runs are
        // compared with the PMIC as it reads (a file written before calibrate refused a
        // mapping to such a fit may still hold one).
        let pmic =
            row.energy_source_kind() == Some("pmic") && cal.provenance.energy_source != "pmic";
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A calibration of `device` (empty: a board calibration) with id `id`.
    fn cal(id: &str, device: &str) -> Calibration {
        let mut c = Calibration::pi5_board_average();
        c.id = id.into();
        c.device_id = device.into();
        c.board_average = device.is_empty();
        c
    }

    fn ids(cals: &Calibrations, devices: &[&str]) -> Vec<String> {
        devices
            .iter()
            .map(|d| {
                cals.for_device(Some(d))
                    .map_or("-".into(), |c| c.id.clone())
            })
            .collect()
    }

    #[test]
    fn a_file_of_one_device_is_refused_for_the_others_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        cal("fit-a", "pi-a").save(&path).unwrap();
        let devices = ["pi-a".to_owned(), "pi-b".to_owned()];
        let (cals, refused) = Calibrations::load_each(&path, &devices, false);
        assert_eq!(
            ids(&cals, &["pi-a", "pi-b"]),
            ["fit-a", "pi5-board-powerjoular"]
        );
        assert!(
            matches!(&refused[..], [EstimateError::OtherDevice { device, .. }] if device == "pi-b"),
            "{refused:?}"
        );
        let strict = Calibrations::load(&path, &devices, false).unwrap_err();
        assert_eq!(strict.to_string(), refused[0].to_string());
        // Forced, it is every device's; for its own device alone, nothing else is made up.
        let (forced, none) = Calibrations::load_each(&path, &devices, true);
        assert_eq!(ids(&forced, &["pi-a", "pi-b"]), ["fit-a", "fit-a"]);
        assert!(none.is_empty());
        let own = Calibrations::load(&path, &devices[..1], false).unwrap();
        // Rows of an unknown device (a damaged header) or of a device not among `devices`
        // get what they get without `--calibration`: the board average.
        assert_eq!(
            ids(&own, &["pi-a", "pi-c"]),
            ["fit-a", "pi5-board-powerjoular"]
        );
        for c in [&own, &cals] {
            assert_eq!(
                c.for_device(None).map(|c| c.id.as_str()),
                Some("pi5-board-powerjoular")
            );
        }
    }

    #[test]
    fn a_directory_refuses_a_bad_file_for_its_device_and_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        cal("fit-a", "pi-a")
            .save(&dir.path().join("pi-a.toml"))
            .unwrap();
        std::fs::write(dir.path().join("pi-b.toml"), "id = \"x\"\n").unwrap();
        cal("fit-z", "pi-z")
            .save(&dir.path().join("pi-c.toml"))
            .unwrap();
        let devices: Vec<String> = ["pi-a", "pi-b", "pi-c", "pi-d"].map(str::to_owned).into();
        let (cals, refused) = Calibrations::load_each(dir.path(), &devices, false);
        let board = "pi5-board-powerjoular";
        assert_eq!(
            ids(&cals, &["pi-a", "pi-b", "pi-c", "pi-d"]),
            ["fit-a", board, board, board]
        );
        assert_eq!(refused.len(), 2, "{refused:?}");
        assert!(
            matches!(refused[0], EstimateError::Invalid { .. }),
            "{refused:?}"
        );
        assert!(
            matches!(refused[1], EstimateError::OtherDevice { .. }),
            "{refused:?}"
        );
        // A file of the directory that cannot be read (the default directory is found
        // without --calibration): what to check names both.
        std::fs::create_dir(dir.path().join("pi-d.toml")).unwrap();
        let (_, refused) = Calibrations::load_each(dir.path(), &devices, false);
        let unread = refused.last().unwrap().to_string();
        assert!(
            unread.contains("pi-d.toml") && unread.contains("<state_dir>/calibration/"),
            "{unread}"
        );
        // Forced, pi-c's file is pi-c's, though fitted on pi-z (it was pi-z's alone).
        let (forced, _) = Calibrations::load_each(dir.path(), &devices, true);
        assert_eq!(
            ids(&forced, &["pi-a", "pi-c", "pi-z"]),
            ["fit-a", "fit-z", board]
        );
        assert_eq!(forced.for_device(Some("pi-c")).unwrap().device_id, "pi-z");
    }
}
