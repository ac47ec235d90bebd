//! One self-contained HTML page: inline CSS and SVG, no script, no network.

use std::fmt::Write as _;

use super::charts::charts;
use super::sections;
use super::Table;
use crate::report::laws::Report;

const CSS: &str =
    "body{font-family:sans-serif;margin:0 auto;max-width:1500px;padding:0 12px;color:#222}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}\
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:13px;margin:8px 0}\
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}\
td{max-width:22em;overflow-wrap:break-word}td:first-child{overflow-wrap:anywhere;min-width:9em}\
td:last-child{min-width:10em}th{background:#f3f3f3}\
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
tr.flagged td{color:#999}.note{color:#444;margin:2px 0}.problem{color:#a40000}\
figure{margin:10px 0}figure svg{width:100%;max-width:760px;height:auto}";

/// `&`, `<`, `>` and `"` escaped.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn is_num(c: &str) -> bool {
    c.starts_with(|ch: char| ch.is_ascii_digit() || ch == '+' || (ch == '-' && c.len() > 1))
}

fn table(t: &Table) -> String {
    let mut out = String::from("<div class=\"scroll\"><table><thead><tr>");
    for h in &t.headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for c in row {
            let class = if is_num(c) { " class=\"num\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", esc(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
    out
}

/// The report as one HTML page.
#[must_use]
pub fn html(r: &Report) -> String {
    let charts = charts(r);
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>edgewatt report</title><style>{CSS}</style></head><body>\n<h1>edgewatt report</h1>\n"
    );
    for s in sections(r) {
        let _ = writeln!(out, "<h2 id=\"{}\">{}</h2>", s.id, esc(&s.title));
        for n in &s.notes {
            let class = if n.starts_with("problem:") {
                "note problem"
            } else {
                "note"
            };
            let _ = writeln!(out, "<p class=\"{class}\">{}</p>", esc(n));
        }
        if let Some(t) = &s.table {
            out.push_str(&table(t));
        }
        for c in charts.iter().filter(|c| c.section == s.id) {
            match &c.svg {
                Ok(svg) => {
                    let _ = writeln!(out, "<figure>{svg}</figure>");
                }
                Err(e) => {
                    let _ = writeln!(
                        out,
                        "<p class=\"note problem\">chart not drawn: {}</p>",
                        esc(e)
                    );
                }
            }
        }
    }
    out.push_str("</body></html>\n");
    out
}
