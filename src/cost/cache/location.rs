//! Where the cache files are: the user's cache directory, a file per state directory.

use std::path::Path;
use std::path::PathBuf;

/// The cache file of the log at `dir` (a state directory, or a fleet device's directory in
/// a mirror) under `cache_dir`: one file per directory, named by a hash of its canonical
/// path.
#[must_use]
pub fn file_for(cache_dir: &Path, dir: &Path) -> PathBuf {
    use sha2::Digest as _;
    let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let hash = sha2::Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    let first: [u8; 8] = hash[..8].try_into().expect("a SHA-256 has 32 bytes");
    cache_dir.join(format!("cost-{:016x}.bin", u64::from_be_bytes(first)))
}

/// The user's cache directory for edgewatt: `$XDG_CACHE_HOME/edgewatt`, else
/// `$HOME/.cache/edgewatt`; `None` without either.
#[must_use]
pub fn user_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("edgewatt"))
}
