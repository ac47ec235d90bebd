//! Runs only the sampler at a fixed rate (no log, no store) and prints one JSON line of
//! what it cost. Used by scripts/psutil_compare.py.
//!
//! `cargo run --release --no-default-features --example sample_only -- --rate-hz 10 --seconds 20`

use anyhow::Context;
use clap::Parser;
use edgewatt::clock;
use edgewatt::sampler::NoticeKind;
use edgewatt::sampler::ProcRole;
use edgewatt::sampler::Roots;
use edgewatt::sampler::Sample;
use edgewatt::sampler::Sampler;
use edgewatt::sampler::Ticker;
use edgewatt::sampler::TrackedProc;

#[derive(Parser)]
struct Args {
    /// Ticks per second (1–100).
    #[arg(long, default_value_t = 10)]
    rate_hz: u32,
    /// How long to sample, seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Root of the proc filesystem.
    #[arg(long, default_value = "/proc")]
    proc_root: std::path::PathBuf,
    /// Root of the sys filesystem.
    #[arg(long, default_value = "/sys")]
    sys_root: std::path::PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let me = TrackedProc {
        pid: std::process::id(),
        role: ProcRole::Daemon,
    };
    let mut sampler = Sampler::new(Roots::new(&args.proc_root, &args.sys_root), vec![me])
        .context("cannot start the sampler")?;
    let mut out = Sample::empty(sampler.layout());
    let ticks = u64::from(args.rate_hz) * args.seconds;
    let (cpu0, proc0, wall0) = (
        clock::thread_cpu_us(),
        clock::process_cpu_us(),
        clock::mono_us(),
    );
    let mut ticker = Ticker::from_rate_hz(args.rate_hz, wall0).context("bad --rate-hz")?;
    let (mut late, mut missed, mut faults, mut read_cpu_us) = (0u64, 0u64, 0u64, 0u64);
    let mut done = 0u64;
    while done < ticks {
        let t = ticker.wait();
        done += 1 + t.missed;
        late += u64::from(t.late);
        missed += t.missed;
        faults += sampler.read(t.tick, t.now_us, &mut out).len() as u64;
        for e in sampler.drain_notices() {
            if let NoticeKind::SamplerCost { cpu_us, .. } = e.kind {
                read_cpu_us += cpu_us;
            }
        }
    }
    let wall_us = clock::mono_us() - wall0;
    sampler.flush_cost(clock::mono_us());
    for e in sampler.drain_notices() {
        if let NoticeKind::SamplerCost { cpu_us, .. } = e.kind {
            read_cpu_us += cpu_us;
        }
    }
    println!(
        "{}",
        serde_json::json!({
            "ticks": done - missed,
            "late": late,
            "missed": missed,
            "faults": faults,
            "loop_thread_cpu_us": clock::thread_cpu_us() - cpu0,
            "loop_process_cpu_us": clock::process_cpu_us() - proc0,
            "read_cpu_us": read_cpu_us,
            "wall_us": wall_us,
        })
    );
    Ok(())
}
