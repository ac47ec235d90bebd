//! What `edgewatt bench` needs from the llama side: the job of each scheduled run (its
//! tables are made from the log by [`crate::report`]).

use std::io::Write as _;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

/// The job of one scheduled run: the case's job with the plan's name, whether it is a
/// warm-up (`#warmup` after its label too) and its repetition, and a generated projector
/// written into `generated_dir` if the plan asks for one.
#[must_use]
pub fn job_for(
    schedule: &crate::plan::Schedule,
    sr: &crate::plan::ScheduledRun,
    generated_dir: &Path,
) -> super::Job {
    let mut job = schedule.cases[sr.case].job();
    job.plan.clone_from(&schedule.plan);
    job.warmup = sr.warmup;
    job.repetition = sr.repetition;
    if let Some(m) = &job.mmproj {
        job.mmproj = Some(generated_projector(m, &job.model, generated_dir));
    }
    if sr.warmup {
        job.label += "#warmup";
    }
    job
}

/// `generate:qwen2vl` / `generate:gemma3` → a random projector of the text model's width,
/// written once into `dir` (the daemon's `state_dir/generated`, mode 0750): under a name
/// created exclusively, then renamed into place, so a half-written file or one planted by
/// another user is never loaded. Any other path is returned as is; so is the name when the
/// model cannot be read or the file not written (the run then fails naming it).
pub(super) fn generated_projector(mmproj: &Path, model: &Path, dir: &Path) -> std::path::PathBuf {
    let Some(kind) = mmproj.to_str().and_then(|s| s.strip_prefix("generate:")) else {
        return mmproj.to_owned();
    };
    let Ok(g) = crate::gguf::GgufFile::open(model) else {
        return mmproj.to_owned();
    };
    let arch = g
        .get_str("general.architecture")
        .unwrap_or("llama")
        .to_owned();
    let Some(n_embd) = g.get_u64(&format!("{arch}.embedding_length")) else {
        return mmproj.to_owned();
    };
    let spec = crate::gguf::MmprojSpec {
        projection_dim: n_embd,
        ..crate::gguf::MmprojSpec::default()
    };
    let writer = match kind {
        "qwen2vl" => crate::gguf::qwen2vl_mmproj(&spec),
        "gemma3" => crate::gguf::gemma3_mmproj(&spec),
        _ => return mmproj.to_owned(),
    };
    let path = dir.join(format!("{kind}-{n_embd}.gguf"));
    if !path.exists() {
        let written = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(dir)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                let bytes = writer.to_bytes();
                crate::store::replace_file(&path, |f| f.write_all(&bytes))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = written {
            log::error!(
                "cannot write the generated projector {}: {e}",
                path.display()
            );
            return mmproj.to_owned();
        }
    }
    path
}
