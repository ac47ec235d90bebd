//! Opening the configured power source, and finding which sources this machine has.
//!
//! A missing sensor is not an error for the daemon: [`start`] logs one clear warning, returns
//! a `SensorAbsent` event for the log and no source, and runs go on with estimates only.

use super::config::PowerConfig;
use super::config::SourceChoice;
use super::pmic::PmicSource;
use super::rapl::RaplSource;
use super::replay::ReplaySource;
use super::PowerError;
use super::PowerSource;
use super::SourceId;

/// Opens the INA219 on the real bus, or says why it cannot (no `i2c` feature, not Linux).
pub fn open_ina219(cfg: &PowerConfig) -> Result<Box<dyn PowerSource>, PowerError> {
    #[cfg(all(feature = "i2c", target_os = "linux"))]
    {
        super::ina219::open_linux(&cfg.ina219).map(|s| Box::new(s) as Box<dyn PowerSource>)
    }
    #[cfg(not(all(feature = "i2c", target_os = "linux")))]
    {
        Err(PowerError::Absent {
            source_name: "ina219",
            location: format!("/dev/i2c-{}", cfg.ina219.bus),
            message: "this edgewatt was built without the `i2c` feature (Linux only)".into(),
        })
    }
}

/// Opens one kind of source from the configuration.
pub fn open(id: SourceId, cfg: &PowerConfig) -> Result<Box<dyn PowerSource>, PowerError> {
    match id {
        SourceId::Ina219 => open_ina219(cfg),
        SourceId::Pmic => PmicSource::open(&cfg.pmic).map(|s| Box::new(s) as _),
        SourceId::Rapl => {
            RaplSource::open(&cfg.rapl.root, cfg.rapl.interval_ms).map(|s| Box::new(s) as _)
        }
        SourceId::Replay => {
            let path = cfg.replay_path().map_err(PowerError::BadValue)?;
            ReplaySource::open(path).map(|s| Box::new(s) as _)
        }
    }
}

/// The order `auto` tries: the most complete measurement first.
pub const AUTO_ORDER: [SourceId; 3] = [SourceId::Ina219, SourceId::Pmic, SourceId::Rapl];

/// A source that opened, or why it did not.
pub type Opened = Result<Box<dyn PowerSource>, PowerError>;

/// Tries every real source and reports each one's outcome (for `edgewatt sensors`).
pub fn detect_all(cfg: &PowerConfig) -> Vec<(SourceId, Opened)> {
    AUTO_ORDER.iter().map(|&id| (id, open(id, cfg))).collect()
}

/// Opens the configured source. `Ok(None)` means power measurement is switched off.
/// With `auto`, the error of the last candidate is returned when none is present.
pub fn open_configured(cfg: &PowerConfig) -> Result<Option<Box<dyn PowerSource>>, PowerError> {
    let id = match cfg.source {
        SourceChoice::None => return Ok(None),
        SourceChoice::Ina219 => SourceId::Ina219,
        SourceChoice::Pmic => SourceId::Pmic,
        SourceChoice::Replay => SourceId::Replay,
        SourceChoice::Rapl => SourceId::Rapl,
        SourceChoice::Auto => {
            let mut reasons = Vec::new();
            for id in AUTO_ORDER {
                match open(id, cfg) {
                    Ok(s) => return Ok(Some(s)),
                    Err(e) => reasons.push(e.to_string()),
                }
            }
            return Err(PowerError::Absent {
                source_name: "auto",
                location: "ina219, pmic, rapl".into(),
                message: reasons.join("; "),
            });
        }
    };
    open(id, cfg).map(Some)
}

/// A configured power source that is not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absent {
    /// The configured source (`power`, `ina219`, …).
    pub source: String,
    /// Why, and what that means for the runs.
    pub message: String,
}

/// Opens a source for the daemon. On failure: one warning in the log, what is
/// [`Absent`] (the daemon logs it as a `SensorAbsent` event), and no source (the run goes
/// on with estimates only).
pub fn start<F>(open: F, source: &str) -> (Option<Box<dyn PowerSource>>, Option<Absent>)
where
    F: FnOnce() -> Result<Option<Box<dyn PowerSource>>, PowerError>,
{
    match open() {
        Ok(Some(s)) => {
            log::info!("power source: {}", s.label());
            (Some(s), None)
        }
        Ok(None) => (None, None),
        Err(e) => {
            let message = format!("{e}; no measured power, runs get estimates only");
            log::warn!("power source {source} absent: {message}");
            let absent = Absent {
                source: source.to_string(),
                message,
            };
            (None, Some(absent))
        }
    }
}
