//! Run records for the golden table: a VLM run with models, image and energy over every
//! phase, and a failed run per `RunError` variant.

use super::s;
use crate::record::*;

fn model(arch: &str) -> ModelInfo {
    ModelInfo {
        path: s("m.gguf"),
        name: (arch == "llama").then(|| s("SmolLM2")),
        architecture: s(arch),
        file_type: (arch == "llama").then_some(3),
        quantization: s("Q4_1"),
        param_count: 134_515_008,
        file_size_bytes: 97_947_616,
        sha256: s("ab"),
    }
}

fn energy_window(start_us: u64, gross_uj: i64, net_uj: Option<i64>) -> EnergyWindow {
    EnergyWindow {
        window: MonoWindow {
            start_us,
            end_us: start_us + 1_000,
        },
        gross_uj,
        net_uj,
        covered_us: 990,
        coverage_ppm: 990_000,
        largest_gap_us: 10,
        readings: 9,
    }
}

fn settings() -> RunSettings {
    RunSettings {
        threads: 4,
        n_ctx: 4096,
        n_batch: 512,
        seed: 42,
        prompt_tokens: 64,
        gen_tokens: 16,
        keep_loaded: true,
        image_min_tokens: -1,
        image_max_tokens: 256,
    }
}

/// The VLM run: every field set, every run phase, every energy phase.
pub(super) fn full() -> Run {
    let phases = [
        RunPhase::Load,
        RunPhase::Preprocess,
        RunPhase::Encode,
        RunPhase::Prefill,
        RunPhase::Decode,
        RunPhase::Done,
    ];
    Run {
        run_id: 1,
        label: s("vlm/pp64"),
        worker_pid: 1377,
        model: Some(model("llama")),
        mmproj: Some(model("clip")),
        settings: settings(),
        image: Some(ImageRun {
            source: s("synthetic:448x448:42"),
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
        output: s("hi"),
        phases: phases
            .iter()
            .zip(0..)
            .map(|(&phase, k)| PhaseMark {
                phase,
                mono_us: 1_000 * k,
            })
            .collect(),
        outcome: Outcome::Ok,
        cooldown_us: 2_500_000,
        energy: Some(MeasuredEnergy {
            source: s("ina219"),
            period_us: 1_100,
            measured_rate_mhz: 890_410_958,
            integration: EnergyIntegration { max_gap_us: 4_400 },
            baseline: Some(EnergyBaseline {
                window: MonoWindow {
                    start_us: 0,
                    end_us: 500,
                },
                power_uw: 3_100_000,
                coverage_ppm: 999_560,
            }),
            run: energy_window(0, 7_373, Some(-2)),
            phases: [
                RunPhase::Load,
                RunPhase::Prefill,
                RunPhase::Decode,
                RunPhase::Preprocess,
                RunPhase::Encode,
            ]
            .into_iter()
            .zip(1..)
            .map(|(p, k)| (p, energy_window(k, k as i64, None)))
            .collect(),
            tokens: TokenCounts {
                prompt: 320,
                generated: 16,
            },
        }),
        // Fields since Run v2: unknown in a v1 record.
        ..Run::blank(String::new(), 0, settings())
    }
}

/// [`full`] with every field of Run v2 set.
pub(super) fn full_v2() -> Run {
    Run {
        plan: s("demo"),
        workload: s("vlm-q4"),
        base_workload: Some(s("vlm-f16")),
        warmup: true,
        repetition: 2,
        schedule_index: 7,
        schedule_len: 12,
        cpu_backend: Some(s("CPU_ARMV8.2_2")),
        cooldown_capped: true,
        idle_lead_in: Some(MonoWindow {
            start_us: 7_000_000,
            end_us: 10_000_000,
        }),
        ..full()
    }
}

/// A failed Run v1 per error variant, in variant order, without energy.
pub(super) fn failed() -> Vec<Run> {
    let errors = vec![
        RunError::ModelFile {
            path: s("p"),
            message: s("m"),
        },
        RunError::ModelLoad {
            path: s("p"),
            log: s("l"),
        },
        RunError::ProjectorMismatch {
            mmproj: s("j"),
            projection_dim: 1024,
            model: s("p"),
            n_embd: 576,
        },
        RunError::ProjectorLoad {
            path: s("j"),
            log: s("l"),
        },
        RunError::Image {
            image: s("i"),
            message: s("m"),
        },
        RunError::ContextTooSmall {
            n_ctx: 512,
            needed: 600,
            image_tokens: 256,
            prompt_tokens: 300,
            gen_tokens: 44,
        },
        RunError::CorpusTooShort {
            corpus: s("c"),
            requested: 4096,
            available: 900,
        },
        RunError::Corpus {
            path: s("c"),
            message: s("m"),
        },
        RunError::BadJob {
            key: s("k"),
            message: s("m"),
        },
        RunError::Inference {
            stage: s("decode"),
            message: s("m"),
        },
        RunError::WorkerDied {
            status: s("signal 9 (SIGKILL)"),
            exit_code: None,
            signal: Some(9),
            stderr_tail: vec![s("a"), s("b")],
        },
        RunError::TimedOut { limit_ms: 600_000 },
        RunError::Protocol { message: s("m") },
    ];
    let base = full();
    errors
        .into_iter()
        .map(|e| Run {
            run_id: 2,
            model: None,
            mmproj: None,
            image: None,
            output: String::new(),
            phases: vec![PhaseMark {
                phase: RunPhase::Load,
                mono_us: 7,
            }],
            outcome: Outcome::Failed(e),
            energy: None,
            ..base.clone()
        })
        .collect()
}
