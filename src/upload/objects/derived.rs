//! The Parquet export of one sealed segment, uploaded next to it: its runs and its
//! samples, made by `edgewatt export`'s one writer ([`crate::export`]).
//!
//! **Which rows.** The runs file holds the cost rows ([`crate::cost`]) whose record is in
//! this segment: each run whose Run record is in it, and each plan's idle lead-in whose
//! `PlanStart` event is in it. The samples file holds the samples whose frames are in it.
//! Every run is thus in exactly one segment's runs file.
//!
//! **Context.** A run's record is written when it ends, so its samples, power readings and
//! idle baseline may lie in the segment before. The rows are derived from this segment
//! and the sealed one before it in the same directory, read as one log: a run reaching
//! further back than that (or whose earlier segment was deleted before the upload was
//! enabled) has lower coverage, so its figures are shown as not trusted (with the reason)
//! and left out of every trusted mean, never a wrong number. Retention keeps a segment
//! until the segment after it is uploaded too ([`super::super::manifest::may_delete`]), so
//! the context is the same on every call: the same bytes, and an export acknowledged
//! before a restart is recognised after it.
//!
//! **Thresholds and estimate.** The coverage threshold is the default
//! ([`crate::cost::DEFAULT_MIN_COVERAGE`]; the coverage columns are there to apply
//! another one in SQL). The estimate uses the state directory's `calibration/` (as
//! `edgewatt export` does), else the shipped board average; its source column names it.

use std::path::PathBuf;

use crate::cost::CostLog;
use crate::cost::CostOptions;
use crate::estimate::Calibrations;
use crate::export::run_table;
use crate::export::write_table;
use crate::export::ExportError;
use crate::export::Format;
use crate::export::SampleExport;
use crate::export::Table;
use crate::logread::Filter;
use crate::logread::LogSource;
use crate::store::list_segments;

use super::Object;
use super::Segment;
use super::Source;
use super::UploadError;

/// Content type of the Parquet objects.
pub const PARQUET_CONTENT_TYPE: &str = "application/vnd.apache.parquet";

/// `<partition><first_seq>.runs.parquet` and `.samples.parquet` of `seg`.
pub(super) fn parquet_objects(seg: &Segment, partition: &str) -> Result<Vec<Object>, UploadError> {
    let stem = seg.name.split('.').next().unwrap_or(&seg.name);
    let runs = runs_parquet(seg)?;
    let samples = samples_parquet(seg)?;
    Ok(vec![
        Object {
            key: format!("{partition}{stem}.runs.parquet"),
            content_type: PARQUET_CONTENT_TYPE,
            source: Source::Bytes(runs),
        },
        Object {
            key: format!("{partition}{stem}.samples.parquet"),
            content_type: PARQUET_CONTENT_TYPE,
            source: Source::Bytes(samples),
        },
    ])
}

fn derive_error(seg: &Segment, why: impl std::fmt::Display) -> UploadError {
    UploadError::Derive {
        path: seg.path.clone(),
        why: why.to_string(),
    }
}

/// The first seq in the segment's name.
fn first_seq(seg: &Segment) -> Result<u64, UploadError> {
    seg.name
        .split('.')
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| derive_error(seg, "its name is not <first seq>.ewlog"))
}

/// The sealed segment just before `seg` in its directory, if it is still there.
fn previous(seg: &Segment, first: u64) -> Option<PathBuf> {
    let dir = seg.path.parent()?;
    let listed = list_segments(dir).ok()?;
    listed
        .into_iter()
        .filter(|s| !s.open && s.first_seq < first)
        .max_by_key(|s| s.first_seq)
        .map(|s| s.path)
}

fn parquet(seg: &Segment, table: &Table) -> Result<Vec<u8>, UploadError> {
    let mut bytes = Vec::new();
    write_table(table, Format::Parquet, &mut bytes, &seg.path).map_err(|e| derive_error(seg, e))?;
    Ok(bytes)
}

/// The runs file: the rows whose record is in `seg`, estimated.
fn runs_parquet(seg: &Segment) -> Result<Vec<u8>, UploadError> {
    let first = first_seq(seg)?;
    let mut files: Vec<PathBuf> = previous(seg, first).into_iter().collect();
    files.push(seg.path.clone());
    let source = LogSource::Groups(vec![files]);
    let log = CostLog::read(&source, Filter::default(), CostOptions::default())
        .map_err(|e| derive_error(seg, e))?;
    let mut rows: Vec<_> = log.rows.into_iter().filter(|r| r.seq >= first).collect();
    let cals = calibrations(seg, &rows)?;
    crate::estimate::apply(&mut rows, &cals);
    parquet(seg, &run_table(&rows))
}

/// The state directory's calibrations for the devices of `rows`, else the board average.
fn calibrations(seg: &Segment, rows: &[crate::cost::RunCost]) -> Result<Calibrations, UploadError> {
    let dir = seg.path.parent().map(|d| d.join("calibration"));
    let Some(dir) = dir.filter(|d| d.is_dir()) else {
        return Ok(Calibrations::board_average());
    };
    let mut devices: Vec<String> = rows.iter().filter_map(|r| r.device_id.clone()).collect();
    devices.sort();
    devices.dedup();
    Calibrations::load(&dir, &devices, false).map_err(|e| derive_error(seg, e))
}

/// The samples file: the samples whose frames are in `seg`.
fn samples_parquet(seg: &Segment) -> Result<Vec<u8>, UploadError> {
    let write = || {
        let samples = SampleExport::prepare(&LogSource::segment(&seg.path), &Filter::default())?;
        let mut bytes = Vec::new();
        samples.write(Format::Parquet, &mut bytes, &seg.path)?;
        Ok::<_, ExportError>(bytes)
    };
    write().map_err(|e| derive_error(seg, e))
}

#[cfg(test)]
mod tests;
