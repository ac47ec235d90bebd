//! The knee (plateau) fit, with ψ and its CI marked.

use plotters::prelude::*;

use super::check_points;
use super::colour;
use super::draw_err;
use super::extent;
use super::fmt_value;
use super::legend;
use super::legend_room;
use super::padded;
use super::xy_chart;
use super::Axes;
use super::ChartError;
use crate::analysis::fit::KneeFit;
use crate::analysis::fit::KneeVerdict;

/// One model's runs and its knee fit.
#[derive(Debug, Clone, Copy)]
pub struct KneeSeries<'a> {
    pub name: &'a str,
    pub x: &'a [f64],
    pub y: &'a [f64],
    pub fit: &'a KneeFit,
}

fn verdict_text(fit: &KneeFit) -> String {
    match fit.verdict {
        KneeVerdict::Knee => format!(
            "knee ψ = {} ({:.0} % CI {}–{})",
            fmt_value(fit.psi),
            fit.level * 100.0,
            fmt_value(fit.psi_ci.lo),
            fmt_value(fit.psi_ci.hi)
        ),
        KneeVerdict::Flat => "no knee: flat over the tested range".into(),
        KneeVerdict::Linear => "no knee: rises over the whole tested range".into(),
    }
}

/// The y values a knee chart shows: the runs', and each fit's at the smallest x and its
/// plateau.
fn y_extent(series: &[KneeSeries], x_lo: f64) -> (f64, f64) {
    let fitted = (series.iter()).flat_map(|s| [s.fit.predict(x_lo), s.fit.plateau.value]);
    let ys = series.iter().flat_map(|s| s.y.iter().copied());
    extent(ys.chain(fitted)).unwrap_or((0.0, 1.0))
}

/// Runs as points, each series' fit y = a + b·min(x, ψ), and for a knee a vertical line
/// at ψ̂ over its shaded CI; the legend says when there is no knee.
///
/// ```
/// use edgewatt::analysis::chart::{knee_chart, Axes, KneeSeries};
/// use edgewatt::analysis::fit::fit_knee;
/// let x = [64.0, 128.0, 256.0, 384.0, 512.0, 768.0, 1024.0];
/// let y: Vec<f64> = x.iter().map(|p: &f64| 10.0 + 0.5 * p.min(448.0)).collect();
/// let fit = fit_knee(&x, &y).unwrap();
/// let axes = Axes { title: "Resolution knee", x_label: "image side (px)", y_label: "CPU AUC (%·s)" };
/// let svg = knee_chart(&axes, &[KneeSeries { name: "tiny VLM", x: &x, y: &y, fit: &fit }]).unwrap();
/// assert!(svg.contains("knee ψ = 448"));
/// ```
pub fn knee_chart(axes: &Axes, series: &[KneeSeries]) -> Result<String, ChartError> {
    if series.iter().all(|s| s.x.is_empty()) {
        return Err(ChartError::Empty {
            title: axes.title.into(),
            what: "no runs in any series".into(),
        });
    }
    for s in series {
        check_points(axes, s.name, s.x, s.y)?;
    }
    let all_x = series.iter().flat_map(|s| s.x.iter().copied());
    let (x_lo, x_hi) = extent(all_x).unwrap_or((0.0, 1.0));
    let (y_lo, y_hi) = y_extent(series, x_lo);
    // Two legend lines a series (line, runs), and ψ's CI for a knee.
    let entries = (series.iter())
        .map(|s| 2 + usize::from(s.fit.verdict == KneeVerdict::Knee))
        .sum();
    let xr = padded(x_lo, x_hi, true);
    let data = padded(y_lo, y_hi, true);
    // ψ's mark and CI span the data's height, not the legend's band above it.
    let top = data.end;
    let (size_px, yr) = legend_room(data, entries);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size_px).into_drawing_area();
        let mut chart = xy_chart(&root, axes, xr.clone(), yr.clone())?;
        for (i, s) in series.iter().enumerate() {
            let c = colour(i);
            let fit = s.fit;
            if fit.verdict == KneeVerdict::Knee {
                let (lo, hi) = (fit.psi_ci.lo.max(xr.start), fit.psi_ci.hi.min(xr.end));
                let span = Rectangle::new([(lo, yr.start), (hi, top)], c.mix(0.12).filled());
                chart
                    .draw_series(std::iter::once(span))
                    .map_err(|e| draw_err(axes, e))?
                    .label(format!("{}: {}", s.name, verdict_text(fit)))
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 18, y + 5)], c.mix(0.2).filled())
                    });
                let mark = [(fit.psi, yr.start), (fit.psi, top)];
                chart
                    .draw_series(DashedLineSeries::new(mark, 5, 4, c.stroke_width(1)))
                    .map_err(|e| draw_err(axes, e))?;
            }
            let knee_x = fit.psi.clamp(x_lo, x_hi);
            let curve = [
                (x_lo, fit.predict(x_lo)),
                (knee_x, fit.predict(knee_x)),
                (x_hi, fit.predict(x_hi)),
            ];
            let label = match fit.verdict {
                KneeVerdict::Knee => format!(
                    "{}: slope {} below, plateau {}",
                    s.name,
                    fmt_value(fit.line.slope.value),
                    fmt_value(fit.plateau.value)
                ),
                _ => format!("{}: {}", s.name, verdict_text(fit)),
            };
            chart
                .draw_series(LineSeries::new(curve, c.stroke_width(2)))
                .map_err(|e| draw_err(axes, e))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
            let dots =
                s.x.iter()
                    .zip(s.y)
                    .map(|(&x, &y)| Circle::new((x, y), 3, c.filled()));
            chart
                .draw_series(dots)
                .map_err(|e| draw_err(axes, e))?
                .label(format!("{}: {} runs", s.name, s.x.len()))
                .legend(move |(x, y)| Circle::new((x + 9, y), 3, c.filled()));
        }
        legend(&mut chart, axes, SeriesLabelPosition::UpperLeft)?;
        root.present().map_err(|e| draw_err(axes, e))?;
    }
    Ok(svg)
}
