//! Making a compressed (or an F16 "base") variant of a model with llama.cpp's own
//! quantizer, `llama_model_quantize`, as `llama-quantize` does.
//!
//! The checks llama.cpp would make only after minutes of work, or only in its log, come
//! first and name the problem: a missing or non-GGUF input, an output that exists, the
//! input as output, a type that needs an importance matrix, an input that is already
//! quantized. The output is written beside the target under a temporary name and renamed
//! when complete, so a failed run leaves no partial model behind.
//!
//! Requantizing (a quantized input, `allow_requantize`) works for every type, F16
//! included, but adds no information: an F16 file made from a Q4_1 model holds the Q4_1
//! weights dequantized (its quality is the Q4_1 model's, at 3× the size), and a Q2_K made
//! from it compounds the two roundings. Quantize from the original F16/BF16/F32 weights
//! where they exist.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Once;

use crate::gguf::FileType;
use crate::gguf::GgufError;
use crate::gguf::GgufFile;
use crate::gguf::FILE_TYPES;

use super::logs;

/// Why a model could not be quantized. Each names the file or the type, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum QuantizeError {
    #[error("{}: no such file: give the path of a GGUF model", path.display())]
    MissingInput { path: PathBuf },
    #[error(transparent)]
    Input(#[from] GgufError),
    #[error("unknown type {name:?}: valid types are {}", valid_types())]
    UnknownType { name: String },
    #[error(
        "{}: exists: pass --force to replace it, or choose another output path",
        path.display()
    )]
    OutputExists { path: PathBuf },
    #[error("{}: input and output are the same file: write the output elsewhere", path.display())]
    SameFile { path: PathBuf },
    #[error(
        "type {name} needs an importance matrix, which edgewatt quantize does not take: \
         make one with llama.cpp's llama-imatrix and quantize with llama-quantize --imatrix, \
         or choose a type that needs none ({})",
        valid_types()
    )]
    NeedsImatrix { name: &'static str },
    #[error(
        "{}: already quantized ({from}): requantizing adds the new rounding to the old one \
         (and F16 from it holds the {from} weights, no better); pass --allow-requantize to \
         do it anyway, or start from the F16/BF16/F32 original",
        path.display()
    )]
    AlreadyQuantized { path: PathBuf, from: String },
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    #[error("{}: llama.cpp could not quantize it to {to}: {log}", path.display())]
    Failed {
        path: PathBuf,
        to: &'static str,
        log: String,
    },
}

/// The `--type` values quantize accepts, comma-separated, with the imatrix ones marked.
#[must_use]
pub fn valid_types() -> String {
    let usable: Vec<&str> = FILE_TYPES
        .iter()
        .filter(|t| !t.needs_imatrix)
        .map(|t| t.name)
        .collect();
    usable.join(", ")
}

/// Settings of [`quantize`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuantizeOptions {
    /// Threads llama.cpp uses; 0 = every core.
    pub threads: u32,
    /// Replace an existing output.
    pub force: bool,
    /// Quantize an input whose weights are already quantized.
    pub allow_requantize: bool,
}

/// What [`quantize`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantized {
    pub output: PathBuf,
    /// The input's file type (or its dominant tensor type when it does not say).
    pub from: String,
    pub to: &'static FileType,
    pub input_bytes: u64,
    pub output_bytes: u64,
}

/// The file type named `name`, or an error listing the valid ones.
pub fn file_type(name: &str) -> Result<&'static FileType, QuantizeError> {
    FileType::by_name(name).ok_or_else(|| QuantizeError::UnknownType { name: name.into() })
}

/// Whether most of the input's weight bytes are quantized, and the input's type name.
fn input_type(file: &GgufFile) -> (bool, String) {
    if let Some(t) = file
        .get_u64("general.file_type")
        .and_then(|c| FileType::by_code(c as u32))
    {
        return (t.quantized, t.name.to_owned());
    }
    let quantized = file
        .tensors
        .iter()
        .filter(|t| t.ne.len() >= 2)
        .any(|t| !matches!(t.ggml_type.0, 0 | 1 | 30));
    let name = file
        .tensors
        .iter()
        .filter(|t| t.ne.len() >= 2)
        .find_map(|t| t.ggml_type.layout())
        .map_or("unknown", |(n, _, _)| n);
    (quantized, name.to_owned())
}

/// Checks everything that can be checked before llama.cpp runs.
fn preflight(
    input: &Path,
    output: &Path,
    to: &FileType,
    options: &QuantizeOptions,
) -> Result<GgufFile, QuantizeError> {
    if !input.exists() {
        return Err(QuantizeError::MissingInput { path: input.into() });
    }
    if to.needs_imatrix {
        return Err(QuantizeError::NeedsImatrix { name: to.name });
    }
    let file = GgufFile::open(input)?;
    if output.exists() {
        let same = std::fs::canonicalize(input).ok() == std::fs::canonicalize(output).ok();
        if same {
            return Err(QuantizeError::SameFile {
                path: output.into(),
            });
        }
        if !options.force {
            return Err(QuantizeError::OutputExists {
                path: output.into(),
            });
        }
    }
    let (quantized, from) = input_type(&file);
    if quantized && !options.allow_requantize {
        return Err(QuantizeError::AlreadyQuantized {
            path: input.into(),
            from,
        });
    }
    Ok(file)
}

fn c_path(path: &Path) -> Result<CString, QuantizeError> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| QuantizeError::Io {
        path: path.into(),
        action: "pass the path to llama.cpp (it contains a NUL byte)",
        source: std::io::ErrorKind::InvalidInput.into(),
    })
}

/// Quantizes `input` to `to` as `output` with llama.cpp's quantizer.
///
/// Runs in this process (llama.cpp's quantizer reads and writes tensor by tensor; it
/// does not run the model), writes `output` atomically, and returns the sizes.
pub fn quantize(
    input: &Path,
    output: &Path,
    to: &'static FileType,
    options: &QuantizeOptions,
) -> Result<Quantized, QuantizeError> {
    let file = preflight(input, output, to, options)?;
    let (_, from) = input_type(&file);
    let name = output
        .file_name()
        .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
    let partial = output.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let (c_in, c_out) = (c_path(input)?, c_path(&partial)?);
    static BACKEND: Once = Once::new();
    BACKEND.call_once(|| {
        // The worker's CPU backend, from the worker's directories (the .deb's
        // /usr/lib/edgewatt too): llama_backend_init then finds one registered and does not
        // search ggml's own places (the build directory, where it took sapphirerapids).
        // Failing that, its search is the fallback: quantizing runs no matmul.
        if let Err(e) = super::backend::load() {
            log::debug!("quantize: {e}; llama.cpp looks for a CPU backend itself");
        }
        // Already initialised elsewhere in the process is fine: it stays up either way.
        if let Ok(backend) = llama_cpp_2::llama_backend::LlamaBackend::init() {
            std::mem::forget(backend);
        }
        logs::install();
    });
    logs::clear();
    // SAFETY: the default params are plain values with null pointers for the optional
    // arrays; both paths are NUL-terminated and outlive the call.
    let status = unsafe {
        let mut params = llama_cpp_sys_2::llama_model_quantize_default_params();
        params.ftype = to.code;
        params.nthread = i32::try_from(options.threads).unwrap_or(0);
        params.allow_requantize = options.allow_requantize;
        llama_cpp_sys_2::llama_model_quantize(c_in.as_ptr(), c_out.as_ptr(), &params)
    };
    if status != 0 {
        let _ = std::fs::remove_file(&partial);
        return Err(QuantizeError::Failed {
            path: input.into(),
            to: to.name,
            log: logs::tail(),
        });
    }
    std::fs::rename(&partial, output).map_err(|source| {
        let _ = std::fs::remove_file(&partial);
        QuantizeError::Io {
            path: output.into(),
            action: "move the finished model into place",
            source,
        }
    })?;
    let output_bytes = std::fs::metadata(output).map_or(0, |m| m.len());
    Ok(Quantized {
        output: output.into(),
        from,
        to,
        input_bytes: file.file_size_bytes,
        output_bytes,
    })
}
