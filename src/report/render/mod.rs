//! The report's views: a terminal table, markdown, JSON, and one self-contained HTML page
//! with SVG charts (no script, no network: it opens offline on the Pi).

mod charts;
mod html;
mod json;
mod sections;
mod table;

pub use html::html;
pub use sections::sections;
pub use sections::Section;
pub use table::Table;

use super::laws::Report;

/// The output formats of `edgewatt report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for a terminal.
    Text,
    /// Markdown: headings, notes as a list, pipe tables.
    Markdown,
    /// The whole report as one JSON object (every run, every fit, the points fitted).
    Json,
    /// One self-contained HTML page with inline SVG charts and CSS.
    Html,
}

/// The report in `format`.
#[must_use]
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Markdown => markdown(report),
        Format::Json => json(report),
        Format::Html => html(report),
    }
}

/// The report in `format`, written to `out` as it is made (JSON, megabytes for a long
/// log, is never held whole in memory).
///
/// # Errors
/// Writing to `out` failed.
pub fn write(
    report: &Report,
    format: Format,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => json::write(report, out),
        _ => out.write_all(render(report, format).as_bytes()),
    }
}

/// Aligned columns under `== title` lines.
#[must_use]
pub fn text(report: &Report) -> String {
    let mut out = String::from("edgewatt report\n");
    for s in sections(report) {
        out.push_str(&format!("\n== {}\n", s.title));
        for n in &s.notes {
            out.push_str(&format!("  {n}\n"));
        }
        if let Some(t) = &s.table {
            out.push('\n');
            out.push_str(&t.text());
        }
    }
    out
}

/// Markdown with a heading per section.
#[must_use]
pub fn markdown(report: &Report) -> String {
    let mut out = String::from("# edgewatt report\n");
    for s in sections(report) {
        out.push_str(&format!("\n## {}\n\n", s.title));
        for n in &s.notes {
            out.push_str(&format!("- {n}\n"));
        }
        if let Some(t) = &s.table {
            out.push('\n');
            out.push_str(&t.markdown());
        }
    }
    out
}

/// Pretty-printed JSON.
#[must_use]
pub fn json(report: &Report) -> String {
    let mut out = Vec::new();
    json::write(report, &mut out).expect("writing to memory does not fail");
    String::from_utf8(out).expect("JSON is UTF-8")
}
