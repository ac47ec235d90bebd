//! The linear law, and estimated vs measured.

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
use super::SIZE_PX;
use crate::analysis::fit::ErrorSummary;
use crate::analysis::fit::LinearFit;

/// One model's runs and its fitted line.
#[derive(Debug, Clone, Copy)]
pub struct LawSeries<'a> {
    /// The model's name in the legend.
    pub name: &'a str,
    pub x: &'a [f64],
    pub y: &'a [f64],
    pub fit: &'a LinearFit,
}

/// 61 points from `from` to `to` (a series' own x range) for the line and band.
fn grid(from: f64, to: f64) -> Vec<f64> {
    (0..=60)
        .map(|i| from + (to - from) * f64::from(i) / 60.0)
        .collect()
}

/// Runs as points, each series' fitted line and its 95 % band of the mean.
///
/// ```
/// use edgewatt::analysis::chart::{law_chart, Axes, LawSeries};
/// use edgewatt::analysis::fit::fit_linear;
/// let (x, y) = ([16.0, 64.0, 256.0, 512.0], [30.0, 71.0, 240.0, 470.0]);
/// let fit = fit_linear(&x, &y).unwrap();
/// let axes = Axes { title: "CPU cost per prompt", x_label: "prompt tokens", y_label: "CPU AUC (%·s)" };
/// let svg = law_chart(&axes, &[LawSeries { name: "SmolLM2 Q4_1", x: &x, y: &y, fit: &fit }]).unwrap();
/// assert!(svg.starts_with("<svg") && svg.contains("prompt tokens"));
/// ```
pub fn law_chart(axes: &Axes, series: &[LawSeries]) -> Result<String, ChartError> {
    if series.iter().all(|s| s.x.is_empty()) {
        return Err(ChartError::Empty {
            title: axes.title.into(),
            what: "no runs in any series".into(),
        });
    }
    for s in series {
        check_points(axes, s.name, s.x, s.y)?;
    }
    let (x_lo, x_hi) =
        extent(series.iter().flat_map(|s| s.x.iter().copied())).unwrap_or((0.0, 1.0));
    let x_from = if x_lo >= 0.0 { 0.0 } else { x_lo };
    // Each line and band over its own runs' prompt lengths: a fit says nothing beyond them
    // (its intercept is in the legend).
    let bands: Vec<Vec<(f64, f64, f64)>> = series
        .iter()
        .map(|s| {
            let (lo, hi) = extent(s.x.iter().copied()).unwrap_or((x_from, x_hi));
            grid(lo, hi)
                .into_iter()
                .map(|x| {
                    let b = s.fit.mean_band(x);
                    (x, b.lo, b.hi)
                })
                .collect()
        })
        .collect();
    let ys = series.iter().flat_map(|s| s.y.iter().copied());
    let band_ys = bands.iter().flatten().flat_map(|&(_, lo, hi)| [lo, hi]);
    let (y_lo, y_hi) = extent(ys.chain(band_ys)).unwrap_or((0.0, 1.0));
    // Three legend lines a series: band, line, runs.
    let (size_px, y_range) = legend_room(padded(y_lo, y_hi, true), 3 * series.len());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size_px).into_drawing_area();
        let mut chart = xy_chart(&root, axes, padded(x_from, x_hi, true), y_range)?;
        for (i, (s, band)) in series.iter().zip(&bands).enumerate() {
            let c = colour(i);
            let outline: Vec<(f64, f64)> = band
                .iter()
                .map(|&(x, _, hi)| (x, hi))
                .chain(band.iter().rev().map(|&(x, lo, _)| (x, lo)))
                .collect();
            let fit = s.fit;
            chart
                .draw_series(std::iter::once(Polygon::new(outline, c.mix(0.18).filled())))
                .map_err(|e| draw_err(axes, e))?
                .label(format!("{}: 95 % band of the mean", s.name))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 18, y + 5)], c.mix(0.25).filled())
                });
            let line = band.iter().map(|&(x, _, _)| (x, fit.predict(x)));
            chart
                .draw_series(LineSeries::new(line, c.stroke_width(2)))
                .map_err(|e| draw_err(axes, e))?
                .label(format!(
                    "{}: y = {} + {}·x (R² {})",
                    s.name,
                    fmt_value(fit.intercept.value),
                    fmt_value(fit.slope.value),
                    fit.r2.map_or_else(|| "-".into(), |r| format!("{r:.3}"))
                ))
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

/// Estimated against measured, one point per run, with the line y = x (a perfect
/// estimate) and, when given, the error summary in the legend.
///
/// ```
/// use edgewatt::analysis::chart::{estimate_chart, Axes};
/// let axes = Axes { title: "Estimate vs meter", x_label: "measured (J)", y_label: "estimated (J)" };
/// let svg = estimate_chart(&axes, &[10.5, 19.0, 31.0], &[10.0, 20.0, 30.0], None).unwrap();
/// assert!(svg.contains("y = x"));
/// ```
pub fn estimate_chart(
    axes: &Axes,
    estimated: &[f64],
    measured: &[f64],
    summary: Option<&ErrorSummary>,
) -> Result<String, ChartError> {
    check_points(axes, "runs", measured, estimated)?;
    let (lo, hi) =
        extent(estimated.iter().chain(measured).copied()).ok_or_else(|| ChartError::Empty {
            title: axes.title.into(),
            what: "no runs with both an estimate and a measurement".into(),
        })?;
    let range = padded(lo, hi, true);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE_PX).into_drawing_area();
        let mut chart = xy_chart(&root, axes, range.clone(), range.clone())?;
        let grey = RGBColor(90, 90, 90);
        let diagonal = [(range.start, range.start), (range.end, range.end)];
        chart
            .draw_series(DashedLineSeries::new(diagonal, 6, 4, grey.stroke_width(1)))
            .map_err(|e| draw_err(axes, e))?
            .label("y = x (estimate equals measurement)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey));
        let c = colour(0);
        let label = match summary {
            Some(s) => format!(
                "{} runs: MAPE {:.1} %, bias {} %, worst {} %",
                s.n,
                s.mape_pct,
                super::signed_1dp(s.bias_pct),
                super::signed_1dp(s.worst.error_pct)
            ),
            None => format!("{} runs", measured.len()),
        };
        let dots = measured
            .iter()
            .zip(estimated)
            .map(|(&m, &e)| Circle::new((m, e), 3, c.filled()));
        chart
            .draw_series(dots)
            .map_err(|e| draw_err(axes, e))?
            .label(label)
            .legend(move |(x, y)| Circle::new((x + 9, y), 3, c.filled()));
        legend(&mut chart, axes, SeriesLabelPosition::UpperLeft)?;
        root.present().map_err(|e| draw_err(axes, e))?;
    }
    Ok(svg)
}
