//! `edgewatt quantize` through llama.cpp's quantizer: a tiny generated model and the real
//! SmolLM2 become F16, Q8_0, Q4_x and 2–3-bit variants that load and generate; bad input
//! is refused before llama.cpp runs, naming the file or the type.

use edgewatt::gguf::FileType;
use edgewatt::gguf::GgufFile;
use edgewatt::llama::file_type;
use edgewatt::llama::quantize;
use edgewatt::llama::QuantizeError;
use edgewatt::llama::QuantizeOptions;

use super::*;

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("quantize")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tiny F16 llama whose rows (256, 512) fit the k-quants' 256-element blocks.
fn tiny_f16(dir: &Path) -> PathBuf {
    let path = dir.join("tiny-f16.gguf");
    let spec = TextModelSpec {
        n_embd: 256,
        n_ff: 512,
        ..TextModelSpec::default()
    };
    tiny_llama(&spec).write_to(&path).unwrap();
    path
}

const OPTS: QuantizeOptions = QuantizeOptions {
    threads: 2,
    force: false,
    allow_requantize: false,
};

fn ty(name: &str) -> &'static FileType {
    file_type(name).unwrap()
}

/// Loads `model` in the worker and generates: the structure of a good run.
fn generates(model: &Path, prompt_tokens: u32, gen_tokens: u32) -> Run {
    let mut job = Job::text(model);
    job.prompt = Prompt::Corpus {
        path: None,
        tokens: prompt_tokens,
    };
    job.gen_tokens = gen_tokens;
    let run = supervisor().run(&job, REAL_MODEL_LIMIT);
    assert_ok(&run);
    assert_eq!(run.prompt_tokens, prompt_tokens);
    run
}

#[test]
fn a_tiny_model_becomes_each_type_and_still_runs() {
    let dir = scratch("tiny");
    let input = tiny_f16(&dir);
    let input_bytes = std::fs::metadata(&input).unwrap().len();
    // (type, the tensor type of blk.0.attn_q.weight, at most this share of the F16 size)
    for (name, tensor_type, share) in [
        ("Q8_0", "Q8_0", 0.60),
        ("Q4_0", "Q4_0", 0.40),
        ("Q4_K_M", "Q4_K", 0.45),
        ("Q3_K_S", "Q3_K", 0.40),
        ("Q2_K", "Q2_K", 0.40),
    ] {
        let out = dir.join(format!("tiny-{name}.gguf"));
        let made = quantize(&input, &out, ty(name), &OPTS).unwrap();
        assert_eq!((made.from.as_str(), made.to.name), ("F16", name));
        assert_eq!(made.input_bytes, input_bytes);
        let file = GgufFile::open(&out).unwrap();
        assert_eq!(
            file.get_u64("general.file_type"),
            Some(u64::from(ty(name).code))
        );
        let q = file.tensor("blk.0.attn_q.weight").unwrap().ggml_type;
        assert_eq!(q.layout().unwrap().0, tensor_type, "{name}");
        assert_eq!(made.output_bytes, file.file_size_bytes);
        assert!(
            (made.output_bytes as f64) < share * input_bytes as f64,
            "{name}: {} of {input_bytes} bytes",
            made.output_bytes
        );
        let run = generates(&out, 24, 4);
        assert_eq!(run.generated_tokens, 4);
        assert_eq!(run.model.as_ref().unwrap().quantization, name);
    }
    // Nothing but the models: no partial files left behind.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.starts_with("tiny-")), "{names:?}");
}

#[test]
fn bad_requests_are_refused_before_llama_runs() {
    let dir = scratch("refused");
    let input = tiny_f16(&dir);
    let out = dir.join("out.gguf");
    let e = quantize(&dir.join("absent.gguf"), &out, ty("Q8_0"), &OPTS).unwrap_err();
    assert!(e.to_string().contains("absent.gguf: no such file"), "{e}");
    let e = file_type("Q9_9").unwrap_err();
    assert!(matches!(e, QuantizeError::UnknownType { .. }));
    assert!(
        e.to_string().contains("valid types are F32, F16, Q4_0"),
        "{e}"
    );
    assert!(
        !e.to_string().contains("IQ2_XXS"),
        "imatrix types are not offered: {e}"
    );
    let e = quantize(&input, &out, ty("IQ2_XXS"), &OPTS).unwrap_err();
    assert!(
        e.to_string()
            .contains("type IQ2_XXS needs an importance matrix"),
        "{e}"
    );
    let e = quantize(&input, &input, ty("Q8_0"), &OPTS).unwrap_err();
    assert!(matches!(e, QuantizeError::SameFile { .. }), "{e}");
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a model").unwrap();
    let e = quantize(&text, &out, ty("Q8_0"), &OPTS).unwrap_err();
    assert!(e.to_string().contains("not a GGUF file"), "{e}");
    // An existing output needs --force.
    quantize(&input, &out, ty("Q8_0"), &OPTS).unwrap();
    let e = quantize(&input, &out, ty("Q4_0"), &OPTS).unwrap_err();
    assert!(
        e.to_string().contains("out.gguf: exists: pass --force"),
        "{e}"
    );
    let forced = QuantizeOptions {
        force: true,
        ..OPTS
    };
    quantize(&input, &out, ty("Q4_0"), &forced).unwrap();
    let file = GgufFile::open(&out).unwrap();
    assert_eq!(file.get_u64("general.file_type"), Some(2));
    // A quantized input needs --allow-requantize.
    let e = quantize(&out, &dir.join("again.gguf"), ty("F16"), &OPTS).unwrap_err();
    assert!(e.to_string().contains("already quantized (Q4_0)"), "{e}");
    assert!(!dir.join("again.gguf").exists());
}

#[test]
fn what_llama_cpp_refuses_is_reported_with_its_log() {
    let dir = scratch("llama-refuses");
    // A GGUF our reader accepts, of an architecture llama.cpp does not know.
    let input = dir.join("unknown-arch.gguf");
    let mut w = tiny_llama(&TextModelSpec::default());
    w.kv(
        "general.architecture",
        edgewatt::gguf::Value::Str("edgewatt-none".into()),
    );
    w.write_to(&input).unwrap();
    let out = dir.join("out.gguf");
    let e = quantize(&input, &out, ty("Q8_0"), &OPTS).unwrap_err();
    assert!(matches!(e, QuantizeError::Failed { to: "Q8_0", .. }), "{e}");
    assert!(
        e.to_string().contains("could not quantize it to Q8_0"),
        "{e}"
    );
    assert!(
        e.to_string().contains("edgewatt-none"),
        "the log names the architecture: {e}"
    );
    std::fs::remove_file(&input).unwrap();
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "no partial file"
    );
}

#[test]
fn the_command_line_reports_sizes_and_refuses_clearly() {
    let dir = scratch("cli");
    let input = tiny_f16(&dir);
    let out = dir.join("q8.gguf");
    let edgewatt = || crate::common::edgewatt();
    let ok = edgewatt()
        .args(["quantize", "--type", "q8_0", "--threads", "2"])
        .args([&input, &out])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        stdout.contains("(F16, ") && stdout.contains("q8.gguf (Q8_0, "),
        "{stdout}"
    );
    // The worker's CPU backend, from beside the binary: not ggml's own search, which took
    // sapphirerapids from the build directory (and, installed, would not look in
    // /usr/lib/edgewatt).
    let stderr = String::from_utf8_lossy(&ok.stderr);
    // Canonical, as the backend's directory is told (target/ may be a link).
    let bin = std::fs::canonicalize(env!("CARGO_BIN_EXE_edgewatt")).unwrap();
    let bin_dir = bin.parent().unwrap();
    let from = format!("loaded CPU backend from {}/libggml-cpu-", bin_dir.display());
    assert!(stderr.contains(&from), "{from}: {stderr}");
    assert!(!stderr.contains("sapphirerapids"), "{stderr}");
    for (args, want) in [
        (vec!["--type", "Q8_0"], "exists: pass --force"),
        (vec!["--type", "Q7"], "unknown type \"Q7\": valid types are"),
        (vec!["--type", "IQ1_S"], "needs an importance matrix"),
    ] {
        let bad = edgewatt()
            .arg("quantize")
            .args(&args)
            .args([&input, &out])
            .output()
            .unwrap();
        assert_eq!(bad.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&bad.stderr);
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
    let help = edgewatt().args(["quantize", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--allow-requantize") && help.contains("importance matrix"),
        "{help}"
    );
}

/// SmolLM2 Q4_1 → F16 (requantized) → Q8_0, Q4_1 and Q3_K_S, Q2_K: the sizes, and each
/// loads and generates in the worker.
#[test]
fn smollm2_becomes_an_f16_base_and_compressed_variants_that_generate() {
    let Some(real) = super::smollm2::smollm2_or_skip() else {
        return;
    };
    let dir = scratch("smollm2");
    let f16 = dir.join("smollm2-f16.gguf");
    let e = quantize(real, &f16, ty("F16"), &OPTS).unwrap_err();
    assert!(e.to_string().contains("already quantized (Q4_1)"), "{e}");
    let requant = QuantizeOptions {
        allow_requantize: true,
        ..OPTS
    };
    let made = quantize(real, &f16, ty("F16"), &requant).unwrap();
    // 134.5 M parameters at 2 bytes, plus the header.
    assert!(
        (270_000_000..272_000_000).contains(&made.output_bytes),
        "{}",
        made.output_bytes
    );
    let mut sizes = vec![("F16".to_string(), made.output_bytes)];
    for name in ["Q8_0", "Q4_1", "Q3_K_S", "Q2_K"] {
        let out = dir.join(format!("smollm2-{name}.gguf"));
        let made = quantize(&f16, &out, ty(name), &OPTS).unwrap();
        sizes.push((name.to_string(), made.output_bytes));
        let run = generates(&out, 32, 16);
        assert!(run.generated_tokens >= 1, "{name}");
        eprintln!(
            "smollm2 {name}: {} bytes, output {:?}",
            made.output_bytes, run.output
        );
        assert_eq!(run.model.as_ref().unwrap().quantization, name);
    }
    let run = generates(&f16, 32, 16);
    eprintln!("smollm2 F16 (from Q4_1): output {:?}", run.output);
    let run = generates(real, 32, 16);
    eprintln!("smollm2 Q4_1 original: output {:?}", run.output);
    eprintln!("smollm2 sizes: {sizes:?}");
    let size = |n: &str| sizes.iter().find(|(t, _)| t == n).unwrap().1;
    assert!(size("Q8_0") < size("F16") * 55 / 100);
    // Q4_1 from the F16 made of the Q4_1 original is the original's size again.
    let original = std::fs::metadata(real).unwrap().len();
    assert!(
        size("Q4_1").abs_diff(original) < original / 100,
        "{sizes:?}"
    );
    // SmolLM2's 576-wide rows do not fit the k-quants' 256 blocks: those tensors fall
    // back to Q4_0, so its 2–3-bit files are only a little smaller than Q4_1.
    assert!(
        size("Q2_K") <= size("Q3_K_S") && size("Q3_K_S") < size("Q4_1"),
        "{sizes:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
