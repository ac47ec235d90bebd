//! One run in the worker: identify, load, build the prompt, prefill, decode, measure.

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::mtmd::mtmd_default_marker;
use llama_cpp_2::mtmd::MtmdBitmap;
use llama_cpp_2::mtmd::MtmdContext;
use llama_cpp_2::mtmd::MtmdInputChunkType;
use llama_cpp_2::mtmd::MtmdInputText;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;

use super::engine::check_projector;
use super::engine::Engine;
use super::job::ImageSource;
use super::job::Job;
use super::job::Prompt;
use super::logs;
use super::prompt;
use crate::clock::mono_us;
use crate::record::ImageRun;
use crate::record::Outcome;
use crate::record::PhaseMark;
use crate::record::Run;
use crate::record::RunError;
use crate::record::RunPhase;

/// Receives phase marks as they happen.
pub(super) type OnPhase<'a> = &'a mut dyn FnMut(PhaseMark);

/// Runs `job`; every failure is a failed Run, never a panic.
pub(super) fn run_job(engine: &mut Engine, job: &Job, on_phase: OnPhase<'_>) -> Run {
    let mut run = job.blank_run(std::process::id());
    reset_peak_rss();
    let mut mark = |run: &mut Run, phase: RunPhase| {
        let m = PhaseMark {
            phase,
            mono_us: mono_us(),
        };
        run.phases.push(m);
        on_phase(m);
        m.mono_us
    };
    let result = execute(engine, job, &mut run, &mut mark);
    if !run.phases.is_empty() {
        mark(&mut run, RunPhase::Done);
    }
    run.peak_rss_kb = peak_rss_kb();
    if let Err(e) = result {
        run.outcome = Outcome::Failed(e);
    }
    if !job.keep_loaded {
        engine.unload();
    }
    run
}

type Mark<'a> = dyn FnMut(&mut Run, RunPhase) -> u64 + 'a;

fn execute(engine: &mut Engine, job: &Job, run: &mut Run, mark: &mut Mark) -> Result<(), RunError> {
    check_job(job)?;
    let (g, info) = engine.identities.identify(&job.model)?;
    run.model = Some(info.clone());
    let vlm = match (&job.mmproj, &job.image) {
        (Some(p), Some(_)) => {
            let (pg, pinfo) = engine.identities.identify(p)?;
            run.mmproj = Some(pinfo.clone());
            check_projector((&g, &info), (&pg, &pinfo))?;
            true
        }
        (None, None) => false,
        (Some(_), None) | (None, Some(_)) => {
            return Err(RunError::BadJob {
                key: "mmproj/image".into(),
                message: "a VLM run needs both a projector and an image".into(),
            })
        }
    };
    let load_start = mark(run, RunPhase::Load);
    engine.load(job)?;
    let tokens = prompt::prompt_tokens(engine, job)?;
    let (model, mut ctx, mctx) = engine.context(job)?;
    let first = mark(
        run,
        if vlm {
            RunPhase::Preprocess
        } else {
            RunPhase::Prefill
        },
    );
    run.load_us = first - load_start;
    let (n_past, prefill_start) = if vlm {
        let mctx = mctx.expect("projector loaded for a VLM job");
        prefill_vlm(model, &mut ctx, mctx, job, &tokens, run, mark)?
    } else {
        check_context(job, 0, tokens.len())?;
        prefill_text(&mut ctx, job, &tokens)?;
        run.prompt_tokens = tokens.len() as u32;
        (tokens.len() as i32, first)
    };
    decode(
        model,
        &mut ctx,
        job,
        n_past,
        (first, prefill_start),
        run,
        mark,
    )
}

fn check_job(job: &Job) -> Result<(), RunError> {
    for (key, v) in [
        ("threads", job.threads),
        ("n_ctx", job.n_ctx),
        ("n_batch", job.n_batch),
    ] {
        if v == 0 {
            return Err(RunError::BadJob {
                key: key.into(),
                message: "must be at least 1".into(),
            });
        }
    }
    if matches!(job.prompt, Prompt::Corpus { tokens: 0, .. }) {
        return Err(RunError::BadJob {
            key: "prompt.tokens".into(),
            message: "must be at least 1".into(),
        });
    }
    Ok(())
}

fn check_context(job: &Job, image_tokens: usize, prompt_tokens: usize) -> Result<(), RunError> {
    let needed = (image_tokens + prompt_tokens) as u64 + u64::from(job.gen_tokens);
    if needed <= u64::from(job.n_ctx) {
        return Ok(());
    }
    Err(RunError::ContextTooSmall {
        n_ctx: job.n_ctx,
        needed,
        image_tokens: image_tokens as u32,
        prompt_tokens: prompt_tokens as u32,
        gen_tokens: job.gen_tokens,
    })
}

fn inference(stage: &str, e: impl std::fmt::Display) -> RunError {
    RunError::Inference {
        stage: stage.into(),
        message: format!("{e}: {}", logs::tail()),
    }
}

/// Evaluates the prompt in batches of `n_batch`; logits for the last token only.
fn prefill_text(
    ctx: &mut LlamaContext<'_>,
    job: &Job,
    tokens: &[LlamaToken],
) -> Result<(), RunError> {
    let n_batch = job.n_batch as usize;
    let mut batch = LlamaBatch::new(n_batch, 1);
    for (c, chunk) in tokens.chunks(n_batch).enumerate() {
        batch.clear();
        for (i, t) in chunk.iter().enumerate() {
            let pos = c * n_batch + i;
            let last = pos + 1 == tokens.len();
            batch
                .add(*t, pos as i32, &[0], last)
                .map_err(|e| inference("prefill", e))?;
        }
        ctx.decode(&mut batch)
            .map_err(|e| inference("prefill", e))?;
    }
    Ok(())
}

/// Text with the image marker in front, through mtmd; image encode marked from the logs.
fn prefill_vlm(
    model: &LlamaModel,
    ctx: &mut LlamaContext<'_>,
    mctx: &mut MtmdContext,
    job: &Job,
    tokens: &[LlamaToken],
    run: &mut Run,
    mark: &mut Mark,
) -> Result<(i32, u64), RunError> {
    let preprocess_start = run.phases.last().map_or(0, |m| m.mono_us);
    let source = job.image.as_ref().expect("checked by execute");
    let name = source.describe();
    let bitmap = match source {
        ImageSource::Synthetic {
            width,
            height,
            seed,
        } => {
            MtmdBitmap::from_image_data(*width, *height, &prompt::noise_rgb(*width, *height, *seed))
        }
        ImageSource::File(p) => {
            if let Err(e) = std::fs::metadata(p) {
                return Err(RunError::Image {
                    image: name,
                    message: e.to_string(),
                });
            }
            MtmdBitmap::from_file(mctx, &p.to_string_lossy(), false)
        }
    }
    .map_err(|e| RunError::Image {
        image: name.clone(),
        message: format!("cannot decode ({e}); {}", logs::tail()),
    })?;
    let text = prompt::detokenize(model, tokens);
    let input = MtmdInputText {
        text: format!("{}{text}", mtmd_default_marker()),
        add_special: true,
        parse_special: true,
    };
    let chunks = mctx
        .tokenize(input, &[&bitmap])
        .map_err(|e| RunError::Image {
            image: name.clone(),
            message: format!("preprocessing failed ({e}); {}", logs::tail()),
        })?;
    let image_tokens: usize = (0..chunks.len())
        .filter_map(|i| chunks.get(i))
        .filter(|c| c.chunk_type() == MtmdInputChunkType::Image)
        .map(|c| c.n_tokens())
        .sum();
    let text_tokens = chunks.total_tokens() - image_tokens;
    check_context(job, image_tokens, text_tokens)?;
    let prefill_start = mark(run, RunPhase::Prefill);
    logs::clear();
    let n_past = chunks
        .eval_chunks(mctx, ctx, 0, 0, job.n_batch as i32, true)
        .map_err(|e| inference("image prefill", e))?;
    let encodes = logs::take_encodes();
    // Re-emit the encode window as marks: Prefill … Encode … Prefill.
    let encode_us: u64 = encodes.iter().map(|(a, b)| b - a).sum();
    for (a, b) in &encodes {
        insert_mark(run, RunPhase::Encode, *a);
        insert_mark(run, RunPhase::Prefill, *b);
    }
    run.prompt_tokens = text_tokens as u32;
    run.image = Some(ImageRun {
        source: name,
        width: bitmap.nx(),
        height: bitmap.ny(),
        image_tokens: image_tokens as u32,
        preprocess_us: prefill_start - preprocess_start,
        encode_us,
    });
    Ok((n_past, prefill_start))
}

/// Phase marks found in the logs arrive after the fact: insert them in time order.
fn insert_mark(run: &mut Run, phase: RunPhase, mono_us: u64) {
    let i = run.phases.partition_point(|m| m.mono_us <= mono_us);
    run.phases.insert(i, PhaseMark { phase, mono_us });
}

/// Greedy decode of `gen_tokens`: sample, evaluate, repeat; stops early at end of text
/// unless `ignore_eog`. `starts` = (first mark of the run after load, prefill start).
fn decode(
    model: &LlamaModel,
    ctx: &mut LlamaContext<'_>,
    job: &Job,
    mut n_past: i32,
    (first, prefill_start): (u64, u64),
    run: &mut Run,
    mark: &mut Mark,
) -> Result<(), RunError> {
    let mut sampler = LlamaSampler::greedy();
    let mut batch = LlamaBatch::new(1, 1);
    let mut bytes = Vec::new();
    let mut decode_start = None;
    let vocab = model.vocab();
    for _ in 0..job.gen_tokens {
        let tok = sampler.sample(ctx, -1);
        if decode_start.is_none() {
            let t = mark(run, RunPhase::Decode);
            run.ttft_us = t - first;
            run.prefill_us = t - prefill_start - run.image.as_ref().map_or(0, |i| i.encode_us);
            decode_start = Some(t);
        }
        if vocab.is_eog(tok) && !job.ignore_eog {
            break;
        }
        bytes.extend(vocab.token_to_piece(tok, false, None));
        run.generated_tokens += 1;
        batch.clear();
        batch
            .add(tok, n_past, &[0], true)
            .map_err(|e| inference("decode", e))?;
        ctx.decode(&mut batch).map_err(|e| inference("decode", e))?;
        n_past += 1;
    }
    let end = mono_us();
    match decode_start {
        Some(t) => run.decode_us = end - t,
        None => {
            run.prefill_us = end - prefill_start - run.image.as_ref().map_or(0, |i| i.encode_us);
        }
    }
    run.output = String::from_utf8_lossy(&bytes).into_owned();
    Ok(())
}

/// Lets VmHWM restart from the current RSS, so the peak is this run's.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// VmHWM of this process, kB (0 if unreadable).
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
