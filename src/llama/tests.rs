//! Unit tests of the parts that need no model: framing, summary table, projectors.
//! Real inference is tested in tests/llama/.

use std::io::Cursor;
use std::path::Path;

use super::*;
use crate::plan::Plan;
use crate::record::ImageRun;
use crate::record::Outcome;
use crate::record::PhaseMark;
use crate::record::Run;
use crate::record::RunPhase;

#[test]
fn frames_are_a_length_then_json_and_read_back_in_order() {
    let mut buf = Vec::new();
    let ready = Reply::Ready {
        pid: 7,
        cpu_backend: CpuBackend {
            variant: "armv8.2_2".into(),
            path: "/usr/lib/edgewatt/libggml-cpu-armv8.2_2.so".into(),
            features: vec!["DOTPROD".into(), "SVE_CNT=16".into()],
        },
    };
    write_frame(&mut buf, &ready).unwrap();
    let mark = PhaseMark {
        phase: RunPhase::Decode,
        mono_us: 99,
    };
    write_frame(&mut buf, &Reply::Phase(mark)).unwrap();
    let body = br#"{"Ready":{"pid":7,"cpu_backend":{"variant":"armv8.2_2","path":"/usr/lib/edgewatt/libggml-cpu-armv8.2_2.so","features":["DOTPROD","SVE_CNT=16"]}}}"#;
    assert_eq!(&buf[..4], &(body.len() as u32).to_le_bytes());
    assert_eq!(&buf[4..4 + body.len()], body);
    let mut r = Cursor::new(buf);
    assert_eq!(read_frame::<Reply>(&mut r).unwrap(), ready);
    assert_eq!(read_frame::<Reply>(&mut r).unwrap(), Reply::Phase(mark));
    assert!(matches!(
        read_frame::<Reply>(&mut r),
        Err(FrameError::Closed)
    ));
}

#[test]
fn torn_oversized_and_garbled_frames_are_errors() {
    let mut buf = Vec::new();
    write_frame(&mut buf, &Request::Shutdown).unwrap();
    let torn = &buf[..buf.len() - 1];
    assert!(matches!(
        read_frame::<Request>(&mut Cursor::new(torn)),
        Err(FrameError::Io(_))
    ));
    let huge = (MAX_FRAME_BYTES_FOR_TEST + 1).to_le_bytes();
    assert!(matches!(
        read_frame::<Request>(&mut Cursor::new(huge)),
        Err(FrameError::TooBig(n)) if n == MAX_FRAME_BYTES_FOR_TEST + 1
    ));
    let mut garbled = 3u32.to_le_bytes().to_vec();
    garbled.extend_from_slice(b"{x}");
    assert!(matches!(
        read_frame::<Request>(&mut Cursor::new(garbled)),
        Err(FrameError::Json(_))
    ));
}

const MAX_FRAME_BYTES_FOR_TEST: u32 = super::job::MAX_FRAME_BYTES;

fn ok_run(label: &str, prefill_us: u64, decode_us: u64) -> Run {
    Run {
        run_id: 1,
        label: label.into(),
        worker_pid: 1,
        model: None,
        mmproj: None,
        settings: Job::text("m.gguf").settings(),
        image: Some(ImageRun {
            source: "synthetic:224x224:42".into(),
            width: 224,
            height: 224,
            image_tokens: 64,
            preprocess_us: 1,
            encode_us: 2_500,
        }),
        prompt_tokens: 36,
        generated_tokens: 8,
        load_us: 1,
        prefill_us,
        decode_us,
        ttft_us: 1,
        peak_rss_kb: 2048,
        output: String::new(),
        phases: Vec::new(),
        outcome: Outcome::Ok,
        cooldown_us: 0,
        energy: None,
    }
}

#[test]
fn the_summary_has_mean_and_sample_sd_per_case_over_measured_runs() {
    let plan = Plan::parse(
        "name = \"s\"\n[[workload]]\nname = \"v\"\nmodel = \"m.gguf\"\nmmproj = \"p\"\n\
         images = [\"224x224\"]\nprompt_tokens = [36]\ngen_tokens = 8\nthreads = [2]\n",
        Path::new("s.toml"),
    )
    .unwrap();
    let cases = plan.cases();
    let label = "v/pp36/tg8/t2/img224x224";
    assert_eq!(cases[0].label, label);
    // (36 + 64) tokens in 0.1 s and 0.2 s: 1000 and 500 t/s; 8 tokens in 0.1 s / 0.05 s.
    let runs = vec![
        ok_run(label, 100_000, 100_000),
        ok_run(label, 200_000, 50_000),
        ok_run(&format!("{label}#warmup"), 1, 1),
    ];
    let table = summary(&cases, &runs);
    let line = table.lines().nth(2).unwrap();
    // sd of {1000, 500} = 353.55…; of {80, 160} = 56.57….
    assert_eq!(
        line,
        "| m.gguf | - | v/pp36/tg8/t2/img224x224 | 2/2 | 750.0 ± 353.6 | 120.0 ± 56.6 | 64 | 2.5 | 2.0 |"
    );
}

#[test]
fn cells_no_successful_run_measured_are_dashes_not_zeros() {
    let plan = Plan::parse(
        "name = \"s\"\n[[workload]]\nname = \"t\"\nmodel = \"m.gguf\"\n\
         prompt_tokens = [36, 72]\ngen_tokens = 8\nthreads = [2]\n",
        Path::new("s.toml"),
    )
    .unwrap();
    let cases = plan.cases();
    let (a, b) = ("t/pp36/tg8/t2", "t/pp72/tg8/t2");
    assert_eq!((cases[0].label.as_str(), cases[1].label.as_str()), (a, b));
    let failed = |label: &str| Run {
        outcome: Outcome::Failed(crate::record::RunError::TimedOut { limit_ms: 5 }),
        image: None,
        peak_rss_kb: 0,
        ..ok_run(label, 0, 0)
    };
    let mut ok = ok_run(b, 100_000, 100_000);
    ok.image = None;
    ok.model = Some(crate::gguf::ModelInfo {
        path: "m.gguf".into(),
        name: Some("Tiny".into()),
        architecture: "llama".into(),
        file_type: Some(1),
        quantization: "F16".into(),
        param_count: 1,
        file_size_bytes: 3 * 1_048_576,
        sha256: String::new(),
    });
    let runs = vec![failed(a), failed(a), failed(b), ok];
    let table = summary(&cases, &runs);
    let lines: Vec<&str> = table.lines().skip(2).collect();
    assert_eq!(
        lines,
        [
            "| m.gguf | - | t/pp36/tg8/t2 | 0/2 | - | - | - | - | - |",
            // Only the ok run counts: 36 tokens in 0.1 s, 8 in 0.1 s; one value, sd 0.
            "| Tiny | 3.0 | t/pp72/tg8/t2 | 1/2 | 360.0 ± 0.0 | 80.0 ± 0.0 | - | - | 2.0 |",
        ]
    );
}

#[test]
fn generated_projectors_take_the_width_of_the_text_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.gguf");
    let spec = crate::gguf::TextModelSpec {
        n_embd: 96,
        n_head: 6,
        n_head_kv: 3,
        ..crate::gguf::TextModelSpec::default()
    };
    crate::gguf::tiny_llama(&spec).write_to(&model).unwrap();
    let p = super::bench::generated_projector(Path::new("generate:gemma3"), &model);
    assert!(
        p.ends_with("edgewatt-generated/gemma3-96.gguf"),
        "{}",
        p.display()
    );
    let g = crate::gguf::GgufFile::open(&p).unwrap();
    assert_eq!(g.get_u64("clip.vision.projection_dim"), Some(96));
    assert_eq!(g.get_str("clip.projector_type"), Some("gemma3"));
    // Files and unknown kinds pass through; so does a model that cannot be read.
    let file = Path::new("/x/mmproj.gguf");
    assert_eq!(super::bench::generated_projector(file, &model), file);
    let odd = Path::new("generate:llava");
    assert_eq!(super::bench::generated_projector(odd, &model), odd);
    let q = Path::new("generate:qwen2vl");
    assert_eq!(
        super::bench::generated_projector(q, &dir.path().join("none.gguf")),
        q
    );
}
