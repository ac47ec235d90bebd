//! Writes a large synthetic log for `compare/report_bench.sh`: `cargo run --release
//! --example report_synth -- DIR [RUNS]` (default 10 000 runs). Through the real store
//! writer (`synth::calib`): an LLM token sweep (100–1400 prompt tokens, 1 s + 10 ms per
//! token) on three variants (f16 the base, q4_1 and q2_k paired with it) and a VLM
//! resolution sweep, at 10 Hz samples and 10 Hz INA219 readings: about 1 million samples
//! for 10 000 runs. Written as the daemon writes with its default store settings: a flush
//! every 5 s, a segment an hour (28 segments).

use std::path::PathBuf;

use edgewatt::synth::calib::write;
use edgewatt::synth::calib::Flushing;
use edgewatt::synth::calib::PowerTruth;
use edgewatt::synth::calib::SynthCase;
use edgewatt::synth::calib::SynthLog;
use edgewatt::synth::calib::SynthRun;

const VARIANTS: [(&str, &str, Option<&str>, f64); 3] = [
    ("f16", "F16", None, 80.0),
    ("q4_1", "Q4_1", Some("f16"), 45.0),
    ("q2_k", "Q2_K", Some("f16"), 37.0),
];
const SIDES: [u32; 6] = [224, 336, 448, 672, 896, 1344];

fn run(i: usize) -> SynthRun {
    let rep = (i / 64) as u32;
    if i % 4 == 3 {
        let side = SIDES[(i / 4) % SIDES.len()];
        let px = f64::from(side * side).min(448.0 * 448.0);
        return SynthRun {
            load_pct: 63.0,
            duration_s: (10.0 * (1.0 + 7.0 * px / (448.0 * 448.0))).round() / 10.0,
            ram_mb: 300.0,
            freq_mhz: 2400,
            prompt_tokens: 16,
            ok: true,
            case: SynthCase {
                workload: Some("vlm"),
                image: Some((side, side, (px / 784.0) as u32)),
                repetition: rep,
                ..SynthCase::default()
            },
        };
    }
    let (workload, quant, base, load) = VARIANTS[i % 4 % 3];
    let tokens = 100 * (1 + ((i / 4) % 14) as u32);
    SynthRun {
        load_pct: load,
        duration_s: 1.0 + 0.01 * f64::from(tokens),
        ram_mb: 200.0,
        freq_mhz: 2400,
        prompt_tokens: tokens,
        ok: true,
        case: SynthCase {
            workload: Some(workload),
            base_workload: base,
            quantization: Some(quant),
            repetition: rep,
            output: "The capital of France is Paris.",
            ..SynthCase::default()
        },
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "target/report-bench".into()));
    let runs: usize = args.next().map_or(Ok(10_000), |n| n.parse())?;
    let truth = PowerTruth {
        idle_w: 3.2,
        cpu_w_per_pct: 0.045,
        ram_w_per_mb: 0.0015,
        cpu_ghz_w_per_pct_ghz: 0.0,
    };
    let mut log = SynthLog::new(truth, (0..runs).map(run).collect());
    log.runs_per_plan = 100;
    log.power_period_us = 100_000;
    log.flushing = Some(Flushing {
        flush_us: 5_000_000,
        flushes_per_segment: 720,
    });
    std::fs::create_dir_all(&dir)?;
    write(&dir, &log)?;
    println!("{runs} runs written to {}", dir.display());
    Ok(())
}
