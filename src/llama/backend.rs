//! ggml's CPU kernels, chosen at load time (worker side).
//!
//! llama.cpp is built with one `libggml-cpu-<variant>.so` per CPU generation: on aarch64
//! `armv8.0_1` (baseline) … `armv8.2_2` (dotprod + fp16: the Pi 5's Cortex-A76) …
//! `armv9.2_2`; on x86-64 `x64` … `haswell` (AVX2) … `zen4`, `sapphirerapids`. Each
//! library scores how well it fits the running CPU and ggml loads the best. The worker
//! loads them before `llama_backend_init` (which would otherwise search the build
//! directory, the binary's directory and the current directory), from one directory:
//!
//! 1. `$EDGEWATT_BACKEND_DIR`, if set;
//! 2. else the binary's directory (`cargo build`: `target/<profile>/`, see build.rs),
//!    or `../lib/edgewatt` beside it (the .deb: `/usr/lib/edgewatt/`), the first that
//!    holds any `libggml-cpu-*.so`.
//!
//! Every variant the binary was built with must be there and load: ggml skips a library
//! it cannot load without a word, and would then pick a slower variant (or none). Which
//! variant ran is reported as [`CpuBackend`]: runs on different variants are not
//! comparable. The best is chosen as ggml chooses it (each library's own score of the
//! running CPU), but for the variants [`NEVER_LOADED`].

use std::ffi::c_void;
use std::ffi::CStr;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::path::PathBuf;

use serde::Deserialize;
use serde::Serialize;

/// Overrides where the CPU backends are loaded from.
pub const BACKEND_DIR_ENV: &str = "EDGEWATT_BACKEND_DIR";
/// Names the variant to load instead of ggml's choice: `sapphirerapids` on a bare-metal AMX
/// host that keeps its tile registers, or `armv8.0_1` on a Pi 5 to measure the baseline
/// kernels. It must be one this binary was built with that can run on this CPU.
pub const VARIANT_ENV: &str = "EDGEWATT_CPU_VARIANT";
/// Where the .deb puts the libraries, relative to the binary's directory.
pub const PACKAGED_LIB_DIR: &str = "../lib/edgewatt";
const PREFIX: &str = "libggml-cpu-";

/// Variants never loaded, though the CPU says it runs them. `sapphirerapids` is the one
/// with AMX kernels, whose tile registers a virtualised or sandboxed x86 host may not keep
/// across a context switch: its Q4/Q8 matmul then dies with SIGILL at `tileloadd` (seen on
/// this project's build machines, a Xeon with AMX, on every SmolLM2 run). `zen4` (AVX-512,
/// VNNI, BF16) runs there instead. (The Pi's variants have no such instructions.)
pub const NEVER_LOADED: &[&str] = &["sapphirerapids"];
const SUFFIX: &str = ".so";

/// The CPU variants this binary was built with (build.rs), e.g. `armv8.0_1`, `zen4`.
#[must_use]
pub fn built_variants() -> Vec<&'static str> {
    env!("EDGEWATT_CPU_VARIANTS").split(',').collect()
}

/// File name of a variant's library.
#[must_use]
pub fn file_name(variant: &str) -> String {
    format!("{PREFIX}{variant}{SUFFIX}")
}

/// The variant named by a backend library's file name.
fn variant_of(path: &Path) -> Option<&str> {
    let name = path.file_name()?.to_str()?;
    name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)
}

/// The ggml CPU backend a worker loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuBackend {
    /// The variant chosen for this CPU, e.g. `armv8.2_2` or `zen4`.
    pub variant: String,
    /// The library loaded.
    pub path: PathBuf,
    /// CPU features its kernels use (`DOTPROD`, `AVX2`, `SVE_CNT=16`, …), as ggml reports them.
    pub features: Vec<String>,
}

impl std::fmt::Display for CpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) from {}",
            self.variant,
            self.features.join(" "),
            self.path.display()
        )
    }
}

/// Why no CPU backend could be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    #[error(
        "no ggml CPU backends (libggml-cpu-*.so) in {searched}: install them with the binary \
         (target/<profile>/ after cargo build, /usr/lib/edgewatt/ from the .deb) or set \
         EDGEWATT_BACKEND_DIR",
        searched = .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" or ")
    )]
    NotFound { searched: Vec<PathBuf> },
    #[error(
        "{dir}: CPU backend {missing:?} missing (this binary was built with {built:?}); \
         reinstall the backends built with it"
    )]
    Missing {
        dir: PathBuf,
        missing: Vec<String>,
        built: Vec<String>,
    },
    #[error("{path}: cannot load this CPU backend: {message}")]
    Unloadable { path: PathBuf, message: String },
    #[error("{dir}: ggml loaded no CPU backend from it (none fits this CPU?)")]
    NoneChosen { dir: PathBuf },
    #[error(
        "{VARIANT_ENV}={variant}: {why}; unset it, or name one of {usable:?} (the variants \
         built that this CPU runs)"
    )]
    Forced {
        variant: String,
        why: &'static str,
        usable: Vec<String>,
    },
}

/// The directories searched, in order: `override_dir` alone if given, else the binary's
/// directory and [`PACKAGED_LIB_DIR`] beside it.
#[must_use]
pub fn search_dirs(exe: &Path, override_dir: Option<PathBuf>) -> Vec<PathBuf> {
    if let Some(dir) = override_dir {
        return vec![dir];
    }
    let bin_dir = exe.parent().unwrap_or(Path::new("/"));
    vec![bin_dir.to_owned(), bin_dir.join(PACKAGED_LIB_DIR)]
}

fn holds_backends(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| variant_of(&e.path()).is_some())
    })
}

/// The first of `dirs` holding any CPU backend, checked to hold every one of `built`.
pub fn find_dir(dirs: &[PathBuf], built: &[&str]) -> Result<PathBuf, BackendError> {
    let dir = dirs
        .iter()
        .find(|d| holds_backends(d))
        .ok_or_else(|| BackendError::NotFound {
            searched: dirs.to_vec(),
        })?;
    let missing: Vec<String> = built
        .iter()
        .filter(|v| !dir.join(file_name(v)).is_file())
        .map(|v| (*v).to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(BackendError::Missing {
            dir: dir.clone(),
            missing,
            built: built.iter().map(|v| (*v).to_owned()).collect(),
        });
    }
    Ok(dir.clone())
}

fn c_path(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap_or_else(|_| {
        CString::new(path.to_string_lossy().replace('\0', "?")).expect("NULs replaced")
    })
}

fn dl_error() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string valid until the next dl call.
    let msg = unsafe { libc::dlerror() };
    if msg.is_null() {
        "unknown dlopen error".to_owned()
    } else {
        unsafe { CStr::from_ptr(msg) }
            .to_string_lossy()
            .into_owned()
    }
}

/// Opens and closes each library as ggml will, so one that cannot load is an error
/// naming it rather than a variant ggml skips; and asks each, while open, how well it fits
/// this CPU: its own `ggml_backend_score`, as ggml asks it (0: it cannot run here, or has
/// no score). One open per library.
pub fn scores<'a>(dir: &Path, built: &[&'a str]) -> Result<Vec<(&'a str, i32)>, BackendError> {
    let mut out = Vec::with_capacity(built.len());
    for &v in built {
        let path = dir.join(file_name(v));
        let c = c_path(&path);
        // SAFETY: dlopen of a ggml backend library; its initialisers are the ones ggml
        // itself runs when it probes the library (they use no variant instructions).
        let handle = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            return Err(BackendError::Unloadable {
                path,
                message: dl_error(),
            });
        }
        // SAFETY: `handle` is open; the name is NUL-terminated.
        let sym = unsafe { libc::dlsym(handle, c"ggml_backend_score".as_ptr()) };
        let score = if sym.is_null() {
            0
        } else {
            // SAFETY: ggml_backend_score_t: int (*)(void) (ggml-backend-impl.h); it reads
            // the CPU's features and uses no variant instructions (ggml calls it before
            // choosing).
            let score: unsafe extern "C" fn() -> libc::c_int = unsafe { std::mem::transmute(sym) };
            unsafe { score() }
        };
        // SAFETY: `handle` came from dlopen above and is not used afterwards.
        unsafe { libc::dlclose(handle) };
        out.push((v, score));
    }
    Ok(out)
}

/// Finds the directory, checks it, loads the best variant ([`best_variant`]: ggml's
/// choice but for [`NEVER_LOADED`]), and says which.
/// Call once per process, before `LlamaBackend::init`.
pub fn load() -> Result<CpuBackend, BackendError> {
    let exe = std::env::current_exe().unwrap_or_default();
    let dirs = search_dirs(&exe, std::env::var_os(BACKEND_DIR_ENV).map(PathBuf::from));
    let built = built_variants();
    let dir = find_dir(&dirs, &built)?;
    // `/usr/bin/../lib/edgewatt` → `/usr/lib/edgewatt` in what is reported.
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let forced = std::env::var(VARIANT_ENV).ok().filter(|v| !v.is_empty());
    if let Some(best) = chosen_variant(&scores(&dir, &built)?, forced.as_deref())? {
        let c = c_path(&dir.join(file_name(best)));
        // SAFETY: a NUL-terminated path; ggml loads and registers the library (or returns
        // NULL, then nothing is loaded, told below).
        unsafe { llama_cpp_sys_2::ggml_backend_load(c.as_ptr()) };
    }
    loaded().ok_or(BackendError::NoneChosen { dir })
}

/// The variant to load of `scores`: `forced` ([`VARIANT_ENV`]) if set, which must be among
/// them and able to run here (a score above 0), [`NEVER_LOADED`] or not; else
/// [`best_variant`].
pub fn chosen_variant<'a>(
    scores: &[(&'a str, i32)],
    forced: Option<&str>,
) -> Result<Option<&'a str>, BackendError> {
    let Some(name) = forced else {
        return Ok(best_variant(scores));
    };
    let why = match scores.iter().find(|(v, _)| *v == name) {
        Some(&(v, score)) if score > 0 => return Ok(Some(v)),
        Some(_) => "this CPU cannot run it (its library scores it 0 here)",
        None => "this binary was not built with it",
    };
    Err(BackendError::Forced {
        variant: name.to_owned(),
        why,
        usable: scores
            .iter()
            .filter(|(_, score)| *score > 0)
            .map(|(v, _)| (*v).to_owned())
            .collect(),
    })
}

/// The variant ggml would load of `scores` (each variant's own score of this CPU, 0: it
/// cannot run here): the highest, the first of equals, none of [`NEVER_LOADED`].
#[must_use]
pub fn best_variant<'a>(scores: &[(&'a str, i32)]) -> Option<&'a str> {
    let mut best: Option<(&str, i32)> = None;
    for &(v, score) in scores {
        if score > 0 && !NEVER_LOADED.contains(&v) && best.is_none_or(|(_, b)| score > b) {
            best = Some((v, score));
        }
    }
    best.map(|(v, _)| v)
}

/// The CPU backend ggml has registered, if any: its library (from the address of one of
/// its functions) and its features.
fn loaded() -> Option<CpuBackend> {
    // SAFETY: registry lookups by NUL-terminated name; NULL when absent.
    let reg = unsafe { llama_cpp_sys_2::ggml_backend_reg_by_name(c"CPU".as_ptr()) };
    if reg.is_null() {
        return None;
    }
    // SAFETY: as above; the CPU backend exports this name with this signature.
    let get = unsafe {
        llama_cpp_sys_2::ggml_backend_reg_get_proc_address(
            reg,
            c"ggml_backend_get_features".as_ptr(),
        )
    };
    if get.is_null() {
        return None;
    }
    let path = library_of(get)?;
    // SAFETY: `get` is ggml_backend_get_features_t of this registry (ggml-backend.h).
    let get: unsafe extern "C" fn(
        llama_cpp_sys_2::ggml_backend_reg_t,
    ) -> *mut llama_cpp_sys_2::ggml_backend_feature = unsafe { std::mem::transmute(get) };
    let mut features = Vec::new();
    // SAFETY: an array of name/value C strings ended by a NULL name, kept by ggml.
    unsafe {
        let mut f = get(reg);
        while !f.is_null() && !(*f).name.is_null() {
            let name = CStr::from_ptr((*f).name).to_string_lossy();
            let value = if (*f).value.is_null() {
                "1".into()
            } else {
                CStr::from_ptr((*f).value).to_string_lossy()
            };
            features.push(if value == "1" {
                name.into_owned()
            } else {
                format!("{name}={value}")
            });
            f = f.add(1);
        }
    }
    let variant = variant_of(&path).map_or_else(
        || {
            path.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        },
        str::to_owned,
    );
    Some(CpuBackend {
        variant,
        path,
        features,
    })
}

/// The shared object holding `addr`.
fn library_of(addr: *mut c_void) -> Option<PathBuf> {
    // SAFETY: dladdr fills `info` for an address inside a loaded object.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    if unsafe { libc::dladdr(addr, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    let name = unsafe { CStr::from_ptr(info.dli_fname) };
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes())))
}

#[cfg(test)]
mod tests;
