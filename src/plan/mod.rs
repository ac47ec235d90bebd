//! Plan files (TOML): which workloads to run, how often, in which order (issue 3 point 4).
//!
//! ```toml
//! name = "demo"
//! repetitions = 3          # measured runs of each case
//! warmup = 1               # unrecorded-as-measured runs of each case first
//! shuffle_seed = 7         # seeded shuffle of the measured runs; omit to keep order
//! time_limit_s = 600       # per run
//!
//! [when]                   # for `edgewatt run`; default: at start
//! at_start = true          # default: only without every_s and at
//! every_s = 21600
//! at = ["03:00", "15:00"]  # local time
//!
//! [cooldown]               # before each run: CPU back at the idle baseline, SoC cool
//! cpu_margin_pct = 5       # busy share ≤ the plan's idle lead-in share + 5 points
//! cpu_busy_below_pct = 15  # if no baseline could be measured: busy share < 15 %
//! temp_below_mc = 60000
//! max_wait_s = 120
//!
//! [[workload]]
//! name = "llm"
//! model = "models/SmolLM2-135M-Instruct.F16.gguf"
//! prompt_tokens = [16, 64, 256]
//! gen_tokens = 32
//!
//! [[workload]]
//! name = "llm-q4"
//! model = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
//! prompt_tokens = [16, 64, 256]
//! gen_tokens = 32
//! base_workload = "llm"    # optional: the workload (of this plan) this one is a
//!                          # compressed variant of; its runs say so, for the analysis
//!
//! [[workload]]
//! name = "vlm-knee"
//! model = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
//! mmproj = "generate:qwen2vl"  # or a file; generate:qwen2vl|gemma3 makes a random
//!                              # projector of the model's width (tests the pipeline)
//! images = ["224x224", "448x448", "896x896", "photo.jpg"]
//! image_max_tokens = [256, 1024]
//! ```
//! Relative paths are relative to the plan file. Unknown keys are errors.

mod expand;
#[cfg(test)]
mod tests;
mod when;

use std::path::Path;
use std::path::PathBuf;

use serde::Deserialize;

pub use expand::Case;
pub use expand::CaseImage;
pub use expand::Schedule;
pub use expand::ScheduledRun;
pub use when::parse_time_of_day;
pub use when::When;

/// A plan as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub name: String,
    #[serde(default = "one")]
    pub repetitions: u32,
    #[serde(default)]
    pub warmup: u32,
    pub shuffle_seed: Option<u64>,
    #[serde(default = "default_time_limit_s")]
    pub time_limit_s: u64,
    #[serde(default)]
    pub cooldown: Option<Cooldown>,
    /// When `edgewatt run` starts the plan; default: once, at start.
    #[serde(default)]
    pub when: When,
    #[serde(rename = "workload")]
    pub workloads: Vec<Workload>,
}

/// Wait before each run until the CPU is back at the plan's idle baseline and the SoC is
/// cool, at most `max_wait_s` (see `crate::llama::wait_for_cooldown`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cooldown {
    /// Back at baseline: all-CPU busy share ≤ the idle lead-in's share + this, points.
    #[serde(default = "default_margin_pct")]
    pub cpu_margin_pct: u32,
    /// Only when no baseline could be measured: busy share < this, percent.
    #[serde(default = "default_busy_pct")]
    pub cpu_busy_below_pct: u32,
    /// SoC (`thermal_zone0`) below this, m°C; no temperature condition if absent.
    pub temp_below_mc: Option<i64>,
    /// The cap, s; the run starts then even if the conditions are not met.
    #[serde(default = "default_max_wait_s")]
    pub max_wait_s: u64,
}

impl Cooldown {
    /// The first impossible value: (key, what is wrong).
    fn problem(&self) -> Option<(&'static str, String)> {
        if self.cpu_margin_pct > 100 {
            return Some((
                "cooldown.cpu_margin_pct",
                format!("{} is not a share of 0..=100 %", self.cpu_margin_pct),
            ));
        }
        if !(1..=100).contains(&self.cpu_busy_below_pct) {
            return Some((
                "cooldown.cpu_busy_below_pct",
                format!("{} is not in 1..=100 %", self.cpu_busy_below_pct),
            ));
        }
        if let Some(t) = self.temp_below_mc {
            if !(1_000..=150_000).contains(&t) {
                return Some((
                    "cooldown.temp_below_mc",
                    format!("{t} m°C is not in 1000..=150000 (m°C: 60 °C is 60000)"),
                ));
            }
        }
        if self.max_wait_s == 0 {
            return Some((
                "cooldown.max_wait_s",
                "must be at least 1 (for no cooldown, leave out [cooldown])".into(),
            ));
        }
        None
    }
}

/// One workload: every combination of its lists is a case.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub name: String,
    /// The workload of this plan that this one is a compressed variant of (a lower-bit or
    /// smaller model of the same family); recorded in its runs for the analysis to pair.
    pub base_workload: Option<String>,
    pub model: PathBuf,
    pub mmproj: Option<PathBuf>,
    /// Corpus file; the built-in corpus if absent.
    pub corpus: Option<PathBuf>,
    #[serde(default = "default_prompt_tokens")]
    pub prompt_tokens: Vec<u32>,
    #[serde(default = "default_gen_tokens")]
    pub gen_tokens: u32,
    /// `WxH` for a synthetic image, anything else is an image file.
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default = "minus_one")]
    pub image_min_tokens: Vec<i32>,
    #[serde(default = "minus_one")]
    pub image_max_tokens: Vec<i32>,
    #[serde(default = "default_threads")]
    pub threads: Vec<u32>,
    #[serde(default = "default_n_ctx")]
    pub n_ctx: u32,
    #[serde(default = "default_n_batch")]
    pub n_batch: u32,
    #[serde(default = "default_seed")]
    pub seed: u32,
    #[serde(default = "yes")]
    pub keep_loaded: bool,
}

const fn one() -> u32 {
    1
}
const fn yes() -> bool {
    true
}
const fn default_time_limit_s() -> u64 {
    600
}
const fn default_margin_pct() -> u32 {
    5
}
const fn default_busy_pct() -> u32 {
    15
}
const fn default_max_wait_s() -> u64 {
    120
}
fn default_prompt_tokens() -> Vec<u32> {
    vec![64]
}
const fn default_gen_tokens() -> u32 {
    32
}
fn minus_one() -> Vec<i32> {
    vec![-1]
}
fn default_threads() -> Vec<u32> {
    vec![4]
}
const fn default_n_ctx() -> u32 {
    4096
}
const fn default_n_batch() -> u32 {
    512
}
const fn default_seed() -> u32 {
    42
}

/// Why a plan cannot be used. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Toml {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A plan-level key has an empty `workload`.
    #[error("{}: {}key {key}: {message}", path.display(), in_workload(workload))]
    Value {
        path: PathBuf,
        workload: String,
        key: String,
        message: String,
    },
}

/// `workload "NAME": ` for a workload's key, nothing for a plan-level one.
fn in_workload(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!("workload {name:?}: ")
    }
}

impl Plan {
    /// Reads, parses and checks a plan; relative paths become relative to its directory.
    pub fn load(path: &Path) -> Result<Self, PlanError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Io {
            path: path.into(),
            source,
        })?;
        let mut plan = Self::parse(&text, path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        for w in &mut plan.workloads {
            let fix = |p: &mut PathBuf| {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            };
            fix(&mut w.model);
            let generated = w.mmproj.as_ref().and_then(|m| m.to_str());
            if !generated.is_some_and(|m| m.starts_with("generate:")) {
                w.mmproj.as_mut().map(fix);
            }
            w.corpus.as_mut().map(fix);
            for img in &mut w.images {
                if expand::parse_size(img).is_none() && Path::new(img).is_relative() {
                    *img = base.join(&*img).display().to_string();
                }
            }
        }
        Ok(plan)
    }

    /// Files the plan's workloads name that do not exist now (model, mmproj unless
    /// generated, corpus, image files): `(workload, key, path)`. Not an error of the plan
    /// itself — a model may be copied in later, and a run without it fails naming it — but
    /// what `config check` reports.
    #[must_use]
    pub fn missing_files(&self) -> Vec<(&str, &'static str, PathBuf)> {
        let mut missing = Vec::new();
        for w in &self.workloads {
            let mut need = |key: &'static str, path: &Path| {
                if !path.exists() {
                    missing.push((w.name.as_str(), key, path.to_path_buf()));
                }
            };
            need("model", &w.model);
            if let Some(m) = w.mmproj.as_ref() {
                if !m.to_str().is_some_and(|m| m.starts_with("generate:")) {
                    need("mmproj", m);
                }
            }
            if let Some(c) = w.corpus.as_ref() {
                need("corpus", c);
            }
            for img in &w.images {
                if expand::parse_size(img).is_none() {
                    need("images", Path::new(img));
                }
            }
        }
        missing
    }

    /// Parses and checks plan text; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, PlanError> {
        let plan: Self = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map_or((1, 1), |s| crate::config::line_column(text, s.start));
            PlanError::Toml {
                path: path.into(),
                line,
                column,
                message: crate::config::toml_message(text, &e),
            }
        })?;
        plan.check(path)?;
        Ok(plan)
    }

    fn check(&self, path: &Path) -> Result<(), PlanError> {
        let bad = |workload: &str, key: &str, message: &str| PlanError::Value {
            path: path.into(),
            workload: workload.into(),
            key: key.into(),
            message: message.into(),
        };
        if self.workloads.is_empty() {
            return Err(bad("", "workload", "the plan has no [[workload]]"));
        }
        if self.repetitions == 0 {
            return Err(bad("", "repetitions", "must be at least 1"));
        }
        if self.time_limit_s == 0 {
            return Err(bad("", "time_limit_s", "must be at least 1"));
        }
        if let Some((key, message)) = self.when.problem() {
            return Err(bad("", key, &message));
        }
        if let Some((key, message)) = self.cooldown.as_ref().and_then(Cooldown::problem) {
            return Err(bad("", key, &message));
        }
        for w in &self.workloads {
            let n = w.name.as_str();
            for (key, list_empty) in [
                ("prompt_tokens", w.prompt_tokens.is_empty()),
                ("threads", w.threads.is_empty()),
                ("image_min_tokens", w.image_min_tokens.is_empty()),
                ("image_max_tokens", w.image_max_tokens.is_empty()),
            ] {
                if list_empty {
                    return Err(bad(n, key, "must list at least one value"));
                }
            }
            if w.prompt_tokens.contains(&0) {
                return Err(bad(n, "prompt_tokens", "0 tokens is no prompt"));
            }
            if w.threads.contains(&0) {
                return Err(bad(n, "threads", "must be at least 1"));
            }
            if w.n_ctx == 0 || w.n_batch == 0 {
                return Err(bad(n, "n_ctx/n_batch", "must be at least 1"));
            }
            if let Some(&max) = w.prompt_tokens.iter().max() {
                if u64::from(max) + u64::from(w.gen_tokens) > u64::from(w.n_ctx) {
                    return Err(bad(
                        n,
                        "prompt_tokens",
                        &format!(
                            "{max} prompt + {} generated tokens exceed n_ctx = {}",
                            w.gen_tokens, w.n_ctx
                        ),
                    ));
                }
            }
            if let Some(base) = &w.base_workload {
                if base == n || !self.workloads.iter().any(|o| &o.name == base) {
                    return Err(bad(
                        n,
                        "base_workload",
                        &format!("{base:?} is not another workload of this plan"),
                    ));
                }
            }
            if w.mmproj.is_some() == w.images.is_empty() {
                return Err(bad(n, "mmproj/images", "a VLM workload needs both"));
            }
            for img in &w.images {
                if img.contains('x') && expand::parse_size(img).is_none() && !img.contains('.') {
                    return Err(bad(
                        n,
                        "images",
                        &format!("{img:?} is not WxH with W, H ≥ 1"),
                    ));
                }
            }
        }
        Ok(())
    }
}
