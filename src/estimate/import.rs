//! Fit points from exported runs (CSV or Parquet of `edgewatt export runs`), so a fleet's
//! runs can be pooled: the same selection as [`points`](super::fit::points) on cost rows.

use std::path::Path;

use super::fit::Point;
use crate::cost::RowKey;
use crate::cost::RowKind;
use crate::export::read_table;
use crate::export::ExportError;
use crate::export::Table;
use crate::export::Value;
use crate::export::RUN_COLUMNS;

/// The columns a fit needs.
const NEEDED: [&str; 13] = [
    "kind",
    "ok",
    "duration_s",
    "cpu_signed_auc_pct_s",
    "ram_signed_auc_mb_s",
    "cpu_mean_pct",
    "energy_gross_j",
    "energy_trusted",
    "usage_trusted",
    "label",
    "device_id",
    "energy_coverage",
    "usage_coverage",
];

/// Why exported runs cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Read(#[from] ExportError),
    #[error(
        "{path}: no column {column}: not a runs table of `edgewatt export runs` (export the \
         runs again with this version)"
    )]
    Missing { path: String, column: &'static str },
    #[error(
        "{path}: row {row} ({label}): {column} = {value}: impossible for a run (not a number; \
         a negative duration, energy or coverage; a CPU share outside 0 to 100 %, or a CPU AUC \
         beyond 100 % over the run's duration); fix or drop the row, or export the runs again"
    )]
    Impossible {
        path: String,
        /// 1-based, the header not counted.
        row: usize,
        label: String,
        column: &'static str,
        value: f64,
    },
}

/// What values a numeric column can hold.
#[derive(Clone, Copy)]
enum Range {
    /// Any finite number (a signed AUC is negative below the baseline).
    Any,
    NotNegative,
    /// A machine CPU share, 0–100 %.
    Share,
    /// A machine CPU AUC, %·s: at most 100 % over the run's duration either way.
    ShareOverDuration,
}

/// The numeric columns of [`NEEDED`] (by index) a fit reads, and what they can hold.
const NUMERIC: [(usize, Range); 7] = [
    (2, Range::NotNegative),
    (3, Range::ShareOverDuration),
    (4, Range::Any),
    (5, Range::Share),
    (6, Range::NotNegative),
    (11, Range::NotNegative),
    (12, Range::NotNegative),
];

impl Range {
    /// Whether `v` is impossible here, for a run of `duration_s` (unknown: not checked).
    fn excludes(self, v: f64, duration_s: Option<f64>) -> bool {
        // Rounding in the export's six decimals and the AUC's edge intervals.
        const SLACK: f64 = 1e-6;
        !v.is_finite()
            || match self {
                Self::Any => false,
                Self::NotNegative => v < 0.0,
                Self::Share => !(0.0..=100.0 + SLACK).contains(&v),
                Self::ShareOverDuration => {
                    duration_s.is_some_and(|d| v.abs() > 100.0 * d * (1.0 + SLACK) + SLACK)
                }
            }
    }
}

/// Counts of the rows left out, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Excluded {
    pub rows: usize,
    pub idle: usize,
    pub failed: usize,
    pub no_energy: usize,
    pub untrusted: usize,
    /// Read twice (a run in two sources), counted once.
    pub repeated: usize,
    /// Of devices other than the one fitted.
    pub other_device: usize,
    /// Measured by another meter than the one fitted.
    pub other_meter: usize,
}

impl Excluded {
    /// Adds the counts of `other` (another source of rows).
    pub fn merge(&mut self, other: Self) {
        self.rows += other.rows;
        self.idle += other.idle;
        self.failed += other.failed;
        self.no_energy += other.no_energy;
        self.untrusted += other.untrusted;
        self.repeated += other.repeated;
        self.other_device += other.other_device;
        self.other_meter += other.other_meter;
    }
}

impl std::fmt::Display for Excluded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} rows read ({} idle lead-ins); left out: {} failed, {} without measured \
             energy, {} with untrusted energy or usage",
            self.rows, self.idle, self.failed, self.no_energy, self.untrusted
        )?;
        for (n, why) in [
            (self.repeated, "read twice (counted once)"),
            (self.other_device, "of other devices"),
            (self.other_meter, "measured by another meter"),
        ] {
            if n > 0 {
                write!(f, ", {n} {why}")?;
            }
        }
        Ok(())
    }
}

/// The fit points of an exported runs file, and the rows left out. `min_coverage` (0–1) is
/// the threshold of this fit: a row's energy and usage coverage must reach it too. (The
/// trust flags were set with the exporter's threshold: a lower one here cannot trust a row
/// they did not; export again with it.)
pub fn points_from_file(
    path: &Path,
    min_coverage: f64,
) -> Result<(Vec<Point>, Excluded), ImportError> {
    let table = read_table(path, &RUN_COLUMNS)?;
    points_from_table(&table, &path.display().to_string(), min_coverage)
}

/// The fit points of a runs table (`name` for errors), as [`points_from_file`].
pub fn points_from_table(
    table: &Table,
    name: &str,
    min_coverage: f64,
) -> Result<(Vec<Point>, Excluded), ImportError> {
    let mut at = [0; NEEDED.len()];
    for (slot, column) in at.iter_mut().zip(NEEDED) {
        *slot = table.column(column).ok_or(ImportError::Missing {
            path: name.to_owned(),
            column,
        })?;
    }
    let ghz = table.column("cpu_ghz_signed_auc_pct_ghz_s");
    let source = table.column("energy_source");
    let run_id = table.column("run_id");
    let (boot_id, start_mono_us) = (table.column("boot_id"), table.column("start_mono_us"));
    let mut ex = Excluded {
        rows: table.rows.len(),
        ..Excluded::default()
    };
    let mut out = Vec::new();
    for (n, row) in table.rows.iter().enumerate() {
        let get = |i: usize| &row[at[i]];
        let f = |i: usize| get(i).as_f64();
        // A value no log can give (a hand-edited or foreign table) is an error naming it,
        // not a point of the fit nor a row left out unsaid.
        for (i, range) in NUMERIC {
            if let Some(v) = f(i).filter(|v| range.excludes(*v, f(2))) {
                return Err(ImportError::Impossible {
                    path: name.to_owned(),
                    row: n + 1,
                    label: get(9).as_str().unwrap_or("").to_owned(),
                    column: NEEDED[i],
                    value: v,
                });
            }
        }
        ex.idle += usize::from(get(0).as_str() == Some("idle"));
        let covered = [f(11), f(12)]
            .iter()
            .all(|c| c.is_some_and(|v| v >= min_coverage));
        let trusted = get(7).as_bool() == Some(true) && get(8).as_bool() == Some(true) && covered;
        let x = [f(2), f(3), f(4)];
        // Over the whole run, as from a log (`WindowEnergy::over_window_j`): trusted, the
        // coverage is above 0.
        let energy = f(6).map(|e| f(11).filter(|&c| c > 0.0).map_or(e, |c| e / c));
        match (get(1).as_bool(), energy, x, f(5)) {
            (Some(false), ..) => ex.failed += 1,
            (_, None, ..) => ex.no_energy += 1,
            (Some(true), Some(e), [Some(t), Some(cpu), Some(ram)], Some(u))
                if trusted && t > 0.0 && e > 0.0 =>
            {
                let opt = |c: Option<usize>| c.map_or(&Value::Null, |c| &row[c]);
                let id = |c: Option<usize>| opt(c).as_i64().and_then(|v| u64::try_from(v).ok());
                let kind = match get(0).as_str() {
                    Some("idle") => RowKind::Idle,
                    _ => RowKind::Run,
                };
                out.push(Point {
                    label: get(9).as_str().unwrap_or("").to_owned(),
                    run_id: id(run_id),
                    device_id: get(10).as_str().unwrap_or("").to_owned(),
                    key: RowKey::new(
                        get(10).as_str(),
                        opt(boot_id).as_str(),
                        kind,
                        id(run_id),
                        id(start_mono_us),
                    ),
                    x: [t, cpu, ram, opt(ghz).as_f64().unwrap_or(0.0)],
                    cpu_mean_pct: u,
                    idle: kind == RowKind::Idle,
                    energy_j: e,
                    source: opt(source).as_str().unwrap_or("").to_owned(),
                });
            }
            _ => ex.untrusted += 1,
        }
    }
    Ok((out, ex))
}
