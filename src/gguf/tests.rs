use std::path::Path;

use super::read::sha256_file;
use super::*;

fn tiny_file() -> GgufWriter {
    let mut w = GgufWriter::new();
    w.kv("general.architecture", Value::Str("t".into())).tensor(
        "x",
        &[2],
        TensorData::F32(vec![1.0, -2.0]),
    );
    w
}

#[test]
fn a_tiny_file_has_the_bytes_of_the_spec() {
    let b = tiny_file().to_bytes();
    let mut want = Vec::new();
    want.extend_from_slice(b"GGUF");
    want.extend_from_slice(&[3, 0, 0, 0]); // version
    want.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]); // tensors
    want.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]); // kvs
    want.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0]);
    want.extend_from_slice(b"general.architecture");
    want.extend_from_slice(&[8, 0, 0, 0]); // string
    want.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, b't']);
    want.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, b'x']);
    want.extend_from_slice(&[1, 0, 0, 0]); // n_dims
    want.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 0]); // ne[0]
    want.extend_from_slice(&[0, 0, 0, 0]); // F32
    want.extend_from_slice(&[0; 8]); // offset
    assert_eq!(want.len(), 98);
    want.resize(128, 0); // blob at the next multiple of 32
    want.extend_from_slice(&1.0f32.to_le_bytes());
    want.extend_from_slice(&(-2.0f32).to_le_bytes());
    want.resize(160, 0); // each tensor padded to the alignment
    assert_eq!(b, want);
}

#[test]
fn f16_tensors_store_half_precision() {
    let mut w = GgufWriter::new();
    w.tensor("h", &[2], TensorData::F16(vec![1.0, -2.0]));
    let b = w.to_bytes();
    let blob = b.len() - 32;
    assert_eq!(&b[blob..blob + 4], &[0x00, 0x3c, 0x00, 0xc0]);
}

fn write(dir: &Path, name: &str, w: &GgufWriter) -> std::path::PathBuf {
    let p = dir.join(name);
    w.write_to(&p).unwrap();
    p
}

#[test]
fn the_tiny_llama_reads_back_with_its_identity() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "tiny.gguf",
        &tiny_llama(&TextModelSpec::default()),
    );
    let g = GgufFile::open(&p).unwrap();
    assert_eq!(g.version, 3);
    // 3 specials + 256 bytes + 39 pieces.
    assert_eq!(g.get_u64("llama.vocab_size"), Some(298));
    assert_eq!(g.tensor("token_embd.weight").unwrap().ne, vec![64, 298]);
    assert_eq!(g.tensor("blk.1.attn_k.weight").unwrap().ne, vec![64, 32]);
    assert_eq!(g.tensors.len(), 2 + 2 * 9);
    let info = g.model_info().unwrap();
    assert_eq!(info.architecture, "llama");
    assert_eq!(info.name.as_deref(), Some("edgewatt-tiny-llama"));
    assert_eq!(info.quantization, "F16");
    // embd 64·298 + output norm 64 + 2 blocks of (2·64 + 64·64·2 + 64·32·2 + 3·64·128).
    assert_eq!(info.param_count, 19_072 + 64 + 2 * 36_992);
    assert_eq!(info.file_size_bytes, std::fs::metadata(&p).unwrap().len());
    assert!(info.file_size_bytes > 150_000 && info.file_size_bytes < 250_000);
    assert_eq!(info.sha256, sha256_file(&p).unwrap());
    let again = write(
        dir.path(),
        "again.gguf",
        &tiny_llama(&TextModelSpec::default()),
    );
    assert_eq!(
        GgufFile::open(&again).unwrap().model_info().unwrap().sha256,
        info.sha256
    );
}

#[test]
fn projectors_have_their_type_and_tensor_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let s = MmprojSpec::default();
    let q = GgufFile::open(&write(dir.path(), "q.gguf", &qwen2vl_mmproj(&s))).unwrap();
    assert_eq!(q.get_str("clip.projector_type"), Some("qwen2vl_merger"));
    assert_eq!(q.tensor("mm.0.weight").unwrap().ne, vec![256, 256]);
    assert_eq!(q.tensor("mm.2.weight").unwrap().ne, vec![256, 64]);
    assert!(q.tensor("v.patch_embd.weight.1").is_some());
    assert!(q.tensor("v.position_embd.weight").is_none());
    let g = GgufFile::open(&write(dir.path(), "g.gguf", &gemma3_mmproj(&s))).unwrap();
    assert_eq!(g.get_str("clip.projector_type"), Some("gemma3"));
    assert_eq!(
        g.tensor("v.position_embd.weight").unwrap().ne,
        vec![64, 256]
    );
    assert_eq!(
        g.tensor("mm.input_projection.weight").unwrap().ne,
        vec![64, 64]
    );
    assert_eq!(g.get_u64("clip.vision.projection_dim"), Some(64));
}

#[test]
fn sha256_matches_the_known_digest() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("abc");
    std::fs::write(&p, b"abc").unwrap();
    assert_eq!(
        sha256_file(&p).unwrap(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn a_text_file_is_not_gguf_and_the_error_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.txt");
    std::fs::write(&p, b"hello world").unwrap();
    let e = GgufFile::open(&p).unwrap_err();
    assert!(matches!(e, GgufError::NotGguf { ref found, .. } if found == b"hell"));
    assert!(e.to_string().contains("notes.txt"), "{e}");
    std::fs::write(&p, b"").unwrap();
    assert!(matches!(GgufFile::open(&p), Err(GgufError::NotGguf { .. })));
    let missing = dir.path().join("missing.gguf");
    let e = GgufFile::open(&missing).unwrap_err();
    assert!(matches!(e, GgufError::Io { .. }));
    assert!(e.to_string().contains("missing.gguf"), "{e}");
}

#[test]
fn truncated_files_are_reported_with_where_they_end() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = tiny_file().to_bytes();
    let p = dir.path().join("cut.gguf");
    // In the header: the key string is cut.
    std::fs::write(&p, &bytes[..40]).unwrap();
    let e = GgufFile::open(&p).unwrap_err();
    match &e {
        GgufError::Truncated { offset, len, .. } => assert_eq!((*offset, *len), (32, 40)),
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("cut.gguf"), "{e}");
    // In the data: the header is whole but the tensor's 8 bytes are not.
    std::fs::write(&p, &bytes[..130]).unwrap();
    match GgufFile::open(&p).unwrap_err() {
        GgufError::TensorOutOfBounds {
            tensor, end, len, ..
        } => assert_eq!((tensor.as_str(), end, len), ("x", 136, 130)),
        other => panic!("{other:?}"),
    }
    std::fs::write(&p, &bytes[..136]).unwrap();
    assert!(GgufFile::open(&p).is_ok());
}

#[test]
fn an_unknown_version_and_a_missing_architecture_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v9.gguf");
    let mut b = tiny_file().to_bytes();
    b[4] = 9;
    std::fs::write(&p, &b).unwrap();
    assert!(matches!(
        GgufFile::open(&p),
        Err(GgufError::Version { version: 9, .. })
    ));
    let mut w = tiny_file();
    w.remove_kv("general.architecture");
    let p = write(dir.path(), "noarch.gguf", &w);
    let e = GgufFile::open(&p).unwrap().model_info().unwrap_err();
    assert!(e.to_string().contains("general.architecture"), "{e}");
}
