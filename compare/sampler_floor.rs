//! The floor of the sampler's cost, for compare/sampler_cost.py: a process that reads the
//! files `edgewatt run` reads, each with one `pread` per tick into one buffer, and does
//! nothing else (no parsing, no log).
//!
//! Same shape as the daemon: the files are kept open, and the pid files are its own
//! (`/proc/<own pid>/stat`, `statm`) and the tracked worker's; thermal zones, cpufreq
//! policies and `get_throttled` are the ones the daemon's discovery finds, the last read
//! once per `--throttled-interval-ms`. Ticks come from the daemon's `Ticker` (absolute
//! CLOCK_MONOTONIC deadlines, `clock_nanosleep`).
//!
//! Prints `ready` once its files are open, samples until SIGTERM, then prints one JSON
//! line: the CLOCK_MONOTONIC µs of every tick, and the number of files read per tick.
//!
//! `sampler_floor --rate-hz 10 --worker PID`

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use edgewatt::clock;
use edgewatt::sampler::Roots;
use edgewatt::sampler::Sampler;
use edgewatt::sampler::Ticker;

#[derive(Parser)]
struct Args {
    /// Ticks per second (1–100).
    #[arg(long)]
    rate_hz: u32,
    /// The tracked worker's pid.
    #[arg(long)]
    worker: u32,
    /// `get_throttled` is read once per this, ms (the daemon's `sampler.throttled_interval_ms`).
    #[arg(long, default_value_t = 1000)]
    throttled_interval_ms: u64,
    #[arg(long, default_value = "/proc")]
    proc_root: PathBuf,
    #[arg(long, default_value = "/sys")]
    sys_root: PathBuf,
}

fn open(path: PathBuf) -> anyhow::Result<File> {
    File::open(&path).with_context(|| format!("opening {}", path.display()))
}

/// The files the daemon reads every tick, and its `get_throttled`.
fn files(roots: &Roots, worker: u32) -> anyhow::Result<(Vec<File>, Option<File>)> {
    // The daemon's own discovery says which zones, policies and firmware file there are.
    let layout = Sampler::new(roots.clone(), vec![])
        .context("discovering this machine's sources")?
        .layout()
        .clone();
    let mut every_tick = vec![open(roots.proc("stat"))?, open(roots.proc("meminfo"))?];
    for pid in [std::process::id(), worker] {
        let dir = roots.pid_dir(pid);
        every_tick.push(open(dir.join("stat"))?);
        every_tick.push(open(dir.join("statm"))?);
    }
    for zone in &layout.thermal_zones {
        let dir = zone.split(':').next().unwrap_or(zone);
        every_tick.push(open(roots.thermal_dir().join(dir).join("temp"))?);
    }
    for policy in &layout.cpufreq {
        every_tick.push(open(
            roots.cpufreq_dir().join(policy).join("scaling_cur_freq"),
        )?);
    }
    let throttled = if layout.throttled {
        let path = roots
            .throttled_candidates()
            .into_iter()
            .find(|p| p.exists());
        Some(open(path.context("get_throttled disappeared")?)?)
    } else {
        None
    };
    Ok((every_tick, throttled))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let roots = Roots::new(&args.proc_root, &args.sys_root);
    let (every_tick, throttled) = files(&roots, args.worker)?;
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&stop))?;
    let mut buf = vec![0u8; 64 << 10];
    let mut ticks_mono_us = Vec::with_capacity(1 << 16);
    let throttled_every_us = args.throttled_interval_ms * 1000;
    let mut throttled_due_us = 0;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready")?;
        out.flush()?;
    }
    let mut ticker = Ticker::from_rate_hz(args.rate_hz, clock::mono_us()).context("--rate-hz")?;
    while !stop.load(Ordering::Relaxed) {
        let t = ticker.wait();
        for f in &every_tick {
            f.read_at(&mut buf, 0)?;
        }
        if let Some(f) = &throttled {
            if t.now_us >= throttled_due_us {
                throttled_due_us = t.now_us + throttled_every_us;
                f.read_at(&mut buf, 0)?;
            }
        }
        ticks_mono_us.push(t.now_us);
    }
    println!(
        "{}",
        serde_json::json!({
            "ticks_mono_us": ticks_mono_us,
            "files_per_tick": every_tick.len(),
            "throttled": throttled.is_some(),
        })
    );
    Ok(())
}
