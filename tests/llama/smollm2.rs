//! End to end on real weights: SmolLM2-135M-Instruct Q4_1 (`scripts/fetch-model.sh`).

use super::*;

pub const SMOLLM2: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
);

/// Set to `1` to skip the real-model test when the model is absent (offline machines).
pub const SKIP_ENV: &str = "EDGEWATT_SKIP_REAL_MODEL";

/// SmolLM2's path; `None` (said on stderr) when it is absent and [`SKIP_ENV`]`=1` asks to
/// skip. An absent model is otherwise a failure, not a silent pass: scripts/test.sh and CI
/// fetch it.
pub fn smollm2_or_skip() -> Option<&'static Path> {
    let path = Path::new(SMOLLM2);
    if path.exists() {
        return Some(path);
    }
    let skip = std::env::var(SKIP_ENV).is_ok_and(|v| v == "1");
    assert!(
        skip,
        "{SMOLLM2} is absent: run scripts/fetch-model.sh (scripts/test.sh does), or set \
         {SKIP_ENV}=1 to skip the real-model tests"
    );
    eprintln!("\n!!! SKIPPED (as {SKIP_ENV}=1 asks): {SMOLLM2} is absent.\n");
    None
}

#[test]
fn smollm2_continues_the_corpus_with_coherent_text() {
    let Some(path) = smollm2_or_skip() else {
        return;
    };
    let mut job = Job::text(path);
    job.prompt = Prompt::Corpus {
        path: None,
        tokens: 128,
    };
    job.gen_tokens = 32;
    job.ignore_eog = false;
    let run = supervisor().run(&job, REAL_MODEL_LIMIT);
    assert_ok(&run);
    eprintln!(
        "smollm2: prefill {} tok in {} us ({:.1} t/s), decode {} tok in {} us ({:.1} t/s), \
         load {} us, peak RSS {} kB, output {:?}",
        run.prompt_tokens,
        run.prefill_us,
        run.prefill_tokens_per_s(),
        run.generated_tokens,
        run.decode_us,
        run.decode_tokens_per_s(),
        run.load_us,
        run.peak_rss_kb,
        run.output
    );
    assert_eq!(run.prompt_tokens, 128);
    assert!(run.generated_tokens >= 8, "{}", run.generated_tokens);
    let info = run.model.as_ref().unwrap();
    assert_eq!(
        info.sha256,
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    );
    assert_eq!(
        (info.architecture.as_str(), info.quantization.as_str()),
        ("llama", "Q4_1")
    );
    let text = &run.output;
    let letters = text
        .chars()
        .filter(|c| c.is_ascii_alphabetic() || *c == ' ')
        .count();
    assert!(
        letters * 10 >= text.chars().count() * 8,
        "mostly letters and spaces: {text:?}"
    );
    let mut words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 2)
        .collect();
    words.sort_unstable();
    words.dedup();
    assert!(words.len() >= 5, "several distinct words: {text:?}");
}
