//! The Parquet export of one sealed segment, uploaded next to it: its runs and its
//! samples, made by `edgewatt export`'s one writer ([`crate::export`]).
//!
//! **Which rows.** The runs file holds the cost rows ([`crate::cost`]) whose record is in
//! this segment: each run whose Run record is in it, and each plan's idle lead-in whose
//! `PlanStart` event is in it. The samples file holds the samples whose frames are in it.
//! Every run is thus in exactly one segment's runs file.
//!
//! **Context.** A run's record is written when it ends, so its samples, power readings and
//! idle baseline (its plan's lead-in, which may be hours before) may lie in segments before
//! this one. The rows are derived from this segment and the sealed segments before it in
//! the same directory that hold what they read, read as one log
//! ([`crate::cost::rows_of_last_segment`]), up to [`MAX_CONTEXT_SEGMENTS`] back: each row
//! is then the row `edgewatt export runs` gives for the whole directory, but for an idle
//! row whose power readings were written late into the next segment (not read). A run whose samples
//! begin in a segment no longer there (deleted before uploads were enabled) has lower
//! coverage, so its figures are shown as not trusted (with the reason) and left out of every
//! trusted mean, never a wrong number; a run whose plan lead-in is no longer there takes
//! the quietest stretch before it as its baseline (`baseline_is_lead_in` false), as a
//! report of that directory then would. Retention keeps a segment until the segment after
//! it is uploaded too ([`super::super::manifest::may_delete`]), so the segment before is
//! always there, and the same log gives the same bytes on every call (an export
//! acknowledged before a restart is recognised after it), unless retention deleted a
//! segment further back that the rows read in between: the retry is then another object
//! (docs/FLEET.md says how to find one).
//!
//! **Thresholds and estimate.** The coverage threshold is the default
//! ([`crate::cost::DEFAULT_MIN_COVERAGE`]; the coverage columns are there to apply
//! another one in SQL). The estimate uses the state directory's `calibration/` (as
//! `edgewatt export` does), else the shipped board average; its source column names it.

use std::path::PathBuf;

use crate::cost::rows_of_last_segment;
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

/// Sealed segments before a segment its runs file may read: a day of the daemon's hourly
/// segments (less where segments rotate at their size first).
pub const MAX_CONTEXT_SEGMENTS: usize = 24;

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

/// The sealed segments of `seg`'s directory up to it, oldest first (those before it that
/// are still there, then `seg`).
fn up_to(seg: &Segment, first: u64) -> Vec<PathBuf> {
    let listed = seg
        .path
        .parent()
        .and_then(|dir| list_segments(dir).ok())
        .unwrap_or_default();
    let mut files: Vec<PathBuf> = listed
        .into_iter()
        .filter(|s| !s.open && s.first_seq < first)
        .map(|s| s.path)
        .collect();
    files.push(seg.path.clone());
    files
}

fn parquet(seg: &Segment, table: &Table) -> Result<Vec<u8>, UploadError> {
    let mut bytes = Vec::new();
    write_table(table, Format::Parquet, &mut bytes, &seg.path).map_err(|e| derive_error(seg, e))?;
    Ok(bytes)
}

/// The runs file: the rows whose record is in `seg`, estimated.
fn runs_parquet(seg: &Segment) -> Result<Vec<u8>, UploadError> {
    let files = up_to(seg, first_seq(seg)?);
    let mut rows = rows_of_last_segment(&files, MAX_CONTEXT_SEGMENTS, CostOptions::default())
        .map_err(|e| derive_error(seg, e))?
        .rows;
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
