//! The runs of tests/fixtures/log-v1, as Run v1 records migrate: the same values, the
//! fields Run v2 added unknown, `warmup` from a `#warmup` label.

use edgewatt::record::EnergyBaseline;
use edgewatt::record::EnergyIntegration;
use edgewatt::record::EnergyWindow;
use edgewatt::record::ImageRun;
use edgewatt::record::MeasuredEnergy;
use edgewatt::record::ModelInfo;
use edgewatt::record::MonoWindow;
use edgewatt::record::Outcome;
use edgewatt::record::PhaseMark;
use edgewatt::record::Run;
use edgewatt::record::RunError;
use edgewatt::record::RunPhase;
use edgewatt::record::RunSettings;
use edgewatt::record::TokenCounts;

fn settings(prompt_tokens: u32, gen_tokens: u32, image_max_tokens: i32) -> RunSettings {
    RunSettings {
        threads: 4,
        n_ctx: 4096,
        n_batch: 512,
        seed: 42,
        prompt_tokens,
        gen_tokens,
        keep_loaded: image_max_tokens < 0,
        image_min_tokens: -1,
        image_max_tokens,
    }
}

/// An energy figure over `[a, b]` µs: 98 % covered, one reading per 1.1 ms.
fn energy(a: u64, b: u64, gross_uj: i64, net_uj: Option<i64>) -> EnergyWindow {
    EnergyWindow {
        window: MonoWindow {
            start_us: a,
            end_us: b,
        },
        gross_uj,
        net_uj,
        covered_us: (b - a) * 49 / 50,
        coverage_ppm: 980_000,
        largest_gap_us: (b - a) / 50,
        readings: ((b - a) / 1_100) as u32,
    }
}

/// With a 3.1 W baseline.
fn net_energy(a: u64, b: u64, gross_uj: i64) -> EnergyWindow {
    let covered = ((b - a) * 49 / 50) as i64;
    energy(a, b, gross_uj, Some(gross_uj - covered * 31 / 10))
}

fn marks(phases: &[(RunPhase, u64)]) -> Vec<PhaseMark> {
    phases
        .iter()
        .map(|&(phase, mono_us)| PhaseMark { phase, mono_us })
        .collect()
}

/// The VLM run with energy, the run whose worker was killed, the one that timed out.
pub fn runs() -> [Run; 3] {
    let t = 13_000_000;
    let sha = |n: u128| format!("{:064x}", n * 0x1234_5678_9abc_def1);
    let vlm = Run {
        run_id: 1,
        label: "vlm/pp64/tg16/t4/img448x448".into(),
        worker_pid: 1377,
        model: Some(ModelInfo {
            path: "/var/lib/edgewatt/models/SmolLM2-135M-Instruct.Q4_1.gguf".into(),
            name: Some("SmolLM2 135M Instruct".into()),
            architecture: "llama".into(),
            file_type: Some(3),
            quantization: "Q4_1".into(),
            param_count: 134_515_008,
            file_size_bytes: 97_947_616,
            sha256: sha(3),
        }),
        mmproj: Some(ModelInfo {
            path: "/var/lib/edgewatt/generated/qwen2vl-576.gguf".into(),
            name: None,
            architecture: "clip".into(),
            file_type: None,
            quantization: "F16".into(),
            param_count: 21_233_664,
            file_size_bytes: 42_600_000,
            sha256: sha(99),
        }),
        settings: settings(64, 16, 256),
        image: Some(ImageRun {
            source: "synthetic:448x448:42".into(),
            width: 448,
            height: 448,
            image_tokens: 256,
            preprocess_us: 50_000,
            encode_us: 450_000,
        }),
        prompt_tokens: 64,
        generated_tokens: 16,
        load_us: 400_000,
        prefill_us: 160_000,
        decode_us: 400_000,
        ttft_us: 685_000,
        peak_rss_kb: 183_296,
        output: "A grey square — noise,\nnothing else. ünïcödé ✓".into(),
        phases: marks(&[
            (RunPhase::Load, t),
            (RunPhase::Preprocess, t + 400_000),
            (RunPhase::Encode, t + 450_000),
            (RunPhase::Prefill, t + 900_000),
            (RunPhase::Decode, t + 1_060_000),
            (RunPhase::Done, t + 1_460_000),
        ]),
        outcome: Outcome::Ok,
        cooldown_us: 2_500_000,
        energy: Some(MeasuredEnergy {
            source: "ina219 0x40 on /dev/i2c-1, shunt 0.1 Ω: the 5 V input, every load".into(),
            period_us: 1_100,
            measured_rate_mhz: 890_410_958,
            integration: EnergyIntegration { max_gap_us: 4_400 },
            baseline: Some(EnergyBaseline {
                window: MonoWindow {
                    start_us: 10_500_000,
                    end_us: t,
                },
                power_uw: 3_100_000,
                coverage_ppm: 999_560,
            }),
            run: net_energy(t, t + 1_460_000, 7_373_000),
            phases: vec![
                (RunPhase::Load, net_energy(t, t + 400_000, 1_560_000)),
                (
                    RunPhase::Preprocess,
                    net_energy(t + 400_000, t + 450_000, 230_000),
                ),
                (
                    RunPhase::Encode,
                    net_energy(t + 450_000, t + 900_000, 2_730_000),
                ),
                (
                    RunPhase::Prefill,
                    net_energy(t + 900_000, t + 1_060_000, 1_000_000),
                ),
                (
                    RunPhase::Decode,
                    net_energy(t + 1_060_000, t + 1_460_000, 1_853_000),
                ),
            ],
            tokens: TokenCounts {
                prompt: 320,
                generated: 16,
            },
        }),
        // Run v2's fields: unknown in a v1 record.
        plan: String::new(),
        workload: String::new(),
        base_workload: None,
        warmup: false,
        repetition: 0,
        schedule_index: 0,
        schedule_len: 0,
        cpu_backend: None,
        cooldown_capped: false,
        idle_lead_in: None,
    };
    let t2 = 17_000_000;
    let died = Run {
        run_id: 2,
        label: "llm/pp16/tg8/t4".into(),
        worker_pid: 1378,
        model: None,
        mmproj: None,
        settings: settings(16, 8, -1),
        image: None,
        prompt_tokens: 0,
        generated_tokens: 0,
        load_us: 0,
        prefill_us: 0,
        decode_us: 0,
        ttft_us: 0,
        peak_rss_kb: 0,
        output: String::new(),
        phases: marks(&[(RunPhase::Load, t2), (RunPhase::Done, t2 + 700_000)]),
        outcome: Outcome::Failed(RunError::WorkerDied {
            status: "signal 9 (SIGKILL)".into(),
            exit_code: None,
            signal: Some(9),
            stderr_tail: vec![
                "llama_model_load: loading model tensors".into(),
                "Killed".into(),
            ],
        }),
        cooldown_us: 120_000_000,
        energy: Some(MeasuredEnergy {
            source: "pmic (vcgencmd pmic_read_adc): the PMIC rails, not the 5 V input".into(),
            period_us: 100_000,
            measured_rate_mhz: 10_000,
            integration: EnergyIntegration {
                max_gap_us: 400_000,
            },
            baseline: None,
            run: energy(t2, t2 + 700_000, 4_356_000, None),
            phases: vec![(RunPhase::Load, energy(t2, t2 + 700_000, 4_356_000, None))],
            tokens: TokenCounts {
                prompt: 0,
                generated: 0,
            },
        }),
        // Run v2's fields: unknown in a v1 record.
        plan: String::new(),
        workload: String::new(),
        base_workload: None,
        warmup: false,
        repetition: 0,
        schedule_index: 0,
        schedule_len: 0,
        cpu_backend: None,
        cooldown_capped: false,
        idle_lead_in: None,
    };
    let timed_out = Run {
        run_id: 3,
        label: "llm/pp16/tg8/t4#warmup".into(),
        worker_pid: 1379,
        outcome: Outcome::Failed(RunError::TimedOut { limit_ms: 600_000 }),
        phases: marks(&[(RunPhase::Load, 18_000_000)]),
        cooldown_us: 0,
        energy: None,
        // v1 marked warm-ups in the label only; reading it says so.
        warmup: true,
        ..died.clone()
    };
    [vlm, died, timed_out]
}
