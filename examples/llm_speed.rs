//! Drives edgewatt's real llama path (Supervisor → `worker` child → llama.cpp) one run
//! per `run` line read on stdin, printing one JSON line per run. The model stays loaded
//! in the worker between runs, as in the daemon. Used by compare/llcp_compare.py, which
//! interleaves these runs with llama-cpp-python's.
//!
//! `cargo run --release --example llm_speed -- MODEL --prompt-file F --threads 1`
//! then type `run` (one line per run); EOF ends. `--worker-exe` runs the worker from
//! another binary (a cross-built one under qemu, for instance).

use std::io::BufRead;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use edgewatt::llama::Job;
use edgewatt::llama::Prompt;
use edgewatt::llama::Supervisor;

#[derive(Parser)]
struct Args {
    /// GGUF model.
    model: PathBuf,
    /// Prompt text, tokenized as is (BOS added when the model wants one).
    #[arg(long)]
    prompt_file: PathBuf,
    #[arg(long, default_value_t = 1)]
    threads: u32,
    #[arg(long, default_value_t = 2048)]
    n_ctx: u32,
    #[arg(long, default_value_t = 512)]
    n_batch: u32,
    /// Tokens generated greedily per run (end of text ignored).
    #[arg(long, default_value_t = 128)]
    gen_tokens: u32,
    /// Time limit of one run, seconds.
    #[arg(long, default_value_t = 600)]
    limit_s: u64,
    /// Run the worker as `EXE worker` instead of this binary: e.g. a script running a
    /// cross-built aarch64 edgewatt under qemu-aarch64 (docs/llama.md).
    #[arg(long)]
    worker_exe: Option<PathBuf>,
}

fn main() -> anyhow::Result<ExitCode> {
    if std::env::args().nth(1).as_deref() == Some("worker") {
        return Ok(edgewatt::llama::worker_main());
    }
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.prompt_file)
        .with_context(|| format!("reading {}", args.prompt_file.display()))?;
    let mut job = Job::text(&args.model);
    job.label = "llm_speed".into();
    job.prompt = Prompt::Text(text);
    job.threads = args.threads;
    job.n_ctx = args.n_ctx;
    job.n_batch = args.n_batch;
    job.gen_tokens = args.gen_tokens;
    job.ignore_eog = true;
    job.keep_loaded = true;
    let exe = match args.worker_exe {
        Some(exe) => exe,
        None => std::env::current_exe().context("locating this binary")?,
    };
    let mut sup = Supervisor::new(exe);
    let limit = Duration::from_secs(args.limit_s);
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line.context("reading stdin")?;
        if line.trim() != "run" {
            continue;
        }
        let run = sup.run(&job, limit);
        let error = match &run.outcome {
            edgewatt::record::Outcome::Ok => None,
            edgewatt::record::Outcome::Failed(e) => Some(e.to_string()),
        };
        let v = serde_json::json!({
            "ok": run.is_ok(),
            "error": error,
            "worker_pid": run.worker_pid,
            "prompt_tokens": run.prompt_tokens,
            "generated_tokens": run.generated_tokens,
            "load_us": run.load_us,
            "prefill_us": run.prefill_us,
            "decode_us": run.decode_us,
            "prefill_tps": run.prefill_tokens_per_s(),
            "decode_tps": run.decode_tokens_per_s(),
            "output": run.output,
            "cpu_backend": sup.cpu_backend().map(|b| b.variant.clone()),
        });
        writeln!(out, "{v}").context("writing stdout")?;
        out.flush().context("writing stdout")?;
    }
    Ok(ExitCode::SUCCESS)
}
