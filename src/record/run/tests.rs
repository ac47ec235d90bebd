use super::*;
use crate::record::Record;

fn sample_run() -> Run {
    let settings = RunSettings {
        threads: 2,
        n_ctx: 4096,
        n_batch: 512,
        seed: 42,
        prompt_tokens: 64,
        gen_tokens: 16,
        keep_loaded: true,
        image_min_tokens: -1,
        image_max_tokens: 256,
    };
    Run {
        run_id: 3,
        label: "demo/llm-64".into(),
        worker_pid: 4242,
        model: None,
        mmproj: None,
        settings: settings.clone(),
        image: Some(ImageRun {
            source: "synthetic:448x448:7".into(),
            width: 448,
            height: 448,
            image_tokens: 256,
            preprocess_us: 5_000,
            encode_us: 90_000,
        }),
        prompt_tokens: 64,
        generated_tokens: 16,
        load_us: 1_000,
        prefill_us: 160_000,
        decode_us: 400_000,
        ttft_us: 250_000,
        peak_rss_kb: 123_456,
        output: "hello".into(),
        phases: vec![
            PhaseMark {
                phase: RunPhase::Load,
                mono_us: 10,
            },
            PhaseMark {
                phase: RunPhase::Done,
                mono_us: 20,
            },
        ],
        outcome: Outcome::Failed(RunError::TimedOut { limit_ms: 5 }),
        cooldown_us: 0,
        energy: None,
        ..Run::blank(String::new(), 0, settings)
    }
}

#[test]
fn rates_are_tokens_over_phase_time() {
    let run = sample_run();
    // (64 + 256) tokens in 0.16 s; 16 tokens in 0.4 s.
    assert!((run.prefill_tokens_per_s() - 2000.0).abs() < 1e-9);
    assert!((run.decode_tokens_per_s() - 40.0).abs() < 1e-9);
    assert_eq!(run.phase_start_us(RunPhase::Done), Some(20));
    assert_eq!(run.phase_start_us(RunPhase::Decode), None);
    assert!(!run.is_ok());
}

#[test]
fn a_run_is_written_as_run_v2_and_reads_back_whole() {
    let rec = Record::Run(Box::new(Run {
        plan: "demo".into(),
        warmup: true,
        cpu_backend: Some("CPU".into()),
        ..sample_run()
    }));
    let bytes = postcard::to_stdvec(&rec).unwrap();
    assert_eq!(bytes[0], 5, "Run v2 is Record variant index 5");
    assert_eq!(postcard::from_bytes::<Record>(&bytes).unwrap(), rec);
    assert_eq!(rec.type_name(), "run");
}
