//! Bad input: each gives a typed error naming the file or key, the run is recorded as
//! failed, and the worker goes on with the next run.

use edgewatt::llama::ImageSource;

use super::*;

/// Runs `job`, checks the worker survives it, returns the error.
fn fails(job: &Job) -> RunError {
    let mut sup = supervisor();
    let run = sup.run(job, LIMIT);
    let e = error_of(&run).clone();
    let next = sup.run(&text_job(4, 1), LIMIT);
    assert_ok(&next);
    assert_eq!(next.worker_pid, run.worker_pid, "the worker survived: {e}");
    e
}

fn model_file_error(model: &Path) -> String {
    let mut job = text_job(4, 1);
    job.model = model.to_owned();
    match fails(&job) {
        RunError::ModelFile { path, message } => {
            assert_eq!(path, model.display().to_string());
            message
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_truncated_and_non_gguf_models_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.gguf");
    assert!(model_file_error(&missing).contains("No such file"));
    let text = dir.path().join("readme.gguf");
    std::fs::write(&text, "# not a model\n").unwrap();
    assert!(model_file_error(&text).contains("not a GGUF file"));
    let cut = dir.path().join("cut.gguf");
    let bytes = std::fs::read(&models().llama).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let msg = model_file_error(&cut);
    assert!(
        msg.contains("truncated") && msg.contains("token_embd") || msg.contains("blk."),
        "{msg}"
    );
}

#[test]
fn a_projector_for_another_width_is_refused_naming_the_key() {
    let p = models().dir.join("qwen2vl-width32.gguf");
    let spec = MmprojSpec {
        projection_dim: 32,
        ..MmprojSpec::default()
    };
    qwen2vl_mmproj(&spec).write_to(&p).unwrap();
    let e = fails(&vlm_job(&p, 224, 224, 256));
    assert_eq!(
        e,
        RunError::ProjectorMismatch {
            mmproj: p.display().to_string(),
            projection_dim: 32,
            model: models().llama.display().to_string(),
            n_embd: 64,
        }
    );
    assert!(e.to_string().contains("clip.vision.projection_dim"));
}

#[test]
fn an_undecodable_image_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("broken.png");
    std::fs::write(&p, b"\x89PNG\r\n\x1a\nthis is not a png").unwrap();
    let mut job = vlm_job(&models().qwen2vl, 1, 1, 256);
    job.image = Some(ImageSource::File(p.clone()));
    match fails(&job) {
        RunError::Image { image, .. } => assert_eq!(image, p.display().to_string()),
        other => panic!("{other:?}"),
    }
    job.image = Some(ImageSource::File(dir.path().join("absent.jpg")));
    assert!(matches!(fails(&job), RunError::Image { image, .. } if image.ends_with("absent.jpg")));
}

#[test]
fn a_context_too_small_for_image_and_prompt_is_refused_before_inference() {
    let mut job = vlm_job(&models().qwen2vl, 448, 448, 256);
    job.n_ctx = 200;
    match fails(&job) {
        RunError::ContextTooSmall {
            n_ctx,
            image_tokens,
            needed,
            prompt_tokens,
            gen_tokens,
        } => {
            assert_eq!((n_ctx, image_tokens, gen_tokens), (200, 256, 2));
            assert_eq!(needed, u64::from(256 + prompt_tokens + 2));
        }
        other => panic!("{other:?}"),
    }
    let mut text = text_job(100, 28);
    text.n_ctx = 120;
    assert!(matches!(
        fails(&text),
        RunError::ContextTooSmall {
            needed: 128,
            image_tokens: 0,
            ..
        }
    ));
}

#[test]
fn a_prompt_longer_than_the_corpus_says_how_long_the_corpus_is() {
    let corpus = models().dir.join("short-corpus.txt");
    std::fs::write(&corpus, "the cat").unwrap();
    let mut job = text_job(50, 1);
    job.prompt = Prompt::Corpus {
        path: Some(corpus.clone()),
        tokens: 50,
    };
    match fails(&job) {
        RunError::CorpusTooShort {
            corpus: c,
            requested,
            available,
        } => {
            assert_eq!(c, corpus.display().to_string());
            // "▁the▁cat" in the synthetic vocab: "▁"+"t" → "▁t", +"h" → "▁th", +"e" →
            // "▁the"; "a"+"t" → "at"; "▁" and "c" stay: BOS ▁the ▁ c at.
            assert_eq!((requested, available), (50, 5));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        fails(&text_job(1_000_000, 1)),
        RunError::CorpusTooShort {
            requested: 1_000_000,
            ..
        }
    ));
}

#[test]
fn zero_threads_names_the_key() {
    let mut job = text_job(4, 1);
    job.threads = 0;
    assert_eq!(
        fails(&job),
        RunError::BadJob {
            key: "threads".into(),
            message: "must be at least 1".into()
        }
    );
}

#[test]
fn a_model_llama_cpp_rejects_is_reported_with_its_log() {
    let p = models().dir.join("no-ffn-down.gguf");
    let mut w = tiny_llama(&TextModelSpec::default());
    w.remove_tensor("blk.1.ffn_down.weight");
    w.write_to(&p).unwrap();
    let mut job = text_job(4, 1);
    job.model = p.clone();
    match fails(&job) {
        RunError::ModelLoad { path, log } => {
            assert_eq!(path, p.display().to_string());
            assert!(log.contains("blk.1.ffn_down.weight"), "{log}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_projector_mtmd_rejects_is_reported_with_its_log() {
    let p = models().dir.join("qwen2vl-no-mean.gguf");
    let mut w = qwen2vl_mmproj(&MmprojSpec::default());
    w.remove_kv("clip.vision.image_mean");
    w.write_to(&p).unwrap();
    match fails(&vlm_job(&p, 224, 224, 256)) {
        RunError::ProjectorLoad { path, log } => {
            assert_eq!(path, p.display().to_string());
            assert!(log.contains("image_mean"), "{log}");
        }
        other => panic!("{other:?}"),
    }
}
