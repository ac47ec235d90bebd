//! CSV: a header line of column names, then one line per row. Null is an empty cell; an
//! empty string is `""`. Fields holding a comma, quote or line break are quoted (RFC 4180).
//! Floats are written in their shortest exact form, so they read back bit for bit.

use std::io::Write;
use std::path::Path;

use super::Column;
use super::ColumnType;
use super::ExportError;
use super::Table;
use super::Value;

fn field(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Int(i) => i.to_string(),
        // Debug is the shortest exact form, with an exponent for very large or small values.
        Value::Float(f) => format!("{f:?}"),
        Value::Bool(b) => b.to_string(),
        Value::Text(s) if s.is_empty() || s.contains([',', '"', '\n', '\r']) => {
            format!("\"{}\"", s.replace('"', "\"\""))
        }
        Value::Text(s) => s.clone(),
    }
}

pub(super) fn write_header(columns: &[Column], out: &mut dyn Write) -> std::io::Result<()> {
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    writeln!(out, "{}", names.join(","))
}

pub(super) fn write_rows(rows: &[Vec<Value>], out: &mut dyn Write) -> std::io::Result<()> {
    for row in rows {
        let cells: Vec<String> = row.iter().map(field).collect();
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

/// A parsed field: its text and whether it was quoted.
type Field = (String, bool);
/// A record's fields, with the line it starts on.
type Record = (usize, Vec<Field>);

/// Splits CSV text into records of fields, with the line each record starts on.
fn records(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut out = Vec::new();
    let (mut line, mut start_line) = (1, 1);
    let mut rec: Vec<Field> = Vec::new();
    let (mut cur, mut quoted, mut in_quotes) = (String::new(), false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (in_quotes, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => in_quotes = false,
            (true, c) => {
                line += usize::from(c == '\n');
                cur.push(c);
            }
            (false, '"') if cur.is_empty() && !quoted => (in_quotes, quoted) = (true, true),
            (false, '"') => return Err((line, "a quote inside an unquoted field".into())),
            (false, ',') => rec.push((std::mem::take(&mut cur), std::mem::take(&mut quoted))),
            (false, '\r') => {}
            (false, '\n') => {
                rec.push((std::mem::take(&mut cur), std::mem::take(&mut quoted)));
                out.push((start_line, std::mem::take(&mut rec)));
                line += 1;
                start_line = line;
            }
            (false, c) => cur.push(c),
        }
    }
    if in_quotes {
        return Err((start_line, "a quoted field is not closed".into()));
    }
    if !cur.is_empty() || quoted || !rec.is_empty() {
        rec.push((cur, quoted));
        out.push((start_line, rec));
    }
    Ok(out)
}

fn typed(f: Field, ty: ColumnType) -> Result<Value, String> {
    let (s, quoted) = f;
    if s.is_empty() && !quoted {
        return Ok(Value::Null);
    }
    let bad = |what: &str| format!("{s:?} is not {what}");
    Ok(match ty {
        ColumnType::Utf8 => Value::Text(s),
        ColumnType::Int64 => Value::Int(s.parse().map_err(|_| bad("an integer"))?),
        ColumnType::Float64 => Value::Float(s.parse().map_err(|_| bad("a number"))?),
        ColumnType::Bool => Value::Bool(s.parse().map_err(|_| bad("true or false"))?),
    })
}

pub(super) fn read(path: &Path, known: &[Column]) -> Result<Table, ExportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let err = |line, message| ExportError::Csv {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut recs = records(&text).map_err(|(l, m)| err(l, m))?.into_iter();
    let Some((_, header)) = recs.next() else {
        return Err(err(1, "no header line: not an exported table".into()));
    };
    // Columns this edgewatt does not know (a newer export) are left out.
    let header: Vec<Option<Column>> = header
        .into_iter()
        .map(|(name, _)| known.iter().find(|c| c.name == name).copied())
        .collect();
    let mut table = Table {
        columns: header.iter().flatten().copied().collect(),
        rows: Vec::new(),
    };
    for (line, rec) in recs {
        if rec.len() != header.len() {
            let m = format!("{} fields, the header has {}", rec.len(), header.len());
            return Err(err(line, m));
        }
        let row = rec
            .into_iter()
            .zip(&header)
            .filter_map(|(f, c)| c.map(|c| (f, c)))
            .map(|(f, c)| typed(f, c.ty).map_err(|m| format!("column {}: {m}", c.name)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| err(line, m))?;
        table.rows.push(row);
    }
    Ok(table)
}
