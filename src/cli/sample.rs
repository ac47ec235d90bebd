//! `edgewatt sample`: a live terminal view of what the sampler reads; nothing is logged.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

use super::Cli;
use crate::clock;
use crate::derive::machine_cpu_pct;
use crate::derive::per_core_sum_cpu_pct;
use crate::derive::ram_used_mb;
use crate::derive::Rate;
use crate::sampler::ProcRole;
use crate::sampler::Roots;
use crate::sampler::Sample;
use crate::sampler::Sampler;
use crate::sampler::Ticker;
use crate::sampler::TrackedProc;

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// Stop after N seconds.
    #[arg(long, value_name = "N", default_value_t = 10.0)]
    pub seconds: f64,
    /// Read N times per second (1–100); one line is printed per second.
    #[arg(long, value_name = "N")]
    pub rate_hz: Option<u32>,
}

fn pct(r: Rate) -> String {
    match r {
        Rate::Value(v) => format!("{v:5.1}"),
        _ => "    -".to_owned(),
    }
}

/// One line summarising the change from `prev` to `cur`.
fn line(sampler: &Sampler, prev: &Sample, cur: &Sample) -> String {
    let layout = sampler.layout();
    let mut s = format!(
        "{:>8.1}s cpu {}% (cores {}%)",
        (cur.mono_us - prev.mono_us) as f64 / 1e6,
        pct(machine_cpu_pct(prev, cur)),
        pct(per_core_sum_cpu_pct(prev, cur)),
    );
    if let Some(mb) = ram_used_mb(cur) {
        s.push_str(&format!("  ram {mb:7.1} MB"));
    }
    for (i, z) in layout.thermal_zones.iter().enumerate() {
        if cur.is_valid(layout.temp_bit(i)) {
            let name = z.split(':').nth(1).unwrap_or(z);
            s.push_str(&format!(
                "  {name} {:.1}°C",
                cur.temps_mc[i] as f64 / 1000.0
            ));
        }
    }
    for (i, p) in layout.cpufreq.iter().enumerate() {
        if cur.is_valid(layout.freq_bit(i)) {
            s.push_str(&format!("  {p} {} MHz", cur.freqs_khz[i] / 1000));
        }
    }
    if layout.throttled && cur.is_valid(layout.throttled_bit()) {
        s.push_str(&format!("  throttled {:#x}", cur.throttled));
    }
    s
}

pub fn run(cli: &Cli, args: &SampleArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = super::load_config(cli)?;
    if let Some(r) = args.rate_hz {
        cfg.set_rate_hz(r)?;
    }
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        anyhow::bail!("--seconds {}: expected a positive number", args.seconds);
    }
    let roots = Roots::new(&cfg.sampler.proc_root, &cfg.sampler.sys_root);
    let me = TrackedProc {
        pid: std::process::id(),
        role: ProcRole::Daemon,
    };
    let mut sampler = Sampler::with_options(roots, vec![me], cfg.sampler.options())?;
    let layout = sampler.layout();
    writeln!(
        std::io::stdout(),
        "{} cpu lines, zones {:?}, cpufreq {:?}, throttled flags {}",
        layout.cpus,
        layout.thermal_zones,
        layout.cpufreq,
        if layout.throttled { "yes" } else { "absent" }
    )?;
    let start_us = clock::mono_us();
    let mut ticker = Ticker::new(cfg.sampler.interval_us(), start_us)?;
    let per_line = u64::from(cfg.sampler.rate_hz);
    let (mut prev, mut cur) = (Sample::default(), Sample::default());
    let end_us = start_us + (args.seconds * 1e6) as u64;
    loop {
        let tick = ticker.wait();
        sampler.read(tick.tick, tick.now_us, &mut cur);
        for n in sampler.drain_notices() {
            eprintln!("noticed: {:?}", n.kind);
        }
        if tick.tick == 0 {
            prev.clone_from(&cur);
        } else if tick.tick % per_line == 0 {
            writeln!(std::io::stdout(), "{}", line(&sampler, &prev, &cur))?;
            std::io::stdout().flush()?;
            prev.clone_from(&cur);
        }
        if tick.now_us >= end_us {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}
