//! JSON lines: one object per row, keys in column order, null for null.

use std::io::Write;

use serde_json::Value as Json;

use super::Column;
use super::Value;

fn json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Bool(b) => Json::Bool(*b),
        Value::Text(s) => Json::String(s.clone()),
    }
}

pub(super) fn write_rows(
    columns: &[Column],
    rows: &[Vec<Value>],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for row in rows {
        // Written by hand to keep the columns' order (serde_json's map sorts its keys).
        let fields: Vec<String> = columns
            .iter()
            .zip(row)
            .map(|(c, v)| format!("{}:{}", Json::from(c.name), json(v)))
            .collect();
        writeln!(out, "{{{}}}", fields.join(","))?;
    }
    Ok(())
}
