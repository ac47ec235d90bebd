//! The layout ARCHITECTURE.md describes: module maps that name every module, the dependency
//! rule of `record`, and paths to scripts that exist; the fuzz crate's lockfile.

use std::path::Path;
use std::path::PathBuf;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The modules `src/lib.rs` declares.
fn crate_modules() -> Vec<String> {
    read(&root().join("src/lib.rs"))
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect()
}

#[test]
fn the_module_maps_name_every_module() {
    let modules = crate_modules();
    assert!(modules.len() >= 13, "{modules:?}");
    let lib = read(&root().join("src/lib.rs"));
    let map: String = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    let arch = read(&root().join("ARCHITECTURE.md"));
    for m in &modules {
        assert!(
            map.contains(&format!("[`{m}`]")),
            "src/lib.rs's module map does not name `{m}`"
        );
        assert!(
            arch.contains(&format!("| `{m}` |")),
            "ARCHITECTURE.md's module table has no row for `{m}`"
        );
    }
}

/// Whether a `mod NAME;` in `parent` is declared under `#[cfg(test)]`.
fn is_test_module(parent: &str, name: &str) -> bool {
    let lines: Vec<&str> = parent.lines().map(str::trim).collect();
    lines.iter().enumerate().any(|(i, l)| {
        (*l == format!("mod {name};") || *l == format!("pub mod {name};"))
            && i > 0
            && lines[i - 1] == "#[cfg(test)]"
    })
}

/// The file declaring the module that `file` holds (`a/b.rs` → `a.rs` or `a/mod.rs`).
fn parent_module(file: &Path) -> Option<PathBuf> {
    let dir = file.parent()?;
    let own_dir_root = file.file_name().is_some_and(|n| n == "mod.rs");
    let dir = if own_dir_root { dir.parent()? } else { dir };
    [dir.with_extension("rs"), dir.join("mod.rs")]
        .into_iter()
        .find(|p| p.is_file() && p != file)
}

/// Whether `file` holds test code only: a `tests` module, or a module declared under
/// `#[cfg(test)]`, or inside one.
fn is_test_file(file: &Path) -> bool {
    let stem = file.file_stem().unwrap().to_str().unwrap();
    let name = if stem == "mod" {
        file.parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
    } else {
        stem
    };
    if name == "tests" {
        return true;
    }
    match parent_module(file) {
        Some(parent) if parent.starts_with(root().join("src/record")) => {
            is_test_module(&read(&parent), name) || is_test_file(&parent)
        }
        _ => false,
    }
}

/// Lines of `file` that are not test code: none if [`is_test_file`], else the lines before
/// a `#[cfg(test)]` on a `mod` (inline tests come last in a file).
fn non_test_lines(file: &Path) -> Vec<(usize, String)> {
    if is_test_file(file) {
        return Vec::new();
    }
    let text = read(file);
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let next = lines.get(i + 1).map_or("", |l| l.trim());
        if line.trim() == "#[cfg(test)]"
            && (next.starts_with("mod ") || next.starts_with("pub mod "))
        {
            break;
        }
        out.push((i + 1, (*line).to_string()));
    }
    out
}

#[test]
fn record_imports_nothing_from_readers_store_or_derive() {
    let forbidden = ["sampler", "power", "derive", "store", "gguf"];
    let record_dir = root().join("src/record");
    let mut files = rust_files(&record_dir);
    files.push(root().join("src/record.rs"));
    let mut offences = Vec::new();
    for file in files.iter().filter(|f| f.is_file()) {
        for (line_no, line) in non_test_lines(file) {
            let code = line.split("//").next().unwrap_or("");
            for m in forbidden {
                // `crate::power`, and `super::power` from the module's own root file.
                let top = file.ends_with("src/record/mod.rs") || file.ends_with("src/record.rs");
                let hit = code.contains(&format!("crate::{m}::"))
                    || code.contains(&format!("crate::{m};"))
                    || (top && code.contains(&format!("super::{m}::")));
                if hit {
                    offences.push(format!(
                        "{}:{line_no}: {}",
                        file.strip_prefix(root()).unwrap().display(),
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "record/ must not depend on {forbidden:?}:\n{}",
        offences.join("\n")
    );
}

/// `scripts/…` and `compare/…` paths named in `text`.
fn tool_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for prefix in ["scripts/", "compare/"] {
        let mut rest = text;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().last();
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || "_./-".contains(c)))
                .unwrap_or(tail.len());
            let path = tail[..end].trim_end_matches(['.', '/']);
            // Skip `…/scripts/x` inside other paths (e.g. `/work/x/scripts/y`).
            if !before.is_some_and(|c| c.is_ascii_alphanumeric() || "_./-".contains(c))
                && path.len() > prefix.len()
            {
                out.push(path.to_string());
            }
            rest = &tail[end.max(1)..];
        }
    }
    out
}

#[test]
fn every_script_named_in_docs_and_tooling_exists() {
    let mut sources: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md", ".ci/run"]
        .iter()
        .map(|p| root().join(p))
        .collect();
    for dir in [
        "docs",
        "scripts",
        "scripts/lib",
        "compare",
        "compare/lib",
        "examples",
    ] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        // Text files only (docs/ also holds the report's example screenshot).
        let text = |p: &PathBuf| p.is_file() && p.extension().is_none_or(|e| e != "png");
        sources.extend(entries.map(|e| e.unwrap().path()).filter(text));
    }
    let mut missing = Vec::new();
    let mut seen = 0;
    for source in &sources {
        for path in tool_paths(&read(source)) {
            seen += 1;
            if !root().join(&path).exists() {
                missing.push(format!(
                    "{}: {path}",
                    source.strip_prefix(root()).unwrap().display()
                ));
            }
        }
    }
    assert!(
        seen > 10,
        "found only {seen} references: is the scan broken?"
    );
    assert!(
        missing.is_empty(),
        "named but absent:\n{}",
        missing.join("\n")
    );
    // The split: product tooling in scripts/, comparisons against reference tools in compare/.
    for moved in ["llcp_compare.py", "bench_vs_llama_cpp_python.sh"] {
        assert!(root().join("compare").join(moved).is_file(), "{moved}");
        assert!(!root().join("scripts").join(moved).exists(), "{moved}");
    }
}

#[test]
fn tool_paths_are_found_where_they_are_named() {
    assert_eq!(
        tool_paths("run `scripts/test.sh`, then compare/lib/x.sh. Not /a/scripts/b."),
        ["scripts/test.sh", "compare/lib/x.sh"]
    );
}

/// The fuzz crate (its own workspace, built by `cargo fuzz` alone) has a lockfile cargo can
/// read: a package listed twice (a merge of two lockfile edits) made every fuzz run fail
/// before it started, and no other build reads the file.
#[test]
fn the_fuzz_lockfile_lists_each_package_once() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/Cargo.lock"))
            .unwrap();
    let lock: toml::Value = toml::from_str(&text).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let packages = lock["package"].as_array().unwrap();
    for p in packages {
        let key = (p["name"].to_string(), p["version"].to_string());
        assert!(
            seen.insert(key.clone()),
            "fuzz/Cargo.lock lists {key:?} twice"
        );
    }
    assert!(
        packages
            .iter()
            .any(|p| p["name"].as_str() == Some("edgewatt")),
        "edgewatt itself is in the fuzz lockfile"
    );
}
