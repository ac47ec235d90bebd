//! Prompts of an exact token count, cut from a corpus, and synthetic images.

use std::path::Path;

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use super::engine::Engine;
use super::job::Job;
use super::job::Prompt;
use crate::record::RunError;
use crate::synth::Rng;

/// The corpus shipped with edgewatt (`data/corpus.txt`): plain English prose written for
/// the project and dedicated to the public domain.
pub const BUILTIN_CORPUS: &str = include_str!("../../data/corpus.txt");

/// How the built-in corpus is named in records and errors.
pub const BUILTIN_CORPUS_NAME: &str = "builtin:data/corpus.txt";

/// The job's prompt as tokens: exactly `tokens` corpus tokens, or the text tokenized.
pub(super) fn prompt_tokens(engine: &mut Engine, job: &Job) -> Result<Vec<LlamaToken>, RunError> {
    let (path, n) = match &job.prompt {
        Prompt::Text(text) => {
            return Ok(engine
                .model()
                .vocab()
                .tokenize(text.as_bytes(), true, false))
        }
        Prompt::Corpus { path, tokens } => (path.clone(), *tokens),
    };
    let cached = engine
        .corpus
        .as_ref()
        .is_some_and(|(m, c, _)| *m == job.model && *c == path);
    if !cached {
        let text = match &path {
            None => BUILTIN_CORPUS.to_owned(),
            Some(p) => read_corpus(p)?,
        };
        let tokens = engine
            .model()
            .vocab()
            .tokenize(text.as_bytes(), true, false);
        engine.corpus = Some((job.model.clone(), path.clone(), tokens));
    }
    let all = &engine.corpus.as_ref().expect("set above").2;
    if n as usize > all.len() {
        return Err(RunError::CorpusTooShort {
            corpus: path.map_or_else(|| BUILTIN_CORPUS_NAME.into(), |p| p.display().to_string()),
            requested: n,
            available: all.len() as u32,
        });
    }
    Ok(all[..n as usize].to_vec())
}

fn read_corpus(p: &Path) -> Result<String, RunError> {
    std::fs::read_to_string(p).map_err(|e| RunError::Corpus {
        path: p.display().to_string(),
        message: e.to_string(),
    })
}

/// Text of `tokens` (special tokens such as BOS render as nothing).
pub(super) fn detokenize(model: &LlamaModel, tokens: &[LlamaToken]) -> String {
    let vocab = model.vocab();
    let bytes: Vec<u8> = tokens
        .iter()
        .flat_map(|t| vocab.token_to_piece(*t, false, None))
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `width`×`height` RGB noise from `seed`.
#[must_use]
pub fn noise_rgb(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let n = width as usize * height as usize * 3;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(n);
    out
}
