//! The calibration file (TOML; calibration/README.md is its specification).

use std::path::Path;

use serde::Deserialize;
use serde::Serialize;

use super::EstimateError;

/// The shipped Raspberry Pi 5 board average (PowerJoular's linear model).
const PI5_BOARD_AVERAGE: &str = include_str!("../../calibration/pi5-board-powerjoular.toml");
/// Where [`Calibration::pi5_board_average`] comes from, for messages.
pub const PI5_BOARD_AVERAGE_PATH: &str = "calibration/pi5-board-powerjoular.toml";

/// The coefficients of `E_est = P_idle·T + a·CPU_AUC + b·RAM_AUC [+ c·CPU·GHz_AUC]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coefficients {
    /// P_idle: board power at the idle baseline, W.
    pub idle_w: f64,
    /// a: W per machine CPU % above idle (J per %·s).
    pub cpu_w_per_pct: f64,
    /// b: W per MB of RAM used above idle (J per MB·s).
    pub ram_w_per_mb: f64,
    /// c: W per (CPU % above idle × GHz); absent: no frequency term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ghz_w_per_pct_ghz: Option<f64>,
}

/// Where the coefficients come from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// When they were fitted (RFC 3339: a TOML string, or a TOML date-time written
    /// unquoted), or, for a published model (no run fitted), what is known of it.
    #[serde(deserialize_with = "text_or_date_time")]
    pub fitted_at: String,
    /// Runs (and idle spans) fitted; 0 for a published model.
    pub runs: u64,
    /// The measured energy they were fitted against.
    pub energy_source: String,
    /// Cross-validated mean absolute percentage error of the run energy, %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cv_mape_pct: Option<f64>,
    /// Folds of the cross-validation.
    #[serde(default)]
    pub cv_folds: u32,
    /// Where a published model comes from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reference: String,
}

/// A string, or a TOML date-time (`fitted_at = 2026-11-30T12:00:00Z`, unquoted) as its
/// RFC 3339 text.
fn text_or_date_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Text(String),
        DateTime(toml::value::Datetime),
    }
    Ok(match Text::deserialize(d)? {
        Text::Text(s) => s,
        Text::DateTime(t) => t.to_string(),
    })
}

/// `whole-board power ≈ k·ΣPMIC + c_w`, fitted where both were measured at once.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PmicMapping {
    pub k: f64,
    pub c_w: f64,
    /// Seconds fitted (each a pair: the mean INA219 and mean PMIC power of one second
    /// where both read), and R² of the fit.
    pub pairs: u64,
    pub r2: f64,
}

/// A calibration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// Named in every estimate: `estimate:<id>`.
    pub id: String,
    /// The device it was fitted on; empty for a board average (any device of the board).
    #[serde(default)]
    pub device_id: String,
    /// An uncalibrated average of the board, not a fit on this device.
    #[serde(default)]
    pub board_average: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub model: Coefficients,
    pub provenance: Provenance,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pmic_to_total: Option<PmicMapping>,
}

impl Calibration {
    /// The shipped Raspberry Pi 5 starting point: PowerJoular's published linear model,
    /// an uncalibrated board average.
    #[must_use]
    pub fn pi5_board_average() -> Self {
        Self::parse(PI5_BOARD_AVERAGE, Path::new(PI5_BOARD_AVERAGE_PATH))
            .expect("the shipped calibration parses (tested)")
    }

    /// Reads and checks a calibration file.
    pub fn load(path: &Path) -> Result<Self, EstimateError> {
        let text = std::fs::read_to_string(path).map_err(|source| EstimateError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks calibration text; errors name `path:line:column`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, EstimateError> {
        let invalid = |(line, column), message: String| EstimateError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message,
        };
        let cal: Self = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map_or((1, 1), |s| crate::config::line_column(text, s.start));
            invalid(at, crate::config::toml_message(text, &e))
        })?;
        if let Some((keys, message)) = cal.problem() {
            return Err(invalid(crate::config::key_position(text, &keys), message));
        }
        Ok(cal)
    }

    /// The first value that cannot be used: its dotted key and what is wrong.
    fn problem(&self) -> Option<(Vec<&'static str>, String)> {
        if self.id.trim().is_empty() || self.id.contains(char::is_whitespace) {
            return Some((vec!["id"], format!("id {:?} must be one word", self.id)));
        }
        let m = &self.model;
        let mut values = vec![
            ("cpu_w_per_pct", m.cpu_w_per_pct),
            ("ram_w_per_mb", m.ram_w_per_mb),
        ];
        values.extend(
            m.cpu_ghz_w_per_pct_ghz
                .map(|c| ("cpu_ghz_w_per_pct_ghz", c)),
        );
        if !(m.idle_w.is_finite() && m.idle_w > 0.0 && m.idle_w < 1000.0) {
            return Some((
                vec!["model", "idle_w"],
                format!(
                    "idle_w = {:?} W must be a power above 0 and below 1000 W",
                    m.idle_w
                ),
            ));
        }
        for (key, v) in values {
            if !v.is_finite() || !(0.0..=100.0).contains(&v) {
                return Some((
                    vec!["model", key],
                    format!(
                        "{key} = {v:?} must be a coefficient of 0 to 100 W per unit (more load \
                         cannot draw less power: calibrate again, which drops a term that \
                         fits below 0)"
                    ),
                ));
            }
        }
        if self.board_average && !self.device_id.is_empty() {
            return Some((
                vec!["board_average"],
                format!(
                    "board_average = true, but device_id = {:?}: a board average is fitted over \
                     devices and names none (device_id = \"\"); a fit on this device is not a \
                     board average (board_average = false)",
                    self.device_id
                ),
            ));
        }
        let fitted_at = &self.provenance.fitted_at;
        // Empty: not known (the report says so of the estimates).
        let unreadable = !fitted_at.is_empty() && fitted_at.parse::<jiff::Timestamp>().is_err();
        if self.provenance.runs > 0 && unreadable {
            return Some((
                vec!["provenance", "fitted_at"],
                format!(
                    "fitted_at = {fitted_at:?} must be when the fit was made, an RFC 3339 time \
                     such as \"2026-11-30T12:00:00Z\" (the report splits the runs it may have \
                     been fitted on from those after it by this time), or \"\" if not known"
                ),
            ));
        }
        if let Some(mape) = self.provenance.cv_mape_pct {
            if !(mape.is_finite() && mape >= 0.0) {
                return Some((
                    vec!["provenance", "cv_mape_pct"],
                    format!("cv_mape_pct = {mape:?} % must be a percentage of 0 or more"),
                ));
            }
        }
        if let Some(p) = &self.pmic_to_total {
            if !(p.k.is_finite() && p.k > 0.0 && p.c_w.is_finite()) {
                return Some((
                    vec!["pmic_to_total", "k"],
                    format!(
                        "k = {:?} must be positive and c_w = {:?} finite",
                        p.k, p.c_w
                    ),
                ));
            }
        }
        None
    }

    /// The calibration as TOML, with a header saying what it is.
    #[must_use]
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).expect("a calibration always serializes");
        format!(
            "# edgewatt calibration (calibration/README.md): E_est = idle_w·T + \
             cpu_w_per_pct·CPU_AUC + ram_w_per_mb·RAM_AUC [+ cpu_ghz_w_per_pct_ghz·CPU·GHz_AUC]\n\
             {body}"
        )
    }

    /// Writes the file atomically.
    pub fn save(&self, path: &Path) -> Result<(), EstimateError> {
        let err = |message: String| EstimateError::Write {
            path: path.to_path_buf(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        }
        let text = self.to_toml();
        crate::store::replace_file(path, |f| std::io::Write::write_all(f, text.as_bytes()))
            .map_err(|e| err(e.to_string()))
    }

    /// Whether it may estimate runs of `device`: a board average may, a device's own
    /// calibration only for that device.
    #[must_use]
    pub fn fits_device(&self, device: &str) -> bool {
        self.device_id.is_empty() || self.device_id == device
    }

    /// `estimate:<id>`.
    #[must_use]
    pub fn source(&self) -> String {
        format!("estimate:{}", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_pi5_file_is_powerjoulars_linear_model_as_a_board_average() {
        let c = Calibration::pi5_board_average();
        assert!(c.board_average && c.device_id.is_empty());
        assert_eq!(c.model.idle_w, 4.4032);
        // 3.4579 W at u = 1, i.e. per 100 %: 0.034579 W per %.
        assert!((c.model.cpu_w_per_pct - 0.034579).abs() < 1e-12);
        assert_eq!(c.model.ram_w_per_mb, 0.0);
        assert!(c.provenance.reference.contains("PowerJoular"));
        assert_eq!(c.source(), "estimate:pi5-board-powerjoular");
        assert!(c.fits_device("any-pi"));
    }

    #[test]
    fn a_calibration_round_trips_through_its_file() {
        let mut c = Calibration::pi5_board_average();
        c.id = "dev-1".into();
        c.device_id = "dev".into();
        c.board_average = false;
        c.model.cpu_ghz_w_per_pct_ghz = Some(0.001);
        c.pmic_to_total = Some(PmicMapping {
            k: 1.1451,
            c_w: 0.5879,
            pairs: 100,
            r2: 0.99,
        });
        let text = c.to_toml();
        assert_eq!(Calibration::parse(&text, Path::new("x.toml")).unwrap(), c);
        assert!(c.fits_device("dev") && !c.fits_device("other"));
    }

    /// The line (from 1) of `text` that starts with `key`.
    fn line_of(text: &str, key: &str) -> usize {
        text.lines().position(|l| l.starts_with(key)).unwrap() + 1
    }

    fn error(text: &str) -> String {
        Calibration::parse(text, Path::new("cal.toml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_values_are_named_at_file_line_column() {
        let good = PI5_BOARD_AVERAGE;
        let bad = good.replace("idle_w = 4.4032", "idle_w = -1.0");
        let line = line_of(&bad, "idle_w");
        let e = error(&bad);
        assert!(
            e.starts_with(&format!("cal.toml:{line}:10: idle_w = -1.0 W")),
            "{e}"
        );
        let e = error(&good.replace("ram_w_per_mb = 0.0", "ram_w_per_mb = nan"));
        assert!(
            e.contains("ram_w_per_mb = NaN must be a coefficient of 0 to 100 W"),
            "{e}"
        );
        // A negative coefficient would give less energy for more load.
        let bad = good.replace("ram_w_per_mb = 0.0", "ram_w_per_mb = -0.002");
        let line = line_of(&bad, "ram_w_per_mb");
        let e = error(&bad);
        assert!(
            e.starts_with(&format!(
                "cal.toml:{line}:16: ram_w_per_mb = -0.002 must be"
            )),
            "{e}"
        );
        assert!(e.contains("cannot draw less power"), "{e}");
        // A syntax error's message on one line (toml says "invalid table header" and
        // "expected ..." on two).
        let e = error(&good.replace("[model]", "[model"));
        assert!(!e.contains('\n') && e.contains("; "), "{e}");
        let e = error(&good.replace("[model]", "colour = 1\n[model]"));
        assert!(e.contains("unknown field `colour`"), "{e}");
        assert!(e.starts_with("cal.toml:"), "{e}");
        let e = error(&good.replace("idle_w = 4.4032", "idle_w = \"four\""));
        assert!(
            e.contains("invalid type") && e.contains("correct it"),
            "{e}"
        );
        // A huge value in a few characters, not three hundred digits.
        let e = error(&good.replace("idle_w = 4.4032", "idle_w = 1e300"));
        assert!(e.contains("idle_w = 1e300 W must be"), "{e}");
        // A fit's time that is not a time (rev-c: "yesterday" was taken, and every run's
        // estimate became "fit time unknown"); unquoted, a TOML date-time is read as one.
        let fitted = |at: &str| {
            good.replace("runs = 0", "runs = 40").replace(
                "fitted_at = \"unknown (a published model)\"",
                &format!("fitted_at = {at}"),
            )
        };
        let bad = fitted("\"yesterday\"");
        let line = line_of(&bad, "fitted_at");
        let e = error(&bad);
        assert!(
            e.starts_with(&format!(
                "cal.toml:{line}:13: fitted_at = \"yesterday\" must be"
            )),
            "{e}"
        );
        let at = "2026-11-30T12:00:00Z";
        for text in [format!("\"{at}\""), at.to_owned()] {
            let cal = Calibration::parse(&fitted(&text), Path::new("cal.toml")).unwrap();
            assert_eq!(cal.provenance.fitted_at, at);
        }
        let e = error(&good.replace("device_id = \"\"", "device_id = \"pi-1\""));
        assert!(
            e.contains("board_average = true, but device_id = \"pi-1\""),
            "{e}"
        );
        let e = error(&good.replace("[provenance]", "[provenance]\ncv_mape_pct = nan"));
        assert!(
            e.contains("cv_mape_pct = NaN % must be a percentage"),
            "{e}"
        );
    }
}
