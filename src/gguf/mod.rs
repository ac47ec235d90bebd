//! GGUF files, in pure Rust: a v3 writer, generators of tiny random-weight test models,
//! and a metadata reader that gives a model its identity in Run records.
//!
//! The container (llama.cpp `ggml/include/gguf.h`), little-endian:
//! magic `GGUF`, version u32, tensor count u64, KV count u64; KVs (key string, value
//! type u32, value); tensor infos (name, n_dims u32, `ne` as u64 each, ggml type u32,
//! offset u64 into the data blob); the blob starts at the next multiple of
//! `general.alignment` (32 by default) and every tensor's offset is a multiple of it.
//! Strings are a u64 length then bytes; arrays an element type u32, a count u64, then
//! elements. Shapes are in ggml `ne` order: fastest dimension first.

mod gen;
mod read;
#[cfg(test)]
mod tests;
mod value;
mod write;

use std::path::PathBuf;

pub use crate::record::ModelInfo;
pub use gen::gemma3_mmproj;
pub use gen::qwen2vl_mmproj;
pub use gen::tiny_llama;
pub use gen::MmprojSpec;
pub use gen::TextModelSpec;
pub use read::GgufFile;
pub use read::TensorInfo;
pub use value::FileType;
pub use value::GgmlType;
pub use value::Value;
pub use value::FILE_TYPES;
pub use write::GgufWriter;
pub use write::TensorData;

/// `GGUF` as it appears at the start of the file.
pub const MAGIC: [u8; 4] = *b"GGUF";
/// Default alignment of the tensor data blob and of every tensor in it.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// Why a GGUF file could not be read or written. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("{}: {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    #[error("{}: not a GGUF file (starts with {found:02x?}, expected \"GGUF\")", path.display())]
    NotGguf { path: PathBuf, found: Vec<u8> },
    #[error("{}: GGUF version {version} is not supported (2 and 3 are)", path.display())]
    Version { path: PathBuf, version: u32 },
    #[error(
        "{}: truncated: needs {needed} more bytes at byte {offset} for {what}, file has {len} bytes",
        path.display()
    )]
    Truncated {
        path: PathBuf,
        offset: u64,
        needed: u64,
        what: String,
        len: u64,
    },
    #[error(
        "{}: truncated: tensor {tensor} ends at byte {end}, file has {len} bytes",
        path.display()
    )]
    TensorOutOfBounds {
        path: PathBuf,
        tensor: String,
        end: u64,
        len: u64,
    },
    #[error("{}: at byte {offset}: {what}", path.display())]
    Malformed {
        path: PathBuf,
        offset: u64,
        what: String,
    },
    #[error("{}: key {key}: {what}", path.display())]
    BadKey {
        path: PathBuf,
        key: String,
        what: String,
    },
}
