//! The worker's inference engine: models kept loaded between jobs, one run at a time.

use std::num::NonZeroU32;
use std::path::Path;
use std::path::PathBuf;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::mtmd::MtmdContext;
use llama_cpp_2::mtmd::MtmdContextParams;
use llama_cpp_2::token::LlamaToken;

use super::backend;
use super::backend::CpuBackend;
use super::job::Job;
use super::logs;
use crate::gguf::GgufFile;
use crate::gguf::ModelInfo;
use crate::record::RunError;

/// What makes a cached identity valid: path, size, mtime.
type FileKey = (PathBuf, u64, Option<std::time::SystemTime>);

/// Model identity, cached by [`FileKey`] so a kept model is hashed once.
#[derive(Default)]
pub(super) struct IdentityCache(Vec<(FileKey, ModelInfo)>);

impl IdentityCache {
    /// Reads and checks the GGUF header (typed error naming the file) and identifies it.
    pub(super) fn identify(&mut self, path: &Path) -> Result<(GgufFile, ModelInfo), RunError> {
        let err = |e: crate::gguf::GgufError| RunError::ModelFile {
            path: path.display().to_string(),
            message: strip_path(&e.to_string(), path),
        };
        let g = GgufFile::open(path).map_err(err)?;
        let meta = std::fs::metadata(path).ok();
        let key = (
            path.to_owned(),
            g.file_size_bytes,
            meta.and_then(|m| m.modified().ok()),
        );
        if let Some((_, info)) = self.0.iter().find(|(k, _)| *k == key) {
            return Ok((g, info.clone()));
        }
        let info = g.model_info().map_err(err)?;
        self.0.push((key, info.clone()));
        Ok((g, info))
    }
}

fn strip_path(msg: &str, path: &Path) -> String {
    let p = format!("{}: ", path.display());
    msg.strip_prefix(&p).unwrap_or(msg).to_owned()
}

/// The text model's embedding width, from its GGUF header.
fn n_embd(g: &GgufFile, info: &ModelInfo) -> Option<u64> {
    g.get_u64(&format!("{}.embedding_length", info.architecture))
}

/// Checks that a projector fits the text model before mtmd is asked to load it.
pub(super) fn check_projector(
    model: (&GgufFile, &ModelInfo),
    proj: (&GgufFile, &ModelInfo),
) -> Result<(), RunError> {
    let (Some(want), Some(have)) = (
        n_embd(model.0, model.1),
        proj.0.get_u64("clip.vision.projection_dim"),
    ) else {
        return Ok(()); // mtmd reports what it misses.
    };
    if want == have {
        return Ok(());
    }
    Err(RunError::ProjectorMismatch {
        mmproj: proj.1.path.clone(),
        projection_dim: have,
        model: model.1.path.clone(),
        n_embd: want,
    })
}

struct LoadedModel {
    path: PathBuf,
    model: LlamaModel,
}

struct LoadedProj {
    key: (PathBuf, i32, i32, u32),
    ctx: MtmdContext,
}

/// Backend and kept models. The projector refers to the model: it is dropped first.
pub(super) struct Engine {
    proj: Option<LoadedProj>,
    model: Option<LoadedModel>,
    pub(super) backend: LlamaBackend,
    /// The ggml CPU kernels loaded for this CPU.
    pub(super) cpu: CpuBackend,
    pub(super) identities: IdentityCache,
    /// Tokenized corpus: (model path, corpus path, tokens).
    pub(super) corpus: Option<(PathBuf, Option<PathBuf>, Vec<LlamaToken>)>,
}

impl Engine {
    /// Loads the CPU backend (first: `LlamaBackend::init` would otherwise search for one
    /// itself), then initialises llama.cpp.
    pub(super) fn new() -> Result<Self, RunError> {
        logs::install();
        let cpu = backend::load().map_err(|e| RunError::Inference {
            stage: "CPU backend loading".into(),
            message: e.to_string(),
        })?;
        let backend = LlamaBackend::init().map_err(|e| RunError::Inference {
            stage: "backend init".into(),
            message: e.to_string(),
        })?;
        Ok(Self {
            proj: None,
            model: None,
            backend,
            cpu,
            identities: IdentityCache::default(),
            corpus: None,
        })
    }

    /// Drops everything loaded.
    pub(super) fn unload(&mut self) {
        self.proj = None;
        self.model = None;
        self.corpus = None;
    }

    /// Loads the job's model (and projector) unless the same are loaded already.
    pub(super) fn load(&mut self, job: &Job) -> Result<(), RunError> {
        if !job.keep_loaded || self.model.as_ref().is_some_and(|m| m.path != job.model) {
            self.unload();
        }
        if self.model.is_none() {
            logs::clear();
            let params = LlamaModelParams::default().with_n_gpu_layers(0);
            let model =
                LlamaModel::load_from_file(&self.backend, &job.model, &params).map_err(|e| {
                    RunError::ModelLoad {
                        path: job.model.display().to_string(),
                        log: format!("{e}: {}", logs::tail()),
                    }
                })?;
            self.model = Some(LoadedModel {
                path: job.model.clone(),
                model,
            });
        }
        let Some(mmproj) = &job.mmproj else {
            self.proj = None;
            return Ok(());
        };
        let key = (
            mmproj.clone(),
            job.image_min_tokens,
            job.image_max_tokens,
            job.threads,
        );
        if self.proj.as_ref().is_some_and(|p| p.key == key) {
            return Ok(());
        }
        self.proj = None;
        let model = &self.model.as_ref().expect("loaded above").model;
        let params = MtmdContextParams {
            use_gpu: false,
            print_timings: false,
            n_threads: job.threads as i32,
            image_min_tokens: job.image_min_tokens,
            image_max_tokens: job.image_max_tokens,
            ..MtmdContextParams::default()
        };
        logs::clear();
        let path = mmproj.to_str().ok_or_else(|| RunError::BadJob {
            key: "mmproj".into(),
            message: format!("{} is not valid UTF-8", mmproj.display()),
        })?;
        let ctx = MtmdContext::init_from_file(path, model, &params).map_err(|e| {
            RunError::ProjectorLoad {
                path: path.into(),
                log: format!("{e}: {}", logs::tail()),
            }
        })?;
        self.proj = Some(LoadedProj { key, ctx });
        Ok(())
    }

    pub(super) fn model(&self) -> &LlamaModel {
        &self.model.as_ref().expect("load() first").model
    }

    /// A fresh context, and the projector if loaded.
    pub(super) fn context(
        &mut self,
        job: &Job,
    ) -> Result<(&LlamaModel, LlamaContext<'_>, Option<&mut MtmdContext>), RunError> {
        let threads = job.threads as i32;
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(job.n_ctx))
            .with_n_batch(job.n_batch)
            .with_n_ubatch(job.n_batch)
            .with_n_threads(threads)
            .with_n_threads_batch(threads)
            .with_no_perf(false);
        let model = &self.model.as_ref().expect("load() first").model;
        logs::clear();
        let ctx = model
            .new_context(&self.backend, params)
            .map_err(|e| RunError::Inference {
                stage: "context".into(),
                message: format!("{e}: {}", logs::tail()),
            })?;
        Ok((model, ctx, self.proj.as_mut().map(|p| &mut p.ctx)))
    }
}
