//! SVG charts of the laws, for a report page that opens offline.
//!
//! Each function returns one self-contained `<svg>` element as a string, to write to a
//! file or inline into HTML. Drawn with `plotters`' SVG backend and no font rendering:
//! text is SVG `<text>` in the viewer's `sans-serif`, laid out with plotters' size estimate
//! (≈ 0.45 em per character), so nothing depends on fonts installed where it is drawn.
//!
//! - [`law_chart`]: runs as points, the fitted line y = a + b·x and its 95 % band of the
//!   mean, one colour per model.
//! - [`knee_chart`]: runs as points, the plateau fit, ψ̂ marked with its CI shaded.
//! - [`estimate_chart`]: estimated vs measured per run, with the line y = x.
//! - [`stacked_bars`]: one bar per case, stacked by part (energy per phase).

mod bars;
mod knee;
mod law;
#[cfg(test)]
mod tests;

use std::ops::Range;

pub use bars::stacked_bars;
pub use bars::Bar;
pub use knee::knee_chart;
pub use knee::KneeSeries;
pub use law::estimate_chart;
pub use law::law_chart;
pub use law::LawSeries;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Width and height of every chart, px (the SVG scales in HTML).
pub const SIZE_PX: (u32, u32) = (760, 460);

/// The words on a chart: its title and axis labels (with units, e.g. "prompt tokens",
/// "CPU AUC above idle (%·s)").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axes<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
}

/// Why a chart could not be drawn.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChartError {
    #[error("chart {title:?}: nothing to draw: {what}")]
    Empty { title: String, what: String },
    #[error("chart {title:?}: {what}")]
    BadValue { title: String, what: String },
    #[error("chart {title:?}: drawing failed: {detail}")]
    Draw { title: String, detail: String },
}

/// Series colours (the Tableau 10 palette: distinct, and readable in grey print).
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// `v` with a sign and one decimal (`+0.4`, `-1.2`), a value that rounds to zero as
/// `+0.0`, never `-0.0`.
#[must_use]
pub fn signed_1dp(v: f64) -> String {
    signed(v, 1)
}

/// `v` with a sign and `decimals` decimals, a value that rounds to zero as `+0.00…`, never
/// `-0.00…` (a sign the figure shown does not have).
#[must_use]
pub fn signed(v: f64, decimals: usize) -> String {
    // Halves away from zero (f64::round), as the figures always were; `+ 0.0` makes -0 +0.
    let scale = 10f64.powi(i32::try_from(decimals).unwrap_or(i32::MAX));
    format!("{:+.decimals$}", (v * scale).round() / scale + 0.0)
}

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

const FONT: &str = "sans-serif";

/// `v` rounded to 4 significant digits (halves away from zero).
fn round_sig4(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    // Divided by a power of ten, not multiplied by its inexact inverse (999 950 000 · 10⁻⁵
    // rounds to just under 10⁹, which read "1000M").
    let e = 3 - v.abs().log10().floor() as i32;
    if e >= 0 {
        let scale = 10f64.powi(e);
        (v * scale).round() / scale
    } else {
        let scale = 10f64.powi(-e);
        (v / scale).round() * scale
    }
}

/// `v` with at most 4 significant digits (6 decimals), no trailing zeros, never `-0`.
fn plain(v: f64) -> String {
    let a = v.abs();
    let decimals = if a == 0.0 {
        0
    } else {
        (3 - a.log10().floor() as i32).clamp(0, 6) as usize
    };
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// The unit a value of magnitude `a` reads in: k from 10⁴, M from 10⁶ (pixels, to ~2·10⁶:
/// 500k, 1.5M rather than 500000 beside 1.00e6).
fn unit_of(a: f64) -> (f64, &'static str) {
    if a >= 1e6 {
        (1e6, "M")
    } else if a >= 1e4 {
        (1e3, "k")
    } else {
        (1.0, "")
    }
}

/// `v` in `unit`, 4 significant digits; 0 without the unit.
fn in_unit(v: f64, (scale, unit): (f64, &str)) -> String {
    let s = plain(round_sig4(v / scale));
    if s == "0" {
        s
    } else {
        format!("{s}{unit}")
    }
}

/// A value with 4 significant digits, no trailing zeros, in k or M from 10⁴ (told after
/// rounding: 999 995 is 1M, not 1000k); outside 10⁻³…10⁹, as 1.23e9.
fn fmt_tick(v: f64) -> String {
    let a = round_sig4(v).abs();
    if a != 0.0 && !(1e-3..1e9).contains(&a) {
        return format!("{v:.2e}");
    }
    in_unit(v, unit_of(a))
}

/// The tick labels of an axis over `range`: every label in the unit of the axis's largest
/// end (0, 5k, 10k, 15k; 0.5M, 1M, 1.5M), not 8000 beside 10k (an axis reaching 10⁹, or
/// with ticks under 10⁻³, reads those as 1.23e9 beside the rest).
fn axis_labels(range: &Range<f64>) -> impl Fn(&f64) -> String {
    let a = range.start.abs().max(range.end.abs());
    let unit = if a < 1e9 { unit_of(a) } else { (1.0, "") };
    move |v: &f64| {
        if unit.1.is_empty() {
            fmt_tick(*v)
        } else {
            in_unit(*v, unit)
        }
    }
}

/// A value for a legend line: 4 significant digits.
fn fmt_value(v: f64) -> String {
    fmt_tick(v)
}

/// `[lo, hi]` padded by 5 % (and widened when empty), from 0 when `from_zero` and all
/// values are non-negative.
fn padded(lo: f64, hi: f64, from_zero: bool) -> Range<f64> {
    let lo = if from_zero && lo >= 0.0 { 0.0 } else { lo };
    let span = hi - lo;
    let pad = if span > 0.0 {
        0.05 * span
    } else {
        0.5 * hi.abs().max(1.0)
    };
    (if lo == 0.0 { 0.0 } else { lo - pad })..hi + pad
}

/// min and max of values, or `None` when there are none.
fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values.into_iter().fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

fn check_points(axes: &Axes, name: &str, x: &[f64], y: &[f64]) -> Result<(), ChartError> {
    let bad = |what: String| ChartError::BadValue {
        title: axes.title.into(),
        what,
    };
    if x.len() != y.len() {
        return Err(bad(format!(
            "series {name:?}: {} x values but {} y values",
            x.len(),
            y.len()
        )));
    }
    if let Some(i) = x.iter().chain(y).position(|v| !v.is_finite()) {
        let (axis, i) = if i < x.len() {
            ("x", i)
        } else {
            ("y", i - x.len())
        };
        return Err(bad(format!("series {name:?}: {axis}[{i}] is not finite")));
    }
    Ok(())
}

type XyChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn draw_err(axes: &Axes, e: impl std::fmt::Display) -> ChartError {
    ChartError::Draw {
        title: axes.title.into(),
        detail: e.to_string(),
    }
}

/// A white canvas with the title, both axes, their labels and a light grid.
fn xy_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    axes: &Axes,
    x: Range<f64>,
    y: Range<f64>,
) -> Result<XyChart<'a, 'b>, ChartError> {
    root.fill(&WHITE).map_err(|e| draw_err(axes, e))?;
    let (x_ticks, y_ticks) = (axis_labels(&x), axis_labels(&y));
    let mut chart = ChartBuilder::on(root)
        .caption(axes.title, (FONT, 20))
        .margin(14)
        .x_label_area_size(50)
        .y_label_area_size(76)
        .build_cartesian_2d(x, y)
        .map_err(|e| draw_err(axes, e))?;
    chart
        .configure_mesh()
        .x_desc(axes.x_label)
        .y_desc(axes.y_label)
        .x_labels(8)
        .y_labels(7)
        .x_label_formatter(&x_ticks)
        .y_label_formatter(&y_ticks)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(RGBColor(245, 245, 245))
        .draw()
        .map_err(|e| draw_err(axes, e))?;
    Ok(chart)
}

/// The canvas and y range of an xy chart whose legend of `entries` lines sits in a band of
/// its own above the data (a legend over the upper left covered the lines and points there):
/// [`SIZE_PX`] made taller by the legend's height, and `y`'s top raised so that the data keep
/// the height they had, below the band.
fn legend_room(y: Range<f64>, entries: usize) -> ((u32, u32), Range<f64>) {
    // A legend line is about 16 px, its box 16 more; the band 8 px below it.
    let band_px = 16 * u32::try_from(entries).unwrap_or(u32::MAX / 32).min(64) + 24;
    // The plotting area at SIZE_PX: less the margins, the caption and the x labels.
    let plot_px = f64::from(SIZE_PX.1 - 2 * 14 - 30 - 50);
    let top = y.start + (y.end - y.start) * (plot_px + f64::from(band_px)) / plot_px;
    ((SIZE_PX.0, SIZE_PX.1 + band_px), y.start..top)
}

/// Draws the legend box in a corner.
fn legend<'a, 'b: 'a>(
    chart: &mut XyChart<'a, 'b>,
    axes: &Axes,
    at: SeriesLabelPosition,
) -> Result<(), ChartError> {
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(160, 160, 160))
        .label_font((FONT, 13))
        .draw()
        .map_err(|e| draw_err(axes, e))
}
