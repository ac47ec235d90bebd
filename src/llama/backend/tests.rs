use std::path::Path;
use std::path::PathBuf;

use super::*;

/// The real backend libraries (beside this test binary, see build.rs) linked or copied
/// into a fresh directory, minus `except`.
fn copy_of_backends(except: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let real = built_dir();
    for v in built_variants() {
        if !except.contains(&v) {
            let name = file_name(v);
            let (from, to) = (real.join(&name), dir.path().join(&name));
            std::fs::hard_link(&from, &to)
                .or_else(|_| std::fs::copy(&from, &to).map(drop))
                .unwrap();
        }
    }
    dir
}

/// Where build.rs put the libraries for this test binary (target/<profile>/deps/).
fn built_dir() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned()
}

/// packaging/cpu-variants.txt: the variants of `arch` (Debian name).
fn listed_variants(arch: &str) -> Vec<&'static str> {
    include_str!("../../../packaging/cpu-variants.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let mut cols = l.split_whitespace();
            (cols.next() == Some(arch)).then(|| cols.next().expect("a variant column"))
        })
        .collect()
}

#[test]
fn the_variants_built_are_ggml_s_list_for_this_architecture() {
    let built = built_variants();
    let want = listed_variants(if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "amd64"
    });
    assert!(want.len() >= 8, "{want:?}");
    assert_eq!(built, want);
    assert_eq!(file_name("armv8.2_2"), "libggml-cpu-armv8.2_2.so");
    assert_eq!(
        variant_of(Path::new("/x/libggml-cpu-armv8.2_2.so")),
        Some("armv8.2_2")
    );
    assert_eq!(variant_of(Path::new("/x/libggml-base.so")), None);
}

#[test]
fn the_binary_s_directory_then_the_packaged_lib_directory_are_searched() {
    assert_eq!(
        search_dirs(Path::new("/usr/bin/edgewatt"), None),
        [
            PathBuf::from("/usr/bin"),
            PathBuf::from("/usr/bin/../lib/edgewatt")
        ]
    );
    assert_eq!(
        search_dirs(
            Path::new("/usr/bin/edgewatt"),
            Some(PathBuf::from("/opt/ggml"))
        ),
        [PathBuf::from("/opt/ggml")]
    );
}

#[test]
fn the_first_directory_with_backends_is_used_and_must_hold_every_variant() {
    let empty = tempfile::tempdir().unwrap();
    let full = copy_of_backends(&[]);
    let dirs = [empty.path().to_owned(), full.path().to_owned()];
    assert_eq!(
        find_dir(&dirs, &built_variants()).unwrap(),
        full.path().to_owned()
    );

    let drop = built_variants()[1];
    let partial = copy_of_backends(&[drop]);
    let dirs = [partial.path().to_owned(), full.path().to_owned()];
    let err = find_dir(&dirs, &built_variants()).unwrap_err();
    assert_eq!(
        err,
        BackendError::Missing {
            dir: partial.path().to_owned(),
            missing: vec![drop.to_owned()],
            built: built_variants().iter().map(|v| (*v).to_owned()).collect(),
        }
    );
    let text = err.to_string();
    assert!(text.starts_with(&format!("{}: CPU backend", partial.path().display())));
    assert!(text.contains(&format!("[\"{drop}\"] missing")), "{text}");
}

#[test]
fn no_backends_anywhere_names_every_directory_searched() {
    let a = tempfile::tempdir().unwrap();
    let b = a.path().join("absent");
    let err = find_dir(&[a.path().to_owned(), b.clone()], &built_variants()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "no ggml CPU backends (libggml-cpu-*.so) in {} or {}:",
            a.path().display(),
            b.display()
        )),
        "{text}"
    );
    assert!(text.contains("EDGEWATT_BACKEND_DIR"), "{text}");
}

#[test]
fn the_built_backends_all_load_and_a_damaged_one_is_named() {
    let built = built_variants();
    let scored = scores(&built_dir(), &built).unwrap();
    assert_eq!(scored.iter().map(|&(v, _)| v).collect::<Vec<_>>(), built);

    let dir = copy_of_backends(&[built[0]]);
    let bad = dir.path().join(file_name(built[0]));
    std::fs::write(&bad, b"\x7fELF truncated").unwrap();
    let err = scores(dir.path(), &built).unwrap_err();
    let BackendError::Unloadable { path, message } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(path, &bad);
    assert!(message.contains(bad.to_str().unwrap()), "{message}");
    assert!(
        err.to_string().starts_with(&format!(
            "{}: cannot load this CPU backend: ",
            bad.display()
        )),
        "{err}"
    );
}

#[test]
fn a_backend_shows_variant_features_and_library() {
    let b = CpuBackend {
        variant: "armv8.2_2".into(),
        path: "/usr/lib/edgewatt/libggml-cpu-armv8.2_2.so".into(),
        features: vec!["NEON".into(), "DOTPROD".into(), "FP16_VA".into()],
    };
    assert_eq!(
        b.to_string(),
        "armv8.2_2 (NEON DOTPROD FP16_VA) from /usr/lib/edgewatt/libggml-cpu-armv8.2_2.so"
    );
}

/// The highest score wins, the first of equals, and a variant never loaded is passed over
/// however well it scores (the AMX variant dies with SIGILL where its tiles are not kept).
#[test]
fn the_best_variant_is_ggmls_choice_but_never_the_amx_one() {
    let scores = [
        ("x64", 1),
        ("haswell", 40),
        ("zen4", 120),
        ("icelake", 120),
        ("sapphirerapids", 400),
        ("armv9.2_2", 0),
    ];
    assert_eq!(best_variant(&scores), Some("zen4"));
    assert_eq!(best_variant(&[("sapphirerapids", 400)]), None);
    assert_eq!(best_variant(&[("x64", 0)]), None);
    assert_eq!(best_variant(&[]), None);
}

/// A variant named in `EDGEWATT_CPU_VARIANT` is loaded instead, the AMX one too, if it
/// was built and can run here; else an error naming it and the ones that can.
#[test]
fn a_named_variant_overrides_the_choice_if_it_can_run_here() {
    let scores = [
        ("x64", 1),
        ("zen4", 120),
        ("sapphirerapids", 400),
        ("armv9.2_2", 0),
    ];
    assert_eq!(chosen_variant(&scores, None).unwrap(), Some("zen4"));
    assert_eq!(
        chosen_variant(&scores, Some("sapphirerapids")).unwrap(),
        Some("sapphirerapids")
    );
    assert_eq!(chosen_variant(&scores, Some("x64")).unwrap(), Some("x64"));
    let e = chosen_variant(&scores, Some("armv9.2_2"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "EDGEWATT_CPU_VARIANT=armv9.2_2: this CPU cannot run it (its library scores it 0 \
         here); unset it, or name one of [\"x64\", \"zen4\", \"sapphirerapids\"] (the \
         variants built that this CPU runs)"
    );
    let e = chosen_variant(&scores, Some("zen5"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("EDGEWATT_CPU_VARIANT=zen5: this binary was not built with it;"),
        "{e}"
    );
}

/// On x86-64, the variant chosen from the real libraries is never the AMX one.
#[cfg(target_arch = "x86_64")]
#[test]
fn the_amx_variant_is_not_loaded_here() {
    let dir = built_dir();
    let built = built_variants();
    assert!(built.contains(&"sapphirerapids"), "{built:?}");
    let best = best_variant(&scores(&dir, &built).unwrap()).expect("a variant for this x86-64 CPU");
    assert_ne!(best, "sapphirerapids");
}
