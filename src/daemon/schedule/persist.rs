//! `schedule.json` in the state directory: the wall time each plan last started, so a
//! restarted daemon neither repeats a run nor skips one.
//!
//! ```json
//! {"format":1,"plans":{"nightly":{"last_start_unix_s":1774749600}}}
//! ```
//! Plans are told apart by `name`. The file is replaced whole (`store::replace_file`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::path::PathBuf;

use serde::Deserialize;
use serde::Serialize;

use crate::record::EventKind;

/// Its name in the state directory.
pub(in crate::daemon) const STATE_FILE: &str = "schedule.json";
const FORMAT: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Saved {
    format: u32,
    plans: BTreeMap<String, PlanState>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanState {
    last_start_unix_s: i64,
}

pub(super) struct StateFile {
    path: PathBuf,
    saved: Saved,
}

fn problem(path: &Path, message: String) -> EventKind {
    log::error!("{}: {message}", path.display());
    EventKind::ScheduleStateError {
        path: path.display().to_string(),
        message,
    }
}

/// Why the state file could not be used.
enum Unusable {
    Read(std::io::Error),
    Format(u32),
    Parse(serde_json::Error),
}

impl Unusable {
    fn message(&self) -> String {
        match self {
            Self::Read(e) => format!("cannot read it: {e}; plans start as if they never ran"),
            Self::Format(f) => format!(
                "format {f} is not {FORMAT}, which this edgewatt writes; plans start as if \
                 they never ran and the file is replaced"
            ),
            Self::Parse(e) => {
                format!("{e}; plans start as if they never ran and the file is replaced")
            }
        }
    }
}

/// The saved file at `path`; `None` if there is none.
fn read(path: &Path) -> Result<Option<Saved>, Unusable> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Unusable::Read(e)),
    };
    match serde_json::from_str::<Saved>(&text) {
        Ok(saved) if saved.format == FORMAT => Ok(Some(saved)),
        Ok(saved) => Err(Unusable::Format(saved.format)),
        Err(e) => Err(Unusable::Parse(e)),
    }
}

/// The last start of each plan saved in `dir/schedule.json` (Unix s), without logging
/// anything (`edgewatt status`); a missing file is an empty map. Errors: the file's path
/// and why it cannot be used.
pub(crate) fn saved_last_starts(dir: &Path) -> Result<BTreeMap<String, i64>, String> {
    let path = dir.join(STATE_FILE);
    match read(&path) {
        Ok(saved) => Ok(saved
            .map(|s| s.plans)
            .unwrap_or_default()
            .into_iter()
            .map(|(name, p)| (name, p.last_start_unix_s))
            .collect()),
        Err(u) => Err(format!("{}: {}", path.display(), u.message())),
    }
}

impl StateFile {
    /// Reads `dir/schedule.json`; a missing file is an empty schedule. One that cannot be
    /// read is too, with the event that says so (it is replaced at the next start).
    pub(super) fn load(dir: &Path) -> (Self, Option<EventKind>) {
        let path = dir.join(STATE_FILE);
        match read(&path) {
            Ok(Some(saved)) => (Self { path, saved }, None),
            Ok(None) => (Self::empty(path), None),
            Err(u) => {
                let event = problem(&path, u.message());
                (Self::empty(path), Some(event))
            }
        }
    }

    fn empty(path: PathBuf) -> Self {
        Self {
            path,
            saved: Saved {
                format: FORMAT,
                plans: BTreeMap::new(),
            },
        }
    }

    pub(super) fn last_start(&self, plan: &str) -> Option<i64> {
        self.saved.plans.get(plan).map(|p| p.last_start_unix_s)
    }

    /// Records a start and writes the file; on failure returns the event to log (the
    /// start is kept in memory and written with the next one).
    pub(super) fn set_last_start(&mut self, plan: &str, unix_s: i64) -> Result<(), EventKind> {
        self.saved.plans.insert(
            plan.to_owned(),
            PlanState {
                last_start_unix_s: unix_s,
            },
        );
        let json = serde_json::to_vec(&self.saved).expect("a map of plain numbers serializes");
        crate::store::replace_file(&self.path, |f| {
            f.write_all(&json)?;
            f.write_all(b"\n")
        })
        .map_err(|e| {
            problem(
                &self.path,
                format!("cannot save the last start of plan {plan:?}: {e}"),
            )
        })
    }
}
