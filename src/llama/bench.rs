//! What `edgewatt bench` needs from the llama side: the job of each scheduled run and the
//! llama-bench-like summary table.

use std::fmt::Write as _;
use std::path::Path;

use crate::plan::Case;
use crate::record::Run;

/// The job of one scheduled run: the case's job with the plan's name, whether it is a
/// warm-up (`#warmup` after its label too) and its repetition, and a generated projector
/// written if the plan asks for one.
#[must_use]
pub fn job_for(schedule: &crate::plan::Schedule, sr: &crate::plan::ScheduledRun) -> super::Job {
    let mut job = schedule.cases[sr.case].job();
    job.plan.clone_from(&schedule.plan);
    job.warmup = sr.warmup;
    job.repetition = sr.repetition;
    if let Some(m) = &job.mmproj {
        job.mmproj = Some(generated_projector(m, &job.model));
    }
    if sr.warmup {
        job.label += "#warmup";
    }
    job
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// `mean ± sd` of `xs` with one decimal, or `-` when there is no value.
fn mean_sd_cell(xs: &[f64]) -> String {
    if xs.is_empty() {
        return "-".into();
    }
    let (mean, sd) = mean_sd(xs);
    format!("{mean:.1} ± {sd:.1}")
}

/// llama-bench-like table over the measured (non-warm-up) runs, one line per case. A
/// value no successful run measured is `-`, never a made-up 0.
#[must_use]
pub fn summary(cases: &[Case], runs: &[Run]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| model | size MiB | test | ok/runs | pp t/s | tg t/s | img tok | encode ms | peak RSS MiB |"
    );
    let _ = writeln!(out, "|---|---:|---|---:|---:|---:|---:|---:|---:|");
    for case in cases {
        let mine: Vec<&Run> = runs.iter().filter(|r| r.label == case.label).collect();
        let ok: Vec<&Run> = mine.iter().copied().filter(|r| r.is_ok()).collect();
        let pp: Vec<f64> = ok.iter().map(|r| r.prefill_tokens_per_s()).collect();
        let tg: Vec<f64> = ok.iter().map(|r| r.decode_tokens_per_s()).collect();
        let model = ok.iter().find_map(|r| r.model.as_ref());
        let name = model
            .and_then(|m| m.name.clone())
            .unwrap_or_else(|| case.model.display().to_string());
        let size = model.map_or_else(
            || "-".into(),
            |m| format!("{:.1}", m.file_size_bytes as f64 / 1_048_576.0),
        );
        let img = ok.iter().find_map(|r| r.image.as_ref());
        let (enc, _) = mean_sd(
            &ok.iter()
                .filter_map(|r| r.image.as_ref().map(|i| i.encode_us as f64 / 1000.0))
                .collect::<Vec<_>>(),
        );
        let rss = ok
            .iter()
            .map(|r| r.peak_rss_kb)
            .max()
            .map_or_else(|| "-".into(), |kb| format!("{:.1}", kb as f64 / 1024.0));
        let _ = writeln!(
            out,
            "| {name} | {size} | {} | {}/{} | {} | {} | {} | {} | {rss} |",
            case.label,
            ok.len(),
            mine.len(),
            mean_sd_cell(&pp),
            mean_sd_cell(&tg),
            img.map_or_else(|| "-".into(), |i| i.image_tokens.to_string()),
            img.map_or_else(|| "-".into(), |_| format!("{enc:.1}")),
        );
    }
    out
}

/// `generate:qwen2vl` / `generate:gemma3` → a random projector of the text model's width,
/// written once to the temp directory. Any other path is returned as is; so is the name
/// when the model cannot be read (the run then fails naming the model).
pub(super) fn generated_projector(mmproj: &Path, model: &Path) -> std::path::PathBuf {
    let Some(kind) = mmproj.to_str().and_then(|s| s.strip_prefix("generate:")) else {
        return mmproj.to_owned();
    };
    let Ok(g) = crate::gguf::GgufFile::open(model) else {
        return mmproj.to_owned();
    };
    let arch = g
        .get_str("general.architecture")
        .unwrap_or("llama")
        .to_owned();
    let Some(n_embd) = g.get_u64(&format!("{arch}.embedding_length")) else {
        return mmproj.to_owned();
    };
    let spec = crate::gguf::MmprojSpec {
        projection_dim: n_embd,
        ..crate::gguf::MmprojSpec::default()
    };
    let writer = match kind {
        "qwen2vl" => crate::gguf::qwen2vl_mmproj(&spec),
        "gemma3" => crate::gguf::gemma3_mmproj(&spec),
        _ => return mmproj.to_owned(),
    };
    let dir = std::env::temp_dir().join("edgewatt-generated");
    let path = dir.join(format!("{kind}-{n_embd}.gguf"));
    if !path.exists() {
        let _ = std::fs::create_dir_all(&dir);
        if writer.write_to(&path).is_err() {
            return mmproj.to_owned();
        }
    }
    path
}
