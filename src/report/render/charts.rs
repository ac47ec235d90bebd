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
use crate::report::laws::KneeAxis;
use crate::report::laws::Metric;
use crate::report::laws::Report;

/// A chart for a section, or why it could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    pub section: &'static str,
    pub svg: Result<String, String>,
}

fn devices<'a>(names: impl Iterator<Item = &'a String>) -> Vec<&'a String> {
    let mut v: Vec<&String> = Vec::new();
    for n in names {
        if !v.contains(&n) {
            v.push(n);
        }
    }
    v
}

fn law_charts(r: &Report, out: &mut Vec<Chart>) {
    for device in devices(r.llm.iter().map(|l| &l.device)) {
        for metric in [
            Metric::CpuAuc,
            Metric::RamAuc,
            Metric::EnergyMeasured,
            Metric::EnergyEstimated,
            Metric::Time,
        ] {
            let names: Vec<String> = r
                .llm
                .iter()
                .map(|l| format!("{} {}", l.model, l.workload))
                .collect();
            let series: Vec<LawSeries> = r
                .llm
                .iter()
                .zip(&names)
                .filter(|(l, _)| &l.device == device)
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
            let title = format!("{device}: {} vs prompt tokens", metric.label());
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
    for device in devices(r.knees.iter().map(|l| &l.device)) {
        for metric in [
            Metric::CpuAuc,
            Metric::EnergyMeasured,
            Metric::EnergyEstimated,
            Metric::EncodeTime,
        ] {
            let names: Vec<String> = r
                .knees
                .iter()
                .map(|l| format!("{} {} {}", l.model, l.workload, l.clamp))
                .collect();
            let series: Vec<KneeSeries> = r
                .knees
                .iter()
                .zip(&names)
                .filter(|(l, _)| &l.device == device)
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
            let title = format!("{device}: {} vs input pixels", metric.label());
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
        let title = format!("{}: estimated vs measured gross energy", e.device);
        let y_label = format!("estimated (J, {})", e.source);
        let axes = Axes {
            title: &title,
            x_label: "measured (J)",
            y_label: &y_label,
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
        for device in devices(
            r.phases
                .iter()
                .filter(|p| p.unit == unit)
                .map(|p| &p.device),
        ) {
            let mine: Vec<_> = r
                .phases
                .iter()
                .filter(|p| p.unit == unit && &p.device == device)
                .collect();
            let labels: Vec<String> = mine
                .iter()
                .map(|p| format!("{} {}", p.model, p.workload))
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
                    format!("{device}: measured net energy per phase (mean per run)"),
                    "energy (J)",
                )
            } else {
                (
                    format!("{device}: time per phase (mean per run; no measured energy)"),
                    "time (s)",
                )
            };
            let axes = Axes {
                title: &title,
                x_label: "model and workload",
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
