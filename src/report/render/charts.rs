//! The report's SVG charts: cost vs tokens with the fit and its band, cost vs pixels with
//! the knee, estimated vs measured with y = x, and energy (or time) per phase.

use crate::analysis::chart::estimate_chart;
use crate::analysis::chart::knee_chart;
use crate::analysis::chart::law_chart;
use crate::analysis::chart::stacked_bars;
use crate::analysis::chart::Axes;
use crate::analysis::chart::Bar;
use crate::analysis::chart::KneeSeries;
use crate::analysis::chart::LawSeries;
use crate::analysis::fit::compare_estimates;
use crate::report::laws::groups::group_by;
use crate::report::laws::KneeAxis;
use crate::report::laws::KneeLaw;
use crate::report::laws::LlmLaw;
use crate::report::laws::Metric;
use crate::report::laws::PhaseCost;
use crate::report::laws::Report;

/// A chart for a section, or why it could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    pub section: &'static str,
    pub svg: Result<String, String>,
}

/// `items` by their device, in first-seen order.
fn by_device<'a, T>(items: &[&'a T], device: fn(&T) -> &String) -> Vec<(String, Vec<&'a T>)> {
    group_by(items, |t| device(t).clone())
}

/// The token law's costs drawn, each where some law has a fit of it: all but the prefill
/// time. The worker's RSS AUC too: for llama.cpp runs the machine's RAM above idle is flat
/// (the weights are mmapped page cache), and the worker's RSS is the memory cost.
fn law_chart_metrics() -> impl Iterator<Item = Metric> {
    crate::report::laws::LLM_METRICS
        .into_iter()
        .filter(|m| *m != Metric::PrefillTime)
}

/// A device id as a chart title shows it: one longer than 20 characters (a 32-hex-digit
/// hashed machine id) as its first 12 and `…`, like a short commit hash, so the title fits
/// the chart; the tables show it whole.
fn short(device: &str) -> std::borrow::Cow<'_, str> {
    match device.char_indices().nth(20) {
        Some(_) => {
            let cut = device
                .char_indices()
                .nth(12)
                .map_or(device.len(), |(i, _)| i);
            format!("{}…", &device[..cut]).into()
        }
        None => device.into(),
    }
}

fn law_charts(r: &Report, out: &mut Vec<Chart>) {
    let laws: Vec<&LlmLaw> = r.llm.iter().collect();
    for (device, laws) in by_device(&laws, |l| &l.device) {
        let names: Vec<String> = laws
            .iter()
            .map(|l| format!("{} {}", l.model, l.workload))
            .collect();
        for metric in law_chart_metrics() {
            let series: Vec<LawSeries> = laws
                .iter()
                .zip(&names)
                .filter_map(|(l, name)| {
                    let f = l.get(metric)?;
                    Some(LawSeries {
                        name,
                        x: &f.x,
                        y: &f.y,
                        fit: f.fit.as_ref()?,
                    })
                })
                .collect();
            if series.is_empty() {
                continue;
            }
            let title = format!("{}: {} vs prompt tokens", short(&device), metric.label());
            let axes = Axes {
                title: &title,
                x_label: "prompt tokens",
                y_label: metric.label(),
            };
            out.push(Chart {
                section: "llm",
                svg: law_chart(&axes, &series).map_err(|e| e.to_string()),
            });
        }
    }
}

fn knee_charts(r: &Report, out: &mut Vec<Chart>) {
    let laws: Vec<&KneeLaw> = r.knees.iter().collect();
    for (device, laws) in by_device(&laws, |l| &l.device) {
        let names: Vec<String> = laws
            .iter()
            .map(|l| match l.clamp.as_str() {
                // No clamp in its label: not a "-".
                "-" => format!("{} {}", l.model, l.workload),
                clamp => format!("{} {} {clamp}", l.model, l.workload),
            })
            .collect();
        for metric in [
            Metric::CpuAuc,
            Metric::EnergyMeasured,
            Metric::EnergyEstimated,
            Metric::EncodeTime,
        ] {
            let series: Vec<KneeSeries> = laws
                .iter()
                .zip(&names)
                .filter_map(|(l, name)| {
                    let f = l.get(metric, KneeAxis::Pixels)?;
                    Some(KneeSeries {
                        name,
                        x: &f.x,
                        y: &f.y,
                        fit: f.fit.as_ref()?,
                    })
                })
                .collect();
            if series.is_empty() {
                continue;
            }
            let title = format!("{}: {} vs input pixels", short(&device), metric.label());
            let axes = Axes {
                title: &title,
                x_label: "input pixels (width × height)",
                y_label: metric.label(),
            };
            out.push(Chart {
                section: "knee",
                svg: knee_chart(&axes, &series).map_err(|e| e.to_string()),
            });
        }
    }
}

fn estimate_charts(r: &Report, out: &mut Vec<Chart>) {
    for e in r.estimate_errors.iter().filter(|e| e.n > 0) {
        // The calibration is named in the table above: the axis label stays short.
        let title = format!(
            "{}: estimated vs measured gross energy, {}",
            short(&e.device),
            e.runs_label()
        );
        let axes = Axes {
            title: &title,
            x_label: "measured (J)",
            y_label: "estimated (J)",
        };
        let summary = compare_estimates(&e.estimated_j, &e.measured_j).ok();
        let svg = estimate_chart(&axes, &e.estimated_j, &e.measured_j, summary.as_ref());
        out.push(Chart {
            section: "estimate",
            svg: svg.map_err(|e| e.to_string()),
        });
    }
}

fn phase_charts(r: &Report, out: &mut Vec<Chart>) {
    for unit in ["J", "s"] {
        let of_unit: Vec<&PhaseCost> = r.phases.iter().filter(|p| p.unit == unit).collect();
        for (device, mine) in by_device(&of_unit, |p| &p.device) {
            // A bar is its workload where that names it alone (the model's name is long).
            let mut workloads: Vec<&str> = mine.iter().map(|p| p.workload.as_str()).collect();
            workloads.sort_unstable();
            workloads.dedup();
            let by_workload = workloads.len() == mine.len();
            let labels: Vec<String> = (mine.iter())
                .map(|p| match by_workload {
                    true => p.workload.clone(),
                    false => format!("{} {}", p.model, p.workload),
                })
                .collect();
            let bars: Vec<Bar> = mine
                .iter()
                .zip(&labels)
                .map(|(p, label)| Bar {
                    label,
                    values: &p.mean,
                })
                .collect();
            let Some(first) = mine.first() else { continue };
            let (title, y_label) = if unit == "J" {
                (
                    format!(
                        "{}: measured net energy per phase (mean per run)",
                        short(&device)
                    ),
                    "energy (J)",
                )
            } else {
                (
                    format!(
                        "{}: time per phase (mean per run; no measured energy)",
                        short(&device)
                    ),
                    "time (s)",
                )
            };
            let axes = Axes {
                title: &title,
                x_label: if by_workload {
                    "workload"
                } else {
                    "model and workload"
                },
                y_label,
            };
            out.push(Chart {
                section: "runs",
                svg: stacked_bars(&axes, &first.phases, &bars).map_err(|e| e.to_string()),
            });
        }
    }
}

/// Every chart of the report, in section order.
#[must_use]
pub fn charts(r: &Report) -> Vec<Chart> {
    let mut out = Vec::new();
    law_charts(r, &mut out);
    knee_charts(r, &mut out);
    estimate_charts(r, &mut out);
    phase_charts(r, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::law_chart_metrics;
    use crate::report::laws::Metric;

    #[test]
    fn the_worker_rss_auc_is_charted_and_the_prefill_time_is_not() {
        let charted: Vec<Metric> = law_chart_metrics().collect();
        assert!(charted.contains(&Metric::WorkerRssAuc), "{charted:?}");
        assert!(charted.contains(&Metric::CpuAuc), "{charted:?}");
        assert!(!charted.contains(&Metric::PrefillTime), "{charted:?}");
    }

    #[test]
    fn a_hashed_device_id_is_cut_in_chart_titles_and_a_name_is_not() {
        use super::short;
        assert_eq!(short("3f9a6c2e8d1b4f07a5e2c9d3b1a08e74"), "3f9a6c2e8d1b…");
        assert_eq!(short("synthetic-pi"), "synthetic-pi");
        assert_eq!(short("pi5-kitchen-shelf-12"), "pi5-kitchen-shelf-12");
        assert_eq!(short("ééééééééééééééééééééé"), "éééééééééééé…");
    }

    #[test]
    fn a_percentage_that_rounds_to_zero_has_no_minus() {
        use crate::analysis::chart::signed_1dp;
        assert_eq!(signed_1dp(-0.0014), "+0.0");
        assert_eq!(signed_1dp(-0.05), "-0.1");
        assert_eq!(signed_1dp(2.04), "+2.0");
        use crate::analysis::chart::signed;
        assert_eq!(signed(-0.001, 2), "+0.00");
        assert_eq!(signed(-0.046, 3), "-0.046");
        assert_eq!(signed(-0.0004, 3), "+0.000");
        assert_eq!(signed(0.0, 2), "+0.00");
        assert_eq!(signed(0.25, 1), "+0.3");
        assert_eq!(signed(-0.25, 1), "-0.3");
    }
}
