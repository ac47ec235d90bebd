//! `edgewatt report` end to end: synthetic logs with known coefficients, slopes and knee,
//! written through the real store writer (`synth::calib`), reported by the binary.

mod cache;
mod dirs;
mod edge;
mod groups;
mod inputs;
mod known_truth;
mod meters;

use std::path::Path;

use edgewatt::synth::calib::write;
use edgewatt::synth::calib::PowerTruth;
use edgewatt::synth::calib::SynthCase;
use edgewatt::synth::calib::SynthLog;
use edgewatt::synth::calib::SynthRun;
use serde_json::Value;

/// The power model of every log here.
pub const TRUTH: PowerTruth = PowerTruth {
    idle_w: 3.0,
    cpu_w_per_pct: 0.04,
    ram_w_per_mb: 0.002,
    cpu_ghz_w_per_pct_ghz: 0.0,
};

/// Machine CPU % above idle of an LLM run: 18.92 of 40 ticks, so each sample is dithered
/// (noise for the CIs to cover).
pub const LOAD_PCT: f64 = 47.3;
/// Run seconds per prompt token (and at 0 tokens).
pub const S_PER_TOKEN: f64 = 0.01;
pub const S_AT_ZERO: f64 = 1.0;

/// An LLM run of `tokens` prompt tokens: `S_AT_ZERO + S_PER_TOKEN·tokens` s at `load` %.
pub fn llm_run(tokens: u32, load_pct: f64, case: SynthCase) -> SynthRun {
    SynthRun {
        load_pct,
        duration_s: S_AT_ZERO + S_PER_TOKEN * f64::from(tokens),
        ram_mb: 200.0,
        freq_mhz: 2400,
        prompt_tokens: tokens,
        ok: true,
        case,
    }
}

/// Four LLM runs of 50 to 300 prompt tokens at 50 % load.
pub fn four_runs() -> Vec<SynthRun> {
    [50, 100, 200, 300]
        .iter()
        .map(|&t| llm_run(t, 50.0, SynthCase::default()))
        .collect()
}

/// `edgewatt report --dir DIR --format markdown`'s output.
pub fn markdown(dir: &Path) -> String {
    let out = crate::common::edgewatt()
        .arg("report")
        .arg("--dir")
        .arg(dir)
        .args(["--format", "markdown"])
        .output()
        .expect("run edgewatt report");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes `runs` (seeded) into a fresh state directory.
pub fn log_dir(
    runs: Vec<SynthRun>,
    seed: u64,
    edit: impl FnOnce(&mut SynthLog),
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = SynthLog::new(TRUTH, runs);
    log.seed = seed;
    log.power_period_us = 50_000;
    edit(&mut log);
    write(dir.path(), &log).expect("synthetic log");
    dir
}

/// `edgewatt report DIRS --format json` (plus `extra`): its exit code, JSON and stderr.
pub fn report(dirs: &[&Path], extra: &[&str]) -> (i32, Value, String) {
    let out = crate::common::edgewatt()
        .arg("report")
        .args(dirs.iter().flat_map(|d| [Path::new("--dir"), d]))
        .args(["--format", "json"])
        .args(extra)
        .output()
        .expect("run edgewatt report");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "report JSON: {e}: {stdout} / {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The fit of `metric` in `fits` (an array of fit objects).
pub fn fit<'a>(fits: &'a Value, metric: &str) -> &'a Value {
    fits.as_array()
        .and_then(|a| a.iter().find(|f| f["metric"] == metric))
        .unwrap_or_else(|| panic!("no {metric} fit in {fits}"))
}

/// `[value, lo, hi]` of a CI object.
pub fn ci(v: &Value) -> [f64; 3] {
    let get = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} of {v}"));
    [get("value"), get("lo"), get("hi")]
}
