//! Parquet through the `parquet` crate's low-level column writer (no Arrow): every column
//! OPTIONAL, INT64 / DOUBLE / BOOLEAN / BYTE_ARRAY (STRING), Snappy, one row group.

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
fn present<T>(table: &Table, j: usize, get: impl Fn(&Value) -> Option<T>) -> (Vec<T>, Vec<i16>) {
    let mut values = Vec::new();
    let mut levels = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
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

fn write_column(w: &mut ColumnWriter<'_>, table: &Table, j: usize) -> parquet::errors::Result<()> {
    match w {
        ColumnWriter::Int64ColumnWriter(w) => {
            let (v, d) = present(table, j, Value::as_i64);
            w.write_batch(&v, Some(&d), None)?;
        }
        ColumnWriter::DoubleColumnWriter(w) => {
            let (v, d) = present(table, j, |v| match v {
                Value::Float(f) => Some(*f),
                _ => None,
            });
            w.write_batch(&v, Some(&d), None)?;
        }
        ColumnWriter::BoolColumnWriter(w) => {
            let (v, d) = present(table, j, Value::as_bool);
            w.write_batch(&v, Some(&d), None)?;
        }
        ColumnWriter::ByteArrayColumnWriter(w) => {
            let (v, d) = present(table, j, |v| v.as_str().map(ByteArray::from));
            w.write_batch(&v, Some(&d), None)?;
        }
        _ => unreachable!("only the four types of message_type are written"),
    }
    Ok(())
}

fn write_inner(
    table: &Table,
    out: &mut (dyn std::io::Write + Send),
) -> parquet::errors::Result<()> {
    let schema = Arc::new(parse_message_type(&message_type(&table.columns))?);
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("edgewatt {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut writer = SerializedFileWriter::new(out, schema, Arc::new(props))?;
    let mut group = writer.next_row_group()?;
    let mut j = 0;
    while let Some(mut col) = group.next_column()? {
        write_column(col.untyped(), table, j)?;
        col.close()?;
        j += 1;
    }
    group.close()?;
    writer.close()?;
    Ok(())
}

pub(super) fn write(
    table: &Table,
    out: &mut (dyn std::io::Write + Send),
    path: &Path,
) -> Result<(), ExportError> {
    write_inner(table, out).map_err(|e| ExportError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
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
    read_inner(path, known).map_err(|e| ExportError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
