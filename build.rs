//! With the `llama` feature, llama.cpp is linked as shared libraries and its CPU kernels
//! are loaded at run time from one `libggml-cpu-<variant>.so` per CPU generation
//! (llama-cpp-sys-2's `dynamic-backends`). This script
//!
//! - puts those libraries next to the binaries (`target/<profile>/`, `deps/`, `examples/`),
//!   replacing older copies, so a binary run from there uses the libraries it was built
//!   with (the sys crate links its own only when none are there yet, leaving stale ones);
//! - bakes the list of variants built into the binary (`EDGEWATT_CPU_VARIANTS`): the
//!   worker refuses to start when one of them is missing or cannot be loaded, rather than
//!   let ggml fall back silently to a slower one;
//! - sets the run path, so the binary finds the libraries beside it (cargo layout) or in
//!   `../lib/edgewatt` (the .deb: /usr/bin/edgewatt, /usr/lib/edgewatt/).

use std::env;
use std::fs;
use std::path::Path;
use std::path::PathBuf;

/// Where the .deb installs the libraries, relative to the binary's directory.
const PACKAGED_LIB_DIR: &str = "../lib/edgewatt";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if env::var_os("CARGO_FEATURE_LLAMA").is_none() {
        return;
    }
    // Exported by llama-cpp-sys-2 (`links = "llama"`) with `dynamic-backends`.
    let backends = PathBuf::from(
        env::var("DEP_LLAMA_BACKENDS_DIR")
            .expect("DEP_LLAMA_BACKENDS_DIR unset: llama-cpp-sys-2 needs `dynamic-backends`"),
    );
    let libs = backends
        .parent()
        .expect("the backends directory has a parent")
        .join("lib");
    println!("cargo:rerun-if-changed={}", backends.display());
    println!("cargo:rerun-if-changed={}", libs.display());

    let variants = cpu_variants(&backends);
    assert!(
        !variants.is_empty(),
        "no libggml-cpu-*.so in {}: llama.cpp was built without its CPU variants",
        backends.display()
    );
    println!(
        "cargo:rustc-env=EDGEWATT_CPU_VARIANTS={}",
        variants.join(",")
    );

    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    // OUT_DIR is <target dir>/<profile>/build/<crate>-<hash>/out.
    let profile_dir = out.ancestors().nth(3).expect("OUT_DIR is deep enough");
    let mut files = shared_objects(&backends);
    files.extend(shared_objects(&libs));
    for dir in [
        profile_dir.to_path_buf(),
        profile_dir.join("deps"),
        profile_dir.join("examples"),
    ] {
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for file in &files {
            place(file, &dir);
        }
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN:$ORIGIN/{PACKAGED_LIB_DIR}");
}

/// `armv8.2_2` for `libggml-cpu-armv8.2_2.so`, sorted.
fn cpu_variants(backends: &Path) -> Vec<String> {
    let mut names: Vec<String> = read_dir(backends)
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?;
            Some(
                name.strip_prefix("libggml-cpu-")?
                    .strip_suffix(".so")?
                    .to_owned(),
            )
        })
        .collect();
    names.sort();
    names
}

/// The `*.so` and `*.so.N…` files and symlinks of `dir`.
fn shared_objects(dir: &Path) -> Vec<PathBuf> {
    read_dir(dir)
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".so") || n.contains(".so."))
        })
        .collect()
}

fn read_dir(dir: &Path) -> impl Iterator<Item = PathBuf> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
}

/// Puts `file` into `dir` under its name, replacing what is there: a symlink is
/// recreated, a file hard-linked (copied across file systems).
fn place(file: &Path, dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    let name = file.file_name().expect("file name");
    let dest = dir.join(name);
    let meta = fs::symlink_metadata(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let same = fs::symlink_metadata(&dest).is_ok_and(|d| {
        if meta.file_type().is_symlink() {
            fs::read_link(&dest).ok() == fs::read_link(file).ok()
        } else {
            (d.dev(), d.ino()) == (meta.dev(), meta.ino())
        }
    });
    if same {
        return;
    }
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    let _ = fs::remove_file(&tmp);
    let made = if meta.file_type().is_symlink() {
        fs::read_link(file).and_then(|to| std::os::unix::fs::symlink(to, &tmp))
    } else {
        fs::hard_link(file, &tmp).or_else(|_| fs::copy(file, &tmp).map(drop))
    };
    made.and_then(|()| fs::rename(&tmp, &dest))
        .unwrap_or_else(|e| panic!("{} -> {}: {e}", file.display(), dest.display()));
}
