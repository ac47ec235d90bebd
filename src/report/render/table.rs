//! A table of text cells, shown as aligned columns (terminal) or as markdown.

use std::fmt::Write as _;

use crate::report::laws::Ci;

/// Rows of cells under a header; `-` marks a value that is not known or not trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    #[must_use]
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// A markdown pipe table (numbers right-aligned by their first row).
    #[must_use]
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let esc = |s: &str| s.replace('|', "\\|");
        let _ = writeln!(
            out,
            "| {} |",
            self.headers
                .iter()
                .map(|h| esc(h))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let align: Vec<&str> = (0..self.headers.len())
            .map(|i| {
                let numeric = self.rows.first().and_then(|r| r.get(i)).is_some_and(|c| {
                    c.starts_with(|ch: char| ch.is_ascii_digit() || ch == '-' || ch == '+')
                });
                if numeric && i > 0 {
                    "---:"
                } else {
                    "---"
                }
            })
            .collect();
        let _ = writeln!(out, "|{}|", align.join("|"));
        for row in &self.rows {
            let _ = writeln!(
                out,
                "| {} |",
                row.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
            );
        }
        out
    }

    /// Columns padded to their widest cell, two spaces apart.
    #[must_use]
    pub fn text(&self) -> String {
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, c) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(width(c));
                }
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(width(c));
                s.push_str(c);
                if i + 1 < cells.len() {
                    s.push_str(&" ".repeat(pad + 2));
                }
            }
            s.trim_end().to_owned() + "\n"
        };
        let mut out = line(&self.headers);
        out.push_str(&line(
            &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
        ));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

/// A number with about 4 significant digits (`-` for none).
#[must_use]
pub fn num(v: Option<f64>) -> String {
    let Some(v) = v.filter(|v| v.is_finite()) else {
        return "-".into();
    };
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e7).contains(&a) {
        return format!("{v:.3e}");
    }
    let decimals = if a == 0.0 {
        0
    } else {
        (3 - a.log10().floor() as i32).clamp(0, 6) as usize
    };
    format!("{v:.decimals$}")
}

/// `value [lo, hi]` (`-` for none).
#[must_use]
pub fn ci(c: Option<&Ci>) -> String {
    c.map_or_else(
        || "-".into(),
        |c| {
            format!(
                "{} [{}, {}]",
                num(Some(c.value)),
                num(Some(c.lo)),
                num(Some(c.hi))
            )
        },
    )
}

/// `+12.3 % [+10.1, +14.5]` (`-` for none).
#[must_use]
pub fn pct(c: Option<&Ci>) -> String {
    c.map_or_else(
        || "-".into(),
        |c| {
            let s = crate::analysis::chart::signed_1dp;
            format!("{} % [{}, {}]", s(c.value), s(c.lo), s(c.hi))
        },
    )
}
