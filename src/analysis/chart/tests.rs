use super::*;
use crate::analysis::fit::compare_estimates;
use crate::analysis::fit::fit_knee;
use crate::analysis::fit::fit_linear;

const AXES: Axes = Axes {
    title: "A title",
    x_label: "prompt tokens",
    y_label: "CPU AUC above idle (%·s)",
};

/// The SVG is one element, has no non-finite coordinates and says what it must.
#[track_caller]
fn check_svg(svg: &str, must: &[&str]) {
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{svg:.200}"
    );
    // 460 px high, and taller by the legend's band.
    assert!(svg.contains("viewBox=\"0 0 760 "), "{svg:.200}");
    for bad in ["NaN", "inf"] {
        assert!(!svg.contains(bad), "{bad} in the SVG");
    }
    for text in must.iter().chain(&[AXES.title]) {
        assert!(svg.contains(text), "{text:?} missing");
    }
}

/// Width and height of each `<rect>` of the SVG.
fn rects(svg: &str) -> Vec<(f64, f64)> {
    svg.split("<rect")
        .skip(1)
        .filter_map(|r| Some((attr(r, "width")?, attr(r, "height")?)))
        .collect()
}

fn circles(svg: &str) -> usize {
    svg.matches("<circle").count()
}

/// The value of attribute `name` in element text `e`.
fn attr(e: &str, name: &str) -> Option<f64> {
    let at = e.find(&format!(" {name}=\""))? + name.len() + 3;
    e[at..].split('"').next()?.parse::<f64>().ok()
}

/// The legend box's bottom, and how many circles lie below it (data, not its own).
fn below_legend(svg: &str) -> (f64, usize) {
    let boxed = (svg.split("<rect").skip(1))
        .find(|r| r.split('>').next().unwrap().contains("#A0A0A0"))
        .expect("a legend box");
    let bottom = attr(boxed, "y").unwrap() + attr(boxed, "height").unwrap();
    let below = (svg.split("<circle").skip(1))
        .filter(|c| attr(c, "cy").unwrap() > bottom)
        .count();
    (bottom, below)
}

#[test]
fn a_law_chart_has_points_lines_bands_labels_and_a_legend() {
    let x = [16.0, 64.0, 256.0, 512.0, 16.0, 512.0];
    let y = [30.0, 71.0, 240.0, 470.0, 33.0, 480.0];
    let fit = fit_linear(&x, &y).unwrap();
    let y2: Vec<f64> = y.iter().map(|v| v / 2.0).collect();
    let fit2 = fit_linear(&x, &y2).unwrap();
    let series = [
        LawSeries {
            name: "base",
            x: &x,
            y: &y,
            fit: &fit,
        },
        LawSeries {
            name: "small",
            x: &x,
            y: &y2,
            fit: &fit2,
        },
    ];
    let svg = law_chart(&AXES, &series).unwrap();
    check_svg(
        &svg,
        &[
            "prompt tokens",
            "%·s",
            "base: 6 runs",
            "small: 95 % band of the mean",
        ],
    );
    // 12 runs and one legend dot per series; every run below the legend (rev-g: the legend
    // covered the lines and points in the upper left).
    assert_eq!(circles(&svg), 12 + 2);
    let (bottom, below) = below_legend(&svg);
    assert_eq!(below, 12, "legend box to y = {bottom}");
    assert_eq!(svg.matches("<polygon").count(), 2, "a band per series");
    assert!(svg.contains(&format!("base: y = {} + ", fmt_value(fit.intercept.value))));
}

#[test]
fn a_knee_chart_marks_psi_and_its_ci_or_says_there_is_no_knee() {
    let x = [64.0, 128.0, 256.0, 384.0, 512.0, 768.0, 1024.0];
    let y: Vec<f64> = x.iter().map(|p: &f64| 10.0 + 0.5 * p.min(448.0)).collect();
    let fit = fit_knee(&x, &y).unwrap();
    let svg = knee_chart(
        &AXES,
        &[KneeSeries {
            name: "vlm",
            x: &x,
            y: &y,
            fit: &fit,
        }],
    )
    .unwrap();
    check_svg(&svg, &["knee ψ = 448 (95 % CI 384–512)", "plateau 234"]);
    assert_eq!(circles(&svg), 7 + 1);
    assert_eq!(below_legend(&svg).1, 7);
    let knee_rects = svg.matches("<rect").count();
    let flat = [5.0, 5.1, 4.9, 5.0, 5.05, 4.95, 5.0];
    let fit = fit_knee(&x, &flat).unwrap();
    let svg = knee_chart(
        &AXES,
        &[KneeSeries {
            name: "vlm",
            x: &x,
            y: &flat,
            fit: &fit,
        }],
    )
    .unwrap();
    check_svg(&svg, &["vlm: no knee: flat over the tested range"]);
    assert!(!svg.contains("knee ψ"));
    // The knee chart has the CI span and its legend swatch besides.
    assert_eq!(knee_rects, svg.matches("<rect").count() + 2);
}

#[test]
fn an_estimate_chart_has_the_diagonal_and_the_summary() {
    let measured = [10.0, 20.0, 30.0, 40.0];
    let estimated = [11.0, 18.0, 33.0, 40.0];
    let s = compare_estimates(&estimated, &measured).unwrap();
    let svg = estimate_chart(&AXES, &estimated, &measured, Some(&s)).unwrap();
    check_svg(
        &svg,
        &["y = x", "4 runs: MAPE 7.5 %, bias +2.5 %, worst +10.0 %"],
    );
    assert_eq!(circles(&svg), 4 + 1);
}

#[test]
fn stacked_bars_have_one_rectangle_per_part_and_bar() {
    let bars = [
        Bar {
            label: "base",
            values: &[2.0, 5.0, 11.0],
        },
        Bar {
            label: "q4",
            values: &[1.0, 0.0, 4.0],
        },
    ];
    let svg = stacked_bars(&AXES, &["load", "prefill", "decode"], &bars).unwrap();
    check_svg(&svg, &["load", "prefill", "decode", "base", "q4"]);
    let one = stacked_bars(
        &AXES,
        &["energy"],
        &[Bar {
            label: "only",
            values: &[3.0],
        }],
    )
    .unwrap();
    check_svg(&one, &["only", "energy"]);
    // The one bar is drawn, wide and tall (rev-g: a 0..0 range drew nothing but the legend).
    assert!(
        rects(&one)
            .iter()
            .any(|&(w, h)| w > 100.0 && w < 500.0 && h > 100.0),
        "{:?}",
        rects(&one)
    );
    let zero = stacked_bars(
        &AXES,
        &["energy"],
        &[Bar {
            label: "none",
            values: &[0.0],
        }],
    )
    .unwrap();
    check_svg(&zero, &["none"]);
}

#[test]
fn bad_input_is_an_error_naming_the_chart_and_the_value() {
    let x = [1.0, 2.0, 3.0];
    let fit = fit_linear(&x, &[1.0, 2.0, 3.5]).unwrap();
    let e = law_chart(&AXES, &[]).unwrap_err();
    assert!(matches!(e, ChartError::Empty { .. }), "{e}");
    let e = law_chart(
        &AXES,
        &[LawSeries {
            name: "m",
            x: &x,
            y: &[1.0, f64::NAN, 2.0],
            fit: &fit,
        }],
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "chart \"A title\": series \"m\": y[1] is not finite"
    );
    let e = law_chart(
        &AXES,
        &[LawSeries {
            name: "m",
            x: &x,
            y: &[1.0],
            fit: &fit,
        }],
    )
    .unwrap_err();
    assert!(e.to_string().contains("3 x values but 1 y values"), "{e}");
    let e = estimate_chart(&AXES, &[], &[], None).unwrap_err();
    assert!(matches!(e, ChartError::Empty { .. }), "{e}");
    let e = stacked_bars(
        &AXES,
        &["a", "b"],
        &[Bar {
            label: "x",
            values: &[1.0],
        }],
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("bar \"x\" has 1 values for 2 parts"),
        "{e}"
    );
    let e = stacked_bars(
        &AXES,
        &["a"],
        &[Bar {
            label: "x",
            values: &[-1.0],
        }],
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("a is -1: stacked parts must be finite and not negative"),
        "{e}"
    );
    assert!(stacked_bars(&AXES, &[], &[]).is_err());
}

#[test]
fn ticks_are_short_and_readable() {
    for (v, want) in [
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (2.5, "2.5"),
        (1234.5, "1235"),
        (9999.5, "10k"),
        (999_995.0, "1M"),
        (999_950_000.0, "1.00e9"),
        (0.012_345, "0.01235"),
        (100.0, "100"),
        (-42.42, "-42.42"),
        (12_345.0, "12.35k"),
        (500_000.0, "500k"),
        (1.0e6, "1M"),
        (1_806_336.0, "1.806M"),
        (123_456.0, "123.5k"),
        (2.0e7, "20M"),
        (-3.0e4, "-30k"),
        (2.0e9, "2.00e9"),
        (1.0e-5, "1.00e-5"),
    ] {
        assert_eq!(fmt_tick(v), want, "{v}");
    }
}

/// One axis, one form: an axis to 14 000 reads 8k beside 10k, one to 2·10⁶ 0.5M beside 1M
/// (rev-i: 8000 beside 10k).
#[test]
fn an_axis_labels_every_tick_in_one_unit() {
    let k = axis_labels(&(0.0..14_000.0));
    let got: Vec<String> = [0.0, 2000.0, 8000.0, 10_000.0, 12_500.0]
        .iter()
        .map(&k)
        .collect();
    assert_eq!(got, ["0", "2k", "8k", "10k", "12.5k"]);
    let m = axis_labels(&(-1.0e5..2.0e6));
    let got: Vec<String> = [-1.0e5, 0.0, 5.0e5, 1.0e6].iter().map(&m).collect();
    assert_eq!(got, ["-0.1M", "0", "0.5M", "1M"]);
    let plain = axis_labels(&(0.0..9000.0));
    assert_eq!(plain(&2500.0), "2500");
    assert_eq!(axis_labels(&(0.0..3.0e9))(&2.0e9), "2.00e9");
}

/// Long bar labels are cut to their bar's width in the middle, keeping both ends (they
/// overlapped one another under four bars; rev-j: cut from the start, "model workload"
/// labels of one workload all read alike).
#[test]
fn a_long_bar_label_keeps_both_ends() {
    use super::bars::fit_label;
    assert_eq!(fit_label("f16", 18), "f16");
    let long = "Smollm2 135M 8k Lc100K Mix1 Ep2 Q4_1 q4_1";
    let cut = fit_label(long, 18);
    assert_eq!(cut.chars().count(), 18);
    assert_eq!(cut, "Smollm2 1…4_1 q4_1");
    let (a, b) = (
        "SmolLM2 135M Instruct Q4_1 llm",
        "Qwen2.5 0.5B Instruct Q4_1 llm",
    );
    assert_eq!(
        [fit_label(a, 10), fit_label(b, 10)],
        ["SmolL… llm", "Qwen2… llm"]
    );
    let labels = [long, "Smollm2 135M 8k Lc100K Mix1 Ep2 F16 f16"];
    let bars: Vec<Bar> = (labels.iter())
        .map(|label| Bar {
            label,
            values: &[1.0, 2.0],
        })
        .collect();
    let svg = stacked_bars(&AXES, &["a", "b"], &bars).unwrap();
    assert!(!svg.contains(long), "uncut");
    assert!(svg.contains("Smollm2 135M 8k…ix1 Ep2 F16 f16\n"), "{svg}");
}
