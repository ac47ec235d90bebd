//! Stacked bars: one bar per case, split into parts (energy per phase).

use plotters::prelude::*;

use super::axis_labels;
use super::colour;
use super::draw_err;
use super::Axes;
use super::ChartError;
use super::FONT;
use super::SIZE_PX;

/// One bar: its label under the axis and one value per part (in the parts' order).
#[derive(Debug, Clone, Copy)]
pub struct Bar<'a> {
    pub label: &'a str,
    pub values: &'a [f64],
}

fn check(axes: &Axes, parts: &[&str], bars: &[Bar]) -> Result<f64, ChartError> {
    let bad = |what: String| ChartError::BadValue {
        title: axes.title.into(),
        what,
    };
    if bars.is_empty() || parts.is_empty() {
        return Err(ChartError::Empty {
            title: axes.title.into(),
            what: "no bars or no parts".into(),
        });
    }
    let mut top: f64 = 0.0;
    for b in bars {
        if b.values.len() != parts.len() {
            return Err(bad(format!(
                "bar {:?} has {} values for {} parts",
                b.label,
                b.values.len(),
                parts.len()
            )));
        }
        if let Some(i) = b.values.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(bad(format!(
                "bar {:?}: {} is {}: stacked parts must be finite and not negative",
                b.label, parts[i], b.values[i]
            )));
        }
        top = top.max(b.values.iter().sum());
    }
    Ok(top)
}

/// `label` in at most `max_chars` characters (at least 5): else its start, `…` and its end,
/// so that labels that differ at either end stay apart ("model workload": models differ at
/// the start, their quantizations and the workloads at the end).
pub(super) fn fit_label(label: &str, max_chars: usize) -> String {
    let max_chars = max_chars.max(5);
    let n = label.chars().count();
    if n <= max_chars {
        return label.to_owned();
    }
    let head = max_chars / 2;
    let tail = max_chars - 1 - head;
    let start: String = label.chars().take(head).collect();
    let end: String = label.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

/// Bars stacked from the first part up, one colour per part, with a legend.
///
/// ```
/// use edgewatt::analysis::chart::{stacked_bars, Axes, Bar};
/// let axes = Axes { title: "Energy per phase", x_label: "case", y_label: "energy (J)" };
/// let parts = ["load", "prefill", "decode"];
/// let bars = [
///     Bar { label: "base", values: &[2.0, 5.0, 11.0] },
///     Bar { label: "Q4_K_M", values: &[1.0, 2.5, 4.0] },
/// ];
/// let svg = stacked_bars(&axes, &parts, &bars).unwrap();
/// assert!(svg.contains("prefill") && svg.contains("Q4_K_M"));
/// ```
pub fn stacked_bars(axes: &Axes, parts: &[&str], bars: &[Bar]) -> Result<String, ChartError> {
    let top = check(axes, parts, bars)?;
    // Headroom for the legend in the upper right: a line per part.
    let headroom = 1.1 + 0.06 * parts.len() as f64;
    let top = if top > 0.0 { top * headroom } else { 1.0 };
    // A segmented 0..=last has a segment per bar and one more, empty, on the right, under
    // the legend (and a single bar is not a degenerate 0..0, which draws nothing).
    let last = bars.len() as u32;
    // Characters a label may take under its bar: the plot's width over the slots, about 7 px
    // a character at 13 px.
    let plot_px = f64::from(SIZE_PX.0 - 2 * 14 - 76);
    let label_chars = (plot_px / f64::from(last + 1) / 7.0) as usize;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE_PX).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_err(axes, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(axes.title, (FONT, 20))
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(76)
            .build_cartesian_2d((0..last).into_segmented(), 0.0..top)
            .map_err(|e| draw_err(axes, e))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(axes.x_label)
            .y_desc(axes.y_label)
            .x_labels(bars.len())
            .y_labels(7)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => bars
                    .get(*i as usize)
                    .map_or_else(String::new, |b| fit_label(b.label, label_chars)),
                _ => String::new(),
            })
            .y_label_formatter(&axis_labels(&(0.0..top)))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 15))
            .bold_line_style(RGBColor(225, 225, 225))
            .light_line_style(RGBColor(245, 245, 245))
            .draw()
            .map_err(|e| draw_err(axes, e))?;
        for (p, part) in parts.iter().enumerate() {
            let c = colour(p);
            let rects = bars.iter().enumerate().map(|(i, b)| {
                let base: f64 = b.values[..p].iter().sum();
                let i = i as u32;
                let mut r = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), base),
                        (SegmentValue::Exact(i + 1), base + b.values[p]),
                    ],
                    c.filled(),
                );
                r.set_margin(0, 0, 12, 12);
                r
            });
            chart
                .draw_series(rects)
                .map_err(|e| draw_err(axes, e))?
                .label(*part)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], c.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(160, 160, 160))
            .label_font((FONT, 13))
            .draw()
            .map_err(|e| draw_err(axes, e))?;
        root.present().map_err(|e| draw_err(axes, e))?;
    }
    Ok(svg)
}
