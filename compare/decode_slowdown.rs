//! Decode speed with edgewatt's sampler running vs not, in one run; the `--decode-pairs`
//! part of compare/sampler_cost.py.
//!
//! The process is laid out as the daemon's: this process supervises an `edgewatt`-style
//! worker child (Supervisor → `worker` → llama.cpp, model kept loaded), and for "on" runs
//! a sampler thread reads /proc and /sys on a Ticker at `--rate-hz`, tracking this
//! process (role Daemon) and the worker pid (role Worker), as `edgewatt run` does. It
//! does not encode or store the samples. "On" and "off" runs alternate (ABBA order), the
//! sampler thread is started before and stopped after each "on" run.
//!
//! `cargo run --release --example decode_slowdown -- MODEL --threads 1 --pairs 12`

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use edgewatt::clock;
use edgewatt::llama::Job;
use edgewatt::llama::Prompt;
use edgewatt::llama::Supervisor;
use edgewatt::record::Run;
use edgewatt::sampler::ProcRole;
use edgewatt::sampler::Roots;
use edgewatt::sampler::Sample;
use edgewatt::sampler::Sampler;
use edgewatt::sampler::Ticker;
use edgewatt::sampler::TrackedProc;

#[derive(Parser)]
struct Args {
    /// GGUF model.
    model: PathBuf,
    /// llama.cpp threads (leave a core for the sampler thread).
    #[arg(long, default_value_t = 1)]
    threads: u32,
    /// Prompt length, tokens of the built-in corpus.
    #[arg(long, default_value_t = 32)]
    prompt_tokens: u32,
    /// Tokens decoded per run.
    #[arg(long, default_value_t = 256)]
    gen_tokens: u32,
    /// On/off pairs.
    #[arg(long, default_value_t = 12)]
    pairs: u32,
    /// Sampler rate, Hz (the daemon's default is 10).
    #[arg(long, default_value_t = 10)]
    rate_hz: u32,
}

struct SamplerThread {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<anyhow::Result<(u64, u64)>>,
}

/// Starts the sampler thread tracking this process and `worker`.
fn start_sampler(worker: u32, rate_hz: u32) -> SamplerThread {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let handle = std::thread::spawn(move || -> anyhow::Result<(u64, u64)> {
        let procs = vec![
            TrackedProc {
                pid: std::process::id(),
                role: ProcRole::Daemon,
            },
            TrackedProc {
                pid: worker,
                role: ProcRole::Worker,
            },
        ];
        let cpu0 = clock::thread_cpu_us();
        let mut sampler =
            Sampler::new(Roots::new("/proc", "/sys"), procs).context("starting the sampler")?;
        let mut sample = Sample::empty(sampler.layout());
        let mut ticker = Ticker::from_rate_hz(rate_hz, clock::mono_us()).context("rate")?;
        let mut ticks = 0u64;
        while !flag.load(Ordering::Relaxed) {
            let t = ticker.wait();
            sampler.read(t.tick, t.now_us, &mut sample);
            sampler.drain_notices().for_each(drop);
            ticks += 1;
        }
        Ok((ticks, clock::thread_cpu_us() - cpu0))
    });
    SamplerThread { stop, handle }
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

fn checked(run: Run) -> anyhow::Result<Run> {
    if let edgewatt::record::Outcome::Failed(e) = &run.outcome {
        anyhow::bail!("run failed: {e}");
    }
    Ok(run)
}

fn main() -> anyhow::Result<ExitCode> {
    if std::env::args().nth(1).as_deref() == Some("worker") {
        return Ok(edgewatt::llama::worker_main());
    }
    let args = Args::parse();
    anyhow::ensure!(args.pairs >= 2, "--pairs must be at least 2");
    let mut job = Job::text(&args.model);
    job.label = "decode_slowdown".into();
    job.prompt = Prompt::Corpus {
        path: None,
        tokens: args.prompt_tokens,
    };
    job.threads = args.threads;
    job.n_ctx = args.prompt_tokens + args.gen_tokens + 16;
    job.gen_tokens = args.gen_tokens;
    let mut sup = Supervisor::new(std::env::current_exe().context("locating this binary")?);
    let limit = Duration::from_secs(600);
    // Warm-up: spawns the worker, loads the model, faults the weights in.
    let warm = checked(sup.run(&job, limit))?;
    let worker = warm.worker_pid;
    println!(
        "warm-up: worker pid {worker}, {} prompt + {} generated tokens, decode {:.2} t/s",
        warm.prompt_tokens,
        warm.generated_tokens,
        warm.decode_tokens_per_s()
    );
    let (mut on, mut off) = (Vec::new(), Vec::new());
    let (mut ticks, mut sampler_cpu_us) = (0u64, 0u64);
    for i in 0..args.pairs * 2 {
        // ABBA: on off off on on off off on …, so a drift hits both sides alike.
        let sampling = matches!(i % 4, 0 | 3);
        let thread = sampling.then(|| start_sampler(worker, args.rate_hz));
        let run = checked(sup.run(&job, limit))?;
        anyhow::ensure!(run.worker_pid == worker, "the worker was restarted");
        if let Some(t) = thread {
            t.stop.store(true, Ordering::Relaxed);
            let (n, cpu) = t
                .handle
                .join()
                .map_err(|_| anyhow::anyhow!("sampler thread panicked"))??;
            ticks += n;
            sampler_cpu_us += cpu;
        }
        let tps = run.decode_tokens_per_s();
        println!(
            "run {:2} sampler {:3}: decode {tps:.2} t/s ({} tokens in {:.1} ms)",
            i + 1,
            if sampling { "on" } else { "off" },
            run.generated_tokens,
            run.decode_us as f64 / 1000.0
        );
        if sampling { &mut on } else { &mut off }.push(tps);
    }
    let (m_on, sd_on) = mean_sd(&on);
    let (m_off, sd_off) = mean_sd(&off);
    let slowdown = (m_off - m_on) / m_off * 100.0;
    // Pairwise: each "on" run against the "off" run next to it in the ABBA order.
    let mut pair_pct: Vec<f64> = Vec::new();
    for k in 0..on.len().min(off.len()) {
        pair_pct.push((off[k] - on[k]) / off[k] * 100.0);
    }
    let (m_pair, sd_pair) = mean_sd(&pair_pct);
    let se_pair = sd_pair / (pair_pct.len() as f64).sqrt();
    println!(
        "threads {} · prompt {} tokens · {} generated/run · {} runs on + {} off (ABBA) · sampler {} Hz",
        args.threads,
        args.prompt_tokens,
        args.gen_tokens,
        on.len(),
        off.len(),
        args.rate_hz
    );
    println!("decode sampler off: {m_off:.2} ± {sd_off:.2} t/s (mean ± sd)");
    println!("decode sampler on:  {m_on:.2} ± {sd_on:.2} t/s (mean ± sd)");
    println!(
        "sampler: {ticks} ticks, {sampler_cpu_us} µs thread CPU ({:.1} µs/tick)",
        sampler_cpu_us as f64 / ticks.max(1) as f64
    );
    println!(
        "slowdown (means): {slowdown:.2} % · paired: {m_pair:.2} % ± {se_pair:.2} (se), sd {sd_pair:.2} over {} pairs · target ≤ 0.5 %",
        pair_pct.len()
    );
    Ok(ExitCode::SUCCESS)
}
