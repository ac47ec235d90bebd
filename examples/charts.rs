//! Draws every chart of `edgewatt::analysis::chart` from seeded synthetic data with known
//! truth, and a self-contained HTML page showing them: `cargo run --example charts [DIR]`
//! (default `target/charts`). The page needs no network: the SVGs are inline.

use std::fmt::Write as _;
use std::path::PathBuf;

use edgewatt::analysis::chart::*;
use edgewatt::analysis::fit::*;
use edgewatt::synth::Rng;

fn law(rng: &mut Rng) -> anyhow::Result<String> {
    let tokens: Vec<f64> = [16.0, 64.0, 128.0, 256.0, 384.0, 512.0]
        .iter()
        .flat_map(|&t| [t; 4])
        .collect();
    let base: Vec<f64> = tokens
        .iter()
        .map(|t| 180.0 + 1.9 * t + rng.normal(25.0))
        .collect();
    let small: Vec<f64> = tokens
        .iter()
        .map(|t| 70.0 + 0.75 * t + rng.normal(12.0))
        .collect();
    let (fb, fs) = (fit_linear(&tokens, &base)?, fit_linear(&tokens, &small)?);
    let axes = Axes {
        title: "LLM cost grows linearly with the prompt",
        x_label: "prompt tokens",
        y_label: "CPU AUC above idle (%·s)",
    };
    Ok(law_chart(
        &axes,
        &[
            LawSeries {
                name: "base F16",
                x: &tokens,
                y: &base,
                fit: &fb,
            },
            LawSeries {
                name: "Q4_K_M",
                x: &tokens,
                y: &small,
                fit: &fs,
            },
        ],
    )?)
}

fn knee(rng: &mut Rng) -> anyhow::Result<String> {
    let sides: Vec<f64> = [
        64.0, 128.0, 224.0, 336.0, 448.0, 560.0, 672.0, 896.0, 1344.0, 1792.0,
    ]
    .iter()
    .flat_map(|&s| [s; 3])
    .collect();
    let y: Vec<f64> = sides
        .iter()
        .map(|s| 60.0 + 0.8 * s.min(600.0) + rng.normal(15.0))
        .collect();
    let fit = fit_knee(&sides, &y)?;
    let axes = Axes {
        title: "VLM cost is flat above the resize clamp",
        x_label: "image side (px)",
        y_label: "image encode (ms)",
    };
    Ok(knee_chart(
        &axes,
        &[KneeSeries {
            name: "qwen2vl",
            x: &sides,
            y: &y,
            fit: &fit,
        }],
    )?)
}

fn estimate(rng: &mut Rng) -> anyhow::Result<String> {
    let measured: Vec<f64> = (0..40).map(|_| 20.0 + 400.0 * rng.unit_f64()).collect();
    let estimated: Vec<f64> = measured
        .iter()
        .map(|m| m * 1.03 + rng.normal(0.05 * m))
        .collect();
    let summary = compare_estimates(&estimated, &measured)?;
    let axes = Axes {
        title: "Estimated vs measured energy per run",
        x_label: "measured (J, INA219)",
        y_label: "estimated (J, calibration pi5-demo)",
    };
    Ok(estimate_chart(
        &axes,
        &estimated,
        &measured,
        Some(&summary),
    )?)
}

fn phases() -> anyhow::Result<String> {
    let axes = Axes {
        title: "Energy per phase",
        x_label: "case",
        y_label: "energy above idle (J)",
    };
    let bars = [
        Bar {
            label: "F16 128 tok",
            values: &[4.1, 9.5, 31.0],
        },
        Bar {
            label: "Q4_K_M 128 tok",
            values: &[1.6, 4.0, 12.2],
        },
        Bar {
            label: "F16 512 tok",
            values: &[4.0, 37.0, 30.5],
        },
        Bar {
            label: "Q4_K_M 512 tok",
            values: &[1.7, 15.1, 12.0],
        },
    ];
    Ok(stacked_bars(&axes, &["load", "prefill", "decode"], &bars)?)
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("target/charts"), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    let mut rng = Rng::new(2026);
    let charts = [
        ("law", law(&mut rng)?),
        ("knee", knee(&mut rng)?),
        ("estimate", estimate(&mut rng)?),
        ("phases", phases()?),
    ];
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>edgewatt charts</title>\
         <style>body{font-family:sans-serif;margin:1em}svg{max-width:100%;height:auto}</style>\
         </head><body>\n",
    );
    for (name, svg) in &charts {
        std::fs::write(dir.join(format!("{name}.svg")), svg)?;
        writeln!(html, "<figure id=\"{name}\">{svg}</figure>")?;
    }
    html.push_str("</body></html>\n");
    std::fs::write(dir.join("index.html"), html)?;
    println!("{}", dir.join("index.html").display());
    Ok(())
}
