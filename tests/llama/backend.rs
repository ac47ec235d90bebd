//! The ggml CPU backends as the real binary loads them: found beside it without
//! LD_LIBRARY_PATH, the variant for this CPU reported by `edgewatt sensors`, and a missing,
//! damaged or absent backend an error naming the directory or file, in `sensors`, and in
//! the daemon, which keeps sampling.

use std::path::Path;
use std::path::PathBuf;
use std::process::Output;

use edgewatt::llama::backend::built_variants;
use edgewatt::llama::backend::file_name;

use crate::common::dump;
use crate::common::edgewatt;

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_edgewatt"))
        .parent()
        .unwrap()
        .to_owned()
}

/// `edgewatt sensors --seconds 0` with no power source found, `backend_dir` as
/// EDGEWATT_BACKEND_DIR, and no LD_LIBRARY_PATH (which cargo sets for tests).
fn sensors(backend_dir: Option<&Path>) -> (Output, String) {
    let mut c = edgewatt();
    c.env_remove("LD_LIBRARY_PATH")
        .args(["sensors", "--seconds", "0", "--vcio", "/nonexistent/vcio"])
        .args(["--vcgencmd", "/nonexistent/vcgencmd"])
        .args(["--powercap-root", "/nonexistent/powercap"]);
    if let Some(dir) = backend_dir {
        c.env("EDGEWATT_BACKEND_DIR", dir);
    }
    let out = c.output().unwrap();
    let first = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    (out, first)
}

/// The backends beside the binary, linked or copied into a fresh directory, minus `except`.
fn backends_except(except: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for v in built_variants() {
        if !except.contains(&v) {
            let (from, to) = (bin_dir().join(file_name(v)), dir.path().join(file_name(v)));
            std::fs::hard_link(&from, &to)
                .or_else(|_| std::fs::copy(&from, &to).map(drop))
                .unwrap();
        }
    }
    dir
}

/// `flag` in /proc/cpuinfo's flags of this machine.
fn cpu_has(flag: &str) -> bool {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap();
    info.lines()
        .find(|l| l.starts_with("flags") || l.starts_with("Features"))
        .is_some_and(|l| l.split_whitespace().any(|f| f == flag))
}

#[test]
fn sensors_shows_the_variant_loaded_from_beside_the_binary_without_ld_library_path() {
    let (out, line) = sensors(None);
    assert!(out.status.success(), "{out:?}");
    let rest = line
        .strip_prefix("llama   present  CPU backend ")
        .unwrap_or_else(|| panic!("{line}"));
    let variant = rest.split(' ').next().unwrap();
    assert!(built_variants().contains(&variant), "{line}");
    let dir = std::fs::canonicalize(bin_dir()).unwrap();
    assert!(
        rest.ends_with(&format!(
            ") from {}",
            dir.join(file_name(variant)).display()
        )),
        "{line}"
    );
    let features = &rest[rest.find('(').unwrap() + 1..rest.rfind(')').unwrap()];
    let features: Vec<&str> = features.split(' ').collect();
    // The kernels use what this CPU has: ggml's scoring took the best variant it runs.
    for (cpu_flag, feature) in [
        ("avx2", "AVX2"),
        ("fma", "FMA"),
        ("avx512f", "AVX512"),
        ("asimddp", "DOTPROD"),
    ] {
        assert_eq!(
            features.contains(&feature),
            cpu_has(cpu_flag),
            "{feature} in the kernels of {variant} vs {cpu_flag} in /proc/cpuinfo: {line}"
        );
    }
}

#[test]
fn a_missing_damaged_or_absent_backend_is_named() {
    let drop = built_variants()[0];
    let partial = backends_except(&[drop]);
    let (out, line) = sensors(Some(partial.path()));
    assert!(out.status.success(), "sensors goes on: {out:?}");
    assert!(
        line.starts_with(&format!(
            "llama   absent   inference failed in CPU backend loading: {}: CPU backend [\"{drop}\"] \
             missing",
            partial.path().display()
        )),
        "{line}"
    );

    let damaged = backends_except(&[]);
    let bad = damaged.path().join(file_name(drop));
    std::fs::remove_file(&bad).unwrap();
    std::fs::write(&bad, b"not an ELF file").unwrap();
    let (_, line) = sensors(Some(damaged.path()));
    let dir = std::fs::canonicalize(damaged.path()).unwrap();
    assert!(
        line.contains(&format!(
            "{}: cannot load this CPU backend: ",
            dir.join(file_name(drop)).display()
        )),
        "{line}"
    );

    let empty = tempfile::tempdir().unwrap();
    let (_, line) = sensors(Some(empty.path()));
    assert!(
        line.contains(&format!(
            "no ggml CPU backends (libggml-cpu-*.so) in {}:",
            empty.path().display()
        )),
        "{line}"
    );
}

#[test]
fn without_a_backend_the_daemon_logs_why_fails_the_runs_and_keeps_sampling() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("no-backends");
    std::fs::create_dir(&empty).unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "name = \"p\"\n[[workload]]\nname = \"llm\"\nmodel = \"{}\"\nprompt_tokens = [8]\n\
             gen_tokens = 2\nthreads = [1]\n",
            super::models().llama.display()
        ),
    )
    .unwrap();
    let state = dir.path().join("state");
    let out = edgewatt()
        .env("EDGEWATT_BACKEND_DIR", &empty)
        .args(["bench", "--config", "/dev/null", "--state-dir"])
        .arg(&state)
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a failed run: {out:?}");
    let records = dump(&state);
    let why = format!(
        "no ggml CPU backends (libggml-cpu-*.so) in {}:",
        empty.display()
    );
    let errors: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["event"] == "cpu_backend_error")
        .collect();
    assert_eq!(errors.len(), 1, "one at start");
    assert!(
        errors[0]["message"].as_str().unwrap().contains(&why),
        "{}",
        errors[0]
    );
    let runs: Vec<&serde_json::Value> = records.iter().filter(|r| r["type"] == "run").collect();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["ok"], false);
    let outcome = runs[0]["outcome"].to_string();
    assert!(outcome.contains("CPU backend loading"), "{outcome}");
    assert!(outcome.contains(&why), "{outcome}");
    assert!(
        records.iter().filter(|r| r["type"] == "sample").count() >= 2,
        "sampling went on"
    );
}
