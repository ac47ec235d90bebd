//! Real inference through the supervised worker, on tiny generated models (issue 3).
//! Assertions are on structure (token counts, image tokens, phase order), never on text.

mod backend;
mod bad_input;
mod daemon;
mod oom;
mod power_step;
mod quantize;
mod schedule;
mod smollm2;
mod stop;
mod supervise;
mod syscalls;
mod threads;
mod vision;

use std::path::Path;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use edgewatt::gguf::gemma3_mmproj;
use edgewatt::gguf::qwen2vl_mmproj;
use edgewatt::gguf::tiny_llama;
use edgewatt::gguf::MmprojSpec;
use edgewatt::gguf::TextModelSpec;
use edgewatt::llama::ImageSource;
use edgewatt::llama::Job;
use edgewatt::llama::Prompt;
use edgewatt::llama::Supervisor;
use edgewatt::record::Outcome;
use edgewatt::record::Run;
use edgewatt::record::RunError;
use edgewatt::record::RunPhase;

/// Generous: a run on the tiny models takes well under a second.
pub const LIMIT: Duration = Duration::from_secs(120);
/// For runs on the real SmolLM2 model: about a second on a quiet machine, but llama.cpp's
/// threads spinning on cores that other processes hold can take minutes, and what these
/// tests check is the output, not the speed.
pub const REAL_MODEL_LIMIT: Duration = Duration::from_secs(600);
/// The phase marks of a text run, in order.
pub const TEXT_PHASES: [RunPhase; 4] = [
    RunPhase::Load,
    RunPhase::Prefill,
    RunPhase::Decode,
    RunPhase::Done,
];

pub struct Models {
    pub dir: PathBuf,
    pub llama: PathBuf,
    pub qwen2vl: PathBuf,
    pub gemma3: PathBuf,
}

/// The tiny models, generated once per test binary into Cargo's scratch directory.
pub fn models() -> &'static Models {
    static M: OnceLock<Models> = OnceLock::new();
    M.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("llama-models");
        std::fs::create_dir_all(&dir).unwrap();
        let m = Models {
            llama: dir.join("tiny-llama.gguf"),
            qwen2vl: dir.join("tiny-qwen2vl-mmproj.gguf"),
            gemma3: dir.join("tiny-gemma3-mmproj.gguf"),
            dir,
        };
        tiny_llama(&TextModelSpec::default())
            .write_to(&m.llama)
            .unwrap();
        qwen2vl_mmproj(&MmprojSpec::default())
            .write_to(&m.qwen2vl)
            .unwrap();
        gemma3_mmproj(&MmprojSpec::default())
            .write_to(&m.gemma3)
            .unwrap();
        m
    })
}

/// `edgewatt.toml` in `dir` for a daemon that runs `plan`, logs into `state` at 20 Hz with
/// a 200 ms fsync and reads no power source; returns its path.
pub fn write_daemon_config(dir: &Path, state: &Path, plan: &Path) -> PathBuf {
    let config = dir.join("edgewatt.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"{}\"\nplans = [\"{}\"]\n[sampler]\nrate_hz = 20\n[store]\n\
             fsync_interval_ms = 200\n[power]\nsource = \"none\"\n",
            state.display(),
            plan.display()
        ),
    )
    .unwrap();
    config
}

pub fn supervisor() -> Supervisor {
    Supervisor::new(env!("CARGO_BIN_EXE_edgewatt"))
}

pub fn text_job(prompt_tokens: u32, gen_tokens: u32) -> Job {
    let mut job = Job::text(&models().llama);
    job.prompt = Prompt::Corpus {
        path: None,
        tokens: prompt_tokens,
    };
    job.gen_tokens = gen_tokens;
    job
}

pub fn vlm_job(mmproj: &Path, width: u32, height: u32, max_tokens: i32) -> Job {
    let mut job = text_job(8, 2);
    job.mmproj = Some(mmproj.to_owned());
    job.image = Some(ImageSource::Synthetic {
        width,
        height,
        seed: 7,
    });
    job.image_max_tokens = max_tokens;
    job
}

/// The run's error, or a panic showing the run.
pub fn error_of(run: &Run) -> &RunError {
    match &run.outcome {
        Outcome::Failed(e) => e,
        Outcome::Ok => panic!("expected a failed run, got {run:#?}"),
    }
}

pub fn assert_ok(run: &Run) {
    assert!(run.is_ok(), "run failed: {:?}", run.outcome);
}

pub fn phase_kinds(run: &Run) -> Vec<RunPhase> {
    run.phases.iter().map(|m| m.phase).collect()
}

#[test]
fn a_text_run_has_the_exact_prompt_and_generated_counts_and_ordered_phases() {
    let mut sup = supervisor();
    let before = edgewatt::clock::mono_us();
    let run = sup.run(&text_job(100, 12), LIMIT);
    let after = edgewatt::clock::mono_us();
    assert_ok(&run);
    assert_eq!((run.prompt_tokens, run.generated_tokens), (100, 12));
    assert_eq!(run.run_id, 1);
    assert_eq!(phase_kinds(&run), TEXT_PHASES);
    // Same CLOCK_MONOTONIC in both processes: the marks lie inside our window, in order.
    let t: Vec<u64> = run.phases.iter().map(|m| m.mono_us).collect();
    assert!(
        before <= t[0] && t.windows(2).all(|w| w[0] < w[1]) && t[3] <= after,
        "{t:?}"
    );
    assert_eq!(run.load_us, t[1] - t[0]);
    assert_eq!(run.ttft_us, t[2] - t[1]);
    assert_eq!(run.prefill_us, run.ttft_us);
    assert!(run.decode_us > 0 && run.decode_us <= t[3] - t[2]);
    assert!(run.decode_tokens_per_s() > 0.0 && run.prefill_tokens_per_s() > 0.0);
    assert!(run.peak_rss_kb > 1000, "peak RSS {} kB", run.peak_rss_kb);
    assert_ne!(run.worker_pid, std::process::id());
    assert_eq!(Some(run.worker_pid), sup.worker_pid());
    let model = run.model.as_ref().unwrap();
    assert_eq!(
        (model.architecture.as_str(), model.param_count),
        ("llama", 93_120)
    );
    assert_eq!(model.quantization, "F16");
    assert_eq!(run.settings.threads, 2);
}

#[test]
fn prompt_lengths_are_exact_and_the_kept_model_stays_in_one_worker() {
    let mut sup = supervisor();
    let mut pids = Vec::new();
    for (n, gen) in [(1, 1), (17, 3), (513, 2), (1500, 1)] {
        let mut job = text_job(n, gen);
        job.n_batch = 256; // 513 and 1500 tokens take several batches
        let run = sup.run(&job, LIMIT);
        assert_ok(&run);
        assert_eq!((run.prompt_tokens, run.generated_tokens), (n, gen));
        pids.push(run.worker_pid);
    }
    assert!(pids.windows(2).all(|w| w[0] == w[1]), "{pids:?}");
}

#[test]
fn a_cold_run_loads_the_model_again_and_reports_the_same_identity() {
    let mut sup = supervisor();
    let mut job = text_job(20, 2);
    job.keep_loaded = false;
    let a = sup.run(&job, LIMIT);
    let b = sup.run(&job, LIMIT);
    assert_ok(&a);
    assert_ok(&b);
    assert!(!a.settings.keep_loaded);
    assert_eq!(a.model, b.model);
    assert_eq!(a.output, b.output, "greedy decoding is deterministic");
    assert_eq!((a.run_id, b.run_id), (1, 2));
}
