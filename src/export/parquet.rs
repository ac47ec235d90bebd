//! Parquet through the `parquet` crate's low-level column writer (no Arrow): every column
//! OPTIONAL, INT64 / DOUBLE / BOOLEAN / BYTE_ARRAY (STRING), Snappy, a row group per batch
//! of rows written (a file with no rows has one empty row group).

use std::path::Path;
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::column::writer::ColumnWriter;
use parquet::data_type::ByteArray;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::FileReader;
use parquet::file::reader::SerializedFileReader;
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnPath;

use super::Column;
use super::ColumnType;
use super::ExportError;
use super::Table;
use super::Value;

fn message_type(columns: &[Column]) -> String {
    let fields: String = columns
        .iter()
        .map(|c| {
            let ty = match c.ty {
                ColumnType::Int64 => "INT64",
                ColumnType::Float64 => "DOUBLE",
                ColumnType::Bool => "BOOLEAN",
                ColumnType::Utf8 => "BYTE_ARRAY",
            };
            let logical = if c.ty == ColumnType::Utf8 {
                " (STRING)"
            } else {
                ""
            };
            format!("  OPTIONAL {ty} {}{logical};\n", c.name)
        })
        .collect();
    format!("message edgewatt {{\n{fields}}}")
}

/// The values of column `j` that are not null, and the definition levels (1: present).
fn present<T>(
    rows: &[Vec<Value>],
    j: usize,
    get: impl Fn(&Value) -> Option<T>,
) -> (Vec<T>, Vec<i16>) {
    let mut values = Vec::new();
    let mut levels = Vec::with_capacity(rows.len());
    for row in rows {
        match get(&row[j]) {
            Some(v) => {
                values.push(v);
                levels.push(1);
            }
            None => levels.push(0),
        }
    }
    (values, levels)
}

fn write_column(
    w: &mut ColumnWriter<'_>,
    rows: &[Vec<Value>],
    j: usize,
) -> parquet::errors::Result<()> {
    match w {
        ColumnWriter::Int64ColumnWriter(w) => {
            let (v, d) = present(rows, j, Value::as_i64);
            w.write_batch(&v, Some(&d), None)?;
        }
        ColumnWriter::DoubleColumnWriter(w) => {
            let (v, d) = present(rows, j, |v| match v {
                Value::Float(f) => Some(*f),
                _ => None,
            });
            w.write_batch(&v, Some(&d), None)?;
        }
        ColumnWriter::BoolColumnWriter(w) => {
            let (v, d) = present(rows, j, Value::as_bool);
            w.write_batch(&v, Some(&d), None)?;
        }
        ColumnWriter::ByteArrayColumnWriter(w) => {
            let (v, d) = present(rows, j, |v| v.as_str().map(ByteArray::from));
            w.write_batch(&v, Some(&d), None)?;
        }
        _ => unreachable!("only the four types of message_type are written"),
    }
    Ok(())
}

/// A Parquet file being written, a row group at a time.
pub(super) struct Writer<'w> {
    file: SerializedFileWriter<&'w mut (dyn std::io::Write + Send)>,
    groups: usize,
}

impl<'w> Writer<'w> {
    pub(super) fn new(
        columns: &[Column],
        out: &'w mut (dyn std::io::Write + Send),
    ) -> parquet::errors::Result<Self> {
        let schema = Arc::new(parse_message_type(&message_type(columns))?);
        let mut props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("edgewatt {}", env!("CARGO_PKG_VERSION")));
        for c in columns.iter().filter(|c| c.distinct) {
            props = props.set_column_dictionary_enabled(ColumnPath::from(c.name), false);
        }
        let props = props.build();
        let file = SerializedFileWriter::new(out, schema, Arc::new(props))?;
        Ok(Self { file, groups: 0 })
    }

    /// `rows` as one row group.
    pub(super) fn write(&mut self, rows: &[Vec<Value>]) -> parquet::errors::Result<()> {
        let mut group = self.file.next_row_group()?;
        let mut j = 0;
        while let Some(mut col) = group.next_column()? {
            write_column(col.untyped(), rows, j)?;
            col.close()?;
            j += 1;
        }
        group.close()?;
        self.groups += 1;
        Ok(())
    }

    /// The footer, after an empty row group if no rows came.
    pub(super) fn finish(mut self) -> parquet::errors::Result<()> {
        if self.groups == 0 {
            self.write(&[])?;
        }
        self.file.close()?;
        Ok(())
    }
}

/// Names the file in a Parquet error.
pub(super) fn error(path: &Path) -> impl Fn(parquet::errors::ParquetError) -> ExportError + '_ {
    move |e| ExportError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn value(f: &Field) -> Value {
    match f {
        Field::Null => Value::Null,
        Field::Bool(b) => Value::Bool(*b),
        Field::Int(i) => Value::Int(i64::from(*i)),
        Field::Long(i) => Value::Int(*i),
        Field::Float(x) => Value::Float(f64::from(*x)),
        Field::Double(x) => Value::Float(*x),
        Field::Str(s) => Value::Text(s.clone()),
        other => Value::Text(other.to_string()),
    }
}

fn read_inner(path: &Path, known: &[Column]) -> parquet::errors::Result<Table> {
    let file = std::fs::File::open(path)?;
    let reader = SerializedFileReader::new(file)?;
    let names: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    let header: Vec<Option<Column>> = names
        .iter()
        .map(|n| known.iter().find(|c| c.name == n).copied())
        .collect();
    let mut table = Table {
        columns: header.iter().flatten().copied().collect(),
        rows: Vec::new(),
    };
    for row in reader.get_row_iter(None)? {
        let row = row?;
        let cells = row
            .get_column_iter()
            .zip(&header)
            .filter(|(_, c)| c.is_some())
            .map(|((_, f), _)| value(f))
            .collect();
        table.rows.push(cells);
    }
    Ok(table)
}

pub(super) fn read(path: &Path, known: &[Column]) -> Result<Table, ExportError> {
    read_inner(path, known).map_err(error(path))
}
