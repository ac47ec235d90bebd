//! Opening the configured power source, and finding which sources this machine has.
//!
//! A missing sensor is not an error for the daemon: [`start`] logs one clear warning, returns
//! a `SensorAbsent` event for the log and no source, and runs go on with estimates only.

use super::registry;
use super::registry::SourceChoice;
use super::PowerConfig;
use super::PowerError;
use super::PowerSource;
use super::SourceId;

/// A source that opened, or why it did not.
pub type Opened = Result<Box<dyn PowerSource>, PowerError>;

/// Opens one kind of source from the configuration.
pub fn open(id: SourceId, cfg: &PowerConfig) -> Opened {
    match registry::kind(id) {
        Some(kind) => (kind.open)(cfg),
        None => Err(PowerError::Config(format!(
            "no power source kind is registered for {}",
            id.name()
        ))),
    }
}

/// Tries every source `edgewatt sensors` shows (the sensors `auto` tries, and sources the
/// configuration gives what they need, such as a replay trace) and reports each outcome.
pub fn detect_all(cfg: &PowerConfig) -> Vec<(SourceId, Opened)> {
    super::KINDS
        .iter()
        .filter(|k| k.shown_by_sensors(cfg))
        .map(|k| (k.id, (k.open)(cfg)))
        .collect()
}

/// Opens the configured source. `Ok(None)` means power measurement is switched off.
/// With `auto`, the error lists why each candidate is absent when none is present.
pub fn open_configured(cfg: &PowerConfig) -> Result<Option<Box<dyn PowerSource>>, PowerError> {
    match cfg.source {
        SourceChoice::None => Ok(None),
        SourceChoice::Only(id) => open(id, cfg).map(Some),
        SourceChoice::Auto => {
            let mut reasons = Vec::new();
            for kind in registry::probed() {
                match (kind.open)(cfg) {
                    Ok(s) => return Ok(Some(s)),
                    Err(e) => reasons.push(e.to_string()),
                }
            }
            Err(PowerError::Absent {
                source_name: "auto",
                location: registry::probed_names(),
                message: reasons.join("; "),
            })
        }
    }
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
