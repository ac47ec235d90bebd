//! Where in a TOML text a key or an error is: 1-based line and column, and the dotted key
//! a parse error is about. Shared by the config, plan and calibration files.

/// Where the value of the dotted key `keys` is written in `text`, as 1-based line and
/// column: its value, else (a key left at its default) the nearest table or key above it
/// that is written, else 1:1.
pub(crate) fn key_position(text: &str, keys: &[&str]) -> (usize, usize) {
    let Ok(doc) = toml_edit::ImDocument::parse(text) else {
        return (1, 1);
    };
    let mut offset = None;
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    for key in keys {
        let Some((k, item)) = table.get_key_value(key) else {
            break;
        };
        offset = item.span().or_else(|| k.span()).map(|s| s.start).or(offset);
        match item.as_table_like() {
            Some(t) => table = t,
            None => break,
        }
    }
    offset.map_or((1, 1), |o| line_column(text, o))
}

/// What a TOML parse error of `text` says, on one line: its lines joined by "; " (a message
/// line with a newline in it broke the `problem:` lines of reports and logs), after the
/// dotted key whose value it is about when it is about a value (rev-k: "invalid type:
/// integer `5`, expected a string" said where, not which key).
#[must_use]
pub(crate) fn toml_message(text: &str, e: &toml::de::Error) -> String {
    let message = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    match e.span().and_then(|s| key_at(text, s.start)) {
        Some(key) => format!("{key}: {message}"),
        None => message,
    }
}

/// The dotted key whose value is written at byte `offset` of `text` (in a table, an
/// inline table or an array of tables; an array's element is its array's key).
fn key_at(text: &str, offset: usize) -> Option<String> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut path = Vec::new();
    value_at(doc.as_table(), offset, &mut path).then(|| path.join("."))
}

/// Pushes onto `path` the keys from `table` down to the value written at `offset`.
fn value_at(table: &dyn toml_edit::TableLike, offset: usize, path: &mut Vec<String>) -> bool {
    for (key, item) in table.iter() {
        path.push(key.to_owned());
        let found = if let Some(t) = item.as_table_like() {
            value_at(t, offset, path)
        } else if let Some(tables) = item.as_array_of_tables() {
            tables.iter().any(|t| value_at(t, offset, path))
        } else {
            item.span().is_some_and(|s| s.contains(&offset))
        };
        if found {
            return true;
        }
        path.pop();
    }
    false
}

/// Turns a byte offset into 1-based line and column.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        a: Option<i64>,
        upload: Option<Upload>,
        b: Option<B>,
        p: Option<Vec<P>>,
    }

    #[derive(Debug, Deserialize)]
    struct Upload {
        bucket: String,
    }

    #[derive(Debug, Deserialize)]
    struct B {
        c: C,
    }

    #[derive(Debug, Deserialize)]
    struct C {
        d: i64,
    }

    #[derive(Debug, Deserialize)]
    struct P {
        n: i64,
    }

    fn message(text: &str) -> String {
        toml_message(text, &toml::from_str::<Doc>(text).unwrap_err())
    }

    #[test]
    fn a_type_error_names_its_key() {
        for (text, key) in [
            ("[upload]\nbucket = 5\n", "upload.bucket: "),
            ("a = 1\n[b]\nc = { d = \"x\" }\n", "b.c.d: "),
            ("[[p]]\nn = 1\n[[p]]\nn = true\n", "p.n: "),
            ("a = \"one\"\n", "a: "),
        ] {
            let m = message(text);
            assert!(m.starts_with(key), "{text:?}: {m}");
            assert!(m.contains("invalid type"), "{m}");
        }
        // An unknown key: the message names it, at the key, not at a value.
        let m = message("rate_hz = 5\n");
        assert!(m.starts_with("unknown field `rate_hz`"), "{m}");
        // Well-formed values: each read (the test's own types are right).
        let ok: Doc =
            toml::from_str("a = 1\n[upload]\nbucket = \"x\"\n[b]\nc = { d = 2 }\n[[p]]\nn = 3\n")
                .unwrap();
        assert_eq!(
            (
                ok.a,
                ok.upload.unwrap().bucket,
                ok.b.unwrap().c.d,
                ok.p.unwrap()[0].n
            ),
            (Some(1), "x".to_owned(), 2, 3)
        );
    }
}
