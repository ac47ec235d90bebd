//! What `edgewatt bench` needs from the llama side: the job of each scheduled run, the
//! cooldown wait, and the llama-bench-like summary table.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;
use std::time::Instant;

use crate::plan::Case;
use crate::plan::Cooldown;
use crate::record::Run;

/// The job of one scheduled run: the case's job, with a generated projector written if
/// the plan asks for one, and `#warmup` after the label of a warm-up run.
#[must_use]
pub fn job_for(schedule: &crate::plan::Schedule, sr: &crate::plan::ScheduledRun) -> super::Job {
    let mut job = schedule.cases[sr.case].job();
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

/// llama-bench-like table over the measured (non-warm-up) runs, one line per case.
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
        let (pp, pp_sd) = mean_sd(
            &ok.iter()
                .map(|r| r.prefill_tokens_per_s())
                .collect::<Vec<_>>(),
        );
        let (tg, tg_sd) = mean_sd(
            &ok.iter()
                .map(|r| r.decode_tokens_per_s())
                .collect::<Vec<_>>(),
        );
        let model = ok.iter().find_map(|r| r.model.as_ref());
        let name = model
            .and_then(|m| m.name.clone())
            .unwrap_or_else(|| case.model.display().to_string());
        let size = model.map_or(0.0, |m| m.file_size_bytes as f64 / 1_048_576.0);
        let img = ok.iter().find_map(|r| r.image.as_ref());
        let (enc, _) = mean_sd(
            &ok.iter()
                .filter_map(|r| r.image.as_ref().map(|i| i.encode_us as f64 / 1000.0))
                .collect::<Vec<_>>(),
        );
        let rss = ok.iter().map(|r| r.peak_rss_kb).max().unwrap_or(0) as f64 / 1024.0;
        let _ = writeln!(
            out,
            "| {name} | {size:.1} | {} | {}/{} | {pp:.1} ± {pp_sd:.1} | {tg:.1} ± {tg_sd:.1} | {} | {} | {rss:.1} |",
            case.label,
            ok.len(),
            mine.len(),
            img.map_or_else(|| "-".into(), |i| i.image_tokens.to_string()),
            img.map_or_else(|| "-".into(), |_| format!("{enc:.1}")),
        );
    }
    out
}

/// Waits until the CPU is idle enough and the SoC cool enough, at most `max_wait_s`.
/// Returns the wait, µs. `proc_root`/`sys_root` are `/proc` and `/sys` outside tests.
pub fn wait_for_cooldown(c: &Cooldown, proc_root: &Path, sys_root: &Path) -> u64 {
    let start = Instant::now();
    let cap = Duration::from_secs(c.max_wait_s);
    loop {
        let busy_ok = cpu_busy_pct(proc_root, Duration::from_millis(500))
            .is_none_or(|p| p < c.cpu_busy_below_pct);
        let temp_ok = c
            .temp_below_mc
            .is_none_or(|limit| soc_temp_mc(sys_root).is_none_or(|t| t < limit));
        if (busy_ok && temp_ok) || start.elapsed() >= cap {
            return start.elapsed().as_micros() as u64;
        }
    }
}

fn cpu_ticks(proc_root: &Path) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(proc_root.join("stat")).ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let idle = v.get(3)? + v.get(4).unwrap_or(&0);
    Some((v.iter().take(8).sum(), idle))
}

/// Busy share of all CPUs over `over`, percent.
fn cpu_busy_pct(proc_root: &Path, over: Duration) -> Option<u32> {
    let (t0, i0) = cpu_ticks(proc_root)?;
    std::thread::sleep(over);
    let (t1, i1) = cpu_ticks(proc_root)?;
    // No ticks passed (a frozen or fake /proc): no information.
    let total = t1.checked_sub(t0).filter(|t| *t > 0)?;
    let busy = total.saturating_sub(i1.checked_sub(i0)?);
    Some((busy * 100 / total) as u32)
}

fn soc_temp_mc(sys_root: &Path) -> Option<i64> {
    std::fs::read_to_string(sys_root.join("class/thermal/thermal_zone0/temp"))
        .ok()?
        .trim()
        .parse()
        .ok()
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
