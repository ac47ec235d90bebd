//! `edgewatt export`'s tables: the runs (one row per run and idle lead-in: the cost record
//! of [`crate::cost`]) and the samples (one row per tick), as CSV, JSON lines or Parquet.
//! docs/EXPORT.md is the schema; [`RUN_COLUMNS`] and [`SAMPLE_COLUMNS`] are its source.
//!
//! The types are plain (64-bit integers, doubles, booleans, UTF-8 strings, every column
//! nullable), so DuckDB, Spark or pandas read them without extensions; units are in the
//! column names. The same [`Table`] is written in every format, and read back from CSV or
//! Parquet for `calibrate --runs` ([`read_table`]).

mod csv;
mod jsonl;
mod parquet;
mod runs;
mod samples;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::path::PathBuf;

pub use runs::run_table;
pub use runs::RUN_COLUMNS;
pub use samples::SampleExport;
pub use samples::SAMPLE_COLUMNS;

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Int64,
    Float64,
    Bool,
    Utf8,
}

impl ColumnType {
    /// The name in docs/EXPORT.md.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Int64 => "int64",
            Self::Float64 => "double",
            Self::Bool => "boolean",
            Self::Utf8 => "string",
        }
    }
}

/// A column: its name (with its unit) and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    /// Every row has a value of its own (a time, a sequence number), so Parquet stores it
    /// without a dictionary (one would only add an index to every value).
    pub distinct: bool,
}

impl Column {
    #[must_use]
    pub const fn new(name: &'static str, ty: ColumnType) -> Self {
        Self {
            name,
            ty,
            distinct: false,
        }
    }

    /// A column whose every row has a value of its own.
    #[must_use]
    pub const fn distinct(name: &'static str, ty: ColumnType) -> Self {
        Self {
            name,
            ty,
            distinct: true,
        }
    }
}

/// One cell. `Null` is "not known" (never a made-up 0).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl Value {
    /// A float, `Null` when `None` or not finite.
    #[must_use]
    pub fn float(v: Option<f64>) -> Self {
        v.filter(|x| x.is_finite()).map_or(Self::Null, Self::Float)
    }

    #[must_use]
    pub fn int(v: Option<i64>) -> Self {
        v.map_or(Self::Null, Self::Int)
    }

    #[must_use]
    pub fn text(v: Option<&str>) -> Self {
        v.map_or(Self::Null, |s| Self::Text(s.to_owned()))
    }

    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Float(v) => Some(*v),
            Self::Int(v) => Some(*v as f64),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(v) => Some(*v),
            _ => None,
        }
    }

    #[must_use]
    pub const fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(v) => Some(*v),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(v) => Some(v),
            _ => None,
        }
    }
}

/// Rows of cells, one per column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// An empty table of `columns`.
    #[must_use]
    pub fn new(columns: &[Column]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// The position of the column `name`.
    #[must_use]
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated, a header line, RFC 4180 quoting; empty cell = null.
    Csv,
    /// One JSON object per row.
    Jsonl,
    // The text is `--help`'s: no intra-doc link (it would print as `[`BATCH_ROWS`]`).
    /// Apache Parquet, Snappy-compressed; one row group for runs, one per 65 536 rows for
    /// samples.
    Parquet,
}

impl Format {
    /// From a file name's extension (`.csv`, `.jsonl`, `.parquet`), in any case (`.CSV`).
    #[must_use]
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            "parquet" | "pq" => Some(Self::Parquet),
            _ => None,
        }
    }
}

/// Why a table could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: parquet: {message}")]
    Parquet { path: PathBuf, message: String },
    #[error("{path}:{line}: {message}")]
    Csv {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: unknown format (not .csv or .parquet): name the file .csv or .parquet")]
    UnknownFormat { path: PathBuf },
    /// The log the rows come from could not be read.
    #[error(transparent)]
    Log(#[from] crate::logread::LogError),
}

/// The rows of a streamed table held at once (the samples: about 64 MB), and so the rows in
/// each of its Parquet row groups.
pub const BATCH_ROWS: usize = 65_536;

/// A table written as its rows come: the CSV header or the Parquet schema first, then each
/// batch of rows (a Parquet row group each), then the Parquet footer at
/// [`TableWriter::finish`].
pub struct TableWriter<'w> {
    columns: Vec<Column>,
    path: PathBuf,
    out: Out<'w>,
}

enum Out<'w> {
    Csv(&'w mut (dyn std::io::Write + Send)),
    Jsonl(&'w mut (dyn std::io::Write + Send)),
    Parquet(parquet::Writer<'w>),
}

impl<'w> TableWriter<'w> {
    /// Starts a table of `columns` in `format` on `out` (`path` names it in errors).
    pub fn new(
        columns: &[Column],
        format: Format,
        out: &'w mut (dyn std::io::Write + Send),
        path: &Path,
    ) -> Result<Self, ExportError> {
        let out = match format {
            Format::Csv => {
                csv::write_header(columns, out).map_err(io_error(path))?;
                Out::Csv(out)
            }
            Format::Jsonl => Out::Jsonl(out),
            Format::Parquet => {
                Out::Parquet(parquet::Writer::new(columns, out).map_err(parquet::error(path))?)
            }
        };
        Ok(Self {
            columns: columns.to_vec(),
            path: path.to_path_buf(),
            out,
        })
    }

    /// Writes `rows` (cells in the order of the columns).
    pub fn write(&mut self, rows: &[Vec<Value>]) -> Result<(), ExportError> {
        let path = &self.path;
        match &mut self.out {
            Out::Csv(out) => csv::write_rows(rows, *out).map_err(io_error(path)),
            Out::Jsonl(out) => jsonl::write_rows(&self.columns, rows, *out).map_err(io_error(path)),
            Out::Parquet(w) => w.write(rows).map_err(parquet::error(path)),
        }
    }

    /// Ends the table (the Parquet footer; the caller flushes `out`).
    pub fn finish(self) -> Result<(), ExportError> {
        match self.out {
            Out::Csv(_) | Out::Jsonl(_) => Ok(()),
            Out::Parquet(w) => w.finish().map_err(parquet::error(&self.path)),
        }
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `table` to `out` in `format` (`path` names it in errors), in one batch.
pub fn write_table(
    table: &Table,
    format: Format,
    out: &mut (dyn std::io::Write + Send),
    path: &Path,
) -> Result<(), ExportError> {
    let mut w = TableWriter::new(&table.columns, format, out, path)?;
    w.write(&table.rows)?;
    w.finish()
}

/// Reads a table written by [`write_table`] as CSV or Parquet (by the file's extension).
/// Only the columns of `known` are kept (CSV cells are typed by them).
pub fn read_table(path: &Path, known: &[Column]) -> Result<Table, ExportError> {
    match Format::from_path(path) {
        Some(Format::Csv) => csv::read(path, known),
        Some(Format::Parquet) => parquet::read(path, known),
        _ => Err(ExportError::UnknownFormat {
            path: path.to_path_buf(),
        }),
    }
}
