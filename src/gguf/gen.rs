//! Tiny random-weight GGUF models for tests (models.md §2).
//!
//! Weights ~ uniform with sd 0.02, norms 1, biases 0, all from a seed. The output of such a
//! model is gibberish by design: tests assert on structure (token counts, image tokens,
//! phase order), never on text.

use super::GgufWriter;
use super::TensorData;
use super::Value;
use crate::synth::Rng;

/// Dimensions of a tiny `llama` text model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextModelSpec {
    pub n_embd: u64,
    pub n_layer: u64,
    pub n_head: u64,
    pub n_head_kv: u64,
    pub n_ff: u64,
    pub n_ctx_train: u64,
    pub seed: u64,
}

impl Default for TextModelSpec {
    fn default() -> Self {
        Self {
            n_embd: 64,
            n_layer: 2,
            n_head: 4,
            n_head_kv: 2,
            n_ff: 128,
            n_ctx_train: 4096,
            seed: 1,
        }
    }
}

/// Dimensions of a tiny vision projector (`clip` architecture).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MmprojSpec {
    /// Vision width C; d_head = C / heads must be divisible by 4 for qwen2vl.
    pub width: u64,
    pub n_layer: u64,
    pub n_head: u64,
    /// Keep it ≠ width: equal widths make the loader swap up/down (models.md §2.5).
    pub n_ff: u64,
    pub patch_size: u64,
    pub image_size: u64,
    /// Must equal the text model's n_embd.
    pub projection_dim: u64,
    pub seed: u64,
}

impl Default for MmprojSpec {
    fn default() -> Self {
        Self {
            width: 64,
            n_layer: 2,
            n_head: 2,
            n_ff: 128,
            patch_size: 14,
            image_size: 224,
            projection_dim: 64,
            seed: 2,
        }
    }
}

struct Weights(Rng);

impl Weights {
    /// Uniform in ±0.02·√3 (sd 0.02).
    fn random(&mut self, n: u64) -> Vec<f32> {
        const A: f64 = 0.034_641;
        (0..n)
            .map(|_| {
                let u = (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                ((u * 2.0 - 1.0) * A) as f32
            })
            .collect()
    }

    fn f16(&mut self, ne: &[u64]) -> TensorData {
        TensorData::F16(self.random(ne.iter().product()))
    }

    fn f32(&mut self, ne: &[u64]) -> TensorData {
        TensorData::F32(self.random(ne.iter().product()))
    }
}

fn filled(n: u64, x: f32) -> TensorData {
    TensorData::F32(vec![x; n as usize])
}

/// Multi-byte pieces of the synthetic SPM vocabulary, each reachable by merging two pieces
/// before it (SPM merges only pairs whose concatenation is in the vocabulary).
const PIECES: &[&str] = &[
    "▁", "e", "t", "a", "o", "n", "i", "s", "h", "r", "d", "l", "th", "he", "in", "er", "an", "▁t",
    "▁a", "▁th", "▁the", "nd", "and", "▁and", "▁o", "of", "▁of", "on", "re", "at", "en", "es",
    "is", "▁i", "▁is", "▁s", "st", "ed", "ing",
];

/// The synthetic SPM vocabulary: `<unk>`, `<s>`, `</s>`, 256 byte tokens, then [`PIECES`].
fn spm_vocab(w: &mut GgufWriter) -> u64 {
    let mut tokens = vec!["<unk>".to_owned(), "<s>".into(), "</s>".into()];
    let mut types = vec![2, 3, 3];
    tokens.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
    types.extend([6; 256]);
    tokens.extend(PIECES.iter().map(|p| (*p).to_owned()));
    types.extend(vec![1; PIECES.len()]);
    let mut scores = vec![0.0f32; 3 + 256];
    // Longer pieces score higher so they win merges.
    scores.extend(PIECES.iter().map(|p| p.chars().count() as f32 - 10.0));
    w.kv("tokenizer.ggml.model", Value::Str("llama".into()))
        .kv("tokenizer.ggml.tokens", Value::strs(&tokens))
        .kv("tokenizer.ggml.scores", Value::f32s(&scores))
        .kv("tokenizer.ggml.token_type", Value::i32s(&types))
        .kv("tokenizer.ggml.unknown_token_id", Value::U32(0))
        .kv("tokenizer.ggml.bos_token_id", Value::U32(1))
        .kv("tokenizer.ggml.eos_token_id", Value::U32(2))
        .kv("tokenizer.ggml.add_bos_token", Value::Bool(true));
    tokens.len() as u64
}

/// A tiny `llama` text model with a synthetic SPM vocabulary (≈190 KB with the defaults).
#[must_use]
pub fn tiny_llama(s: &TextModelSpec) -> GgufWriter {
    let mut w = GgufWriter::new();
    let (e, f) = (s.n_embd, s.n_ff);
    let d = e / s.n_head;
    let u = |x: u64| Value::U32(x as u32);
    w.kv("general.architecture", Value::Str("llama".into()))
        .kv("general.name", Value::Str("edgewatt-tiny-llama".into()))
        .kv("general.file_type", Value::U32(1))
        .kv("llama.context_length", u(s.n_ctx_train))
        .kv("llama.embedding_length", u(e))
        .kv("llama.block_count", u(s.n_layer))
        .kv("llama.feed_forward_length", u(f))
        .kv("llama.attention.head_count", u(s.n_head))
        .kv("llama.attention.head_count_kv", u(s.n_head_kv))
        .kv("llama.rope.dimension_count", u(d))
        .kv("llama.rope.freq_base", Value::F32(10_000.0))
        .kv("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5));
    let v = spm_vocab(&mut w);
    w.kv("llama.vocab_size", u(v));
    let mut r = Weights(Rng::new(s.seed));
    let (q, kv) = (s.n_head * d, s.n_head_kv * d);
    w.tensor("token_embd.weight", &[e, v], r.f16(&[e, v]))
        .tensor("output_norm.weight", &[e], filled(e, 1.0));
    for i in 0..s.n_layer {
        let b = |n: &str| format!("blk.{i}.{n}.weight");
        w.tensor(&b("attn_norm"), &[e], filled(e, 1.0))
            .tensor(&b("attn_q"), &[e, q], r.f16(&[e, q]))
            .tensor(&b("attn_k"), &[e, kv], r.f16(&[e, kv]))
            .tensor(&b("attn_v"), &[e, kv], r.f16(&[e, kv]))
            .tensor(&b("attn_output"), &[q, e], r.f16(&[q, e]))
            .tensor(&b("ffn_norm"), &[e], filled(e, 1.0))
            .tensor(&b("ffn_gate"), &[e, f], r.f16(&[e, f]))
            .tensor(&b("ffn_up"), &[e, f], r.f16(&[e, f]))
            .tensor(&b("ffn_down"), &[f, e], r.f16(&[f, e]));
    }
    w
}

/// Keys, patch embedding and ViT blocks shared by every projector type.
fn clip_common(s: &MmprojSpec, projector: &str, r: &mut Weights) -> GgufWriter {
    let mut w = GgufWriter::new();
    let (c, f, ps) = (s.width, s.n_ff, s.patch_size);
    let u = |x: u64| Value::U32(x as u32);
    w.kv("general.architecture", Value::Str("clip".into()))
        .kv(
            "general.name",
            Value::Str(format!("edgewatt-tiny-{projector}")),
        )
        .kv("general.file_type", Value::U32(1))
        .kv("clip.projector_type", Value::Str(projector.into()))
        .kv("clip.has_vision_encoder", Value::Bool(true))
        .kv("clip.vision.image_size", u(s.image_size))
        .kv("clip.vision.patch_size", u(ps))
        .kv("clip.vision.embedding_length", u(c))
        .kv("clip.vision.feed_forward_length", u(f))
        .kv("clip.vision.block_count", u(s.n_layer))
        .kv("clip.vision.attention.head_count", u(s.n_head))
        .kv("clip.vision.attention.layer_norm_epsilon", Value::F32(1e-6))
        .kv("clip.vision.projection_dim", u(s.projection_dim))
        .kv("clip.vision.image_mean", Value::f32s(&[0.5, 0.5, 0.5]))
        .kv("clip.vision.image_std", Value::f32s(&[0.5, 0.5, 0.5]));
    w.tensor(
        "v.patch_embd.weight",
        &[ps, ps, 3, c],
        r.f32(&[ps, ps, 3, c]),
    );
    for i in 0..s.n_layer {
        let b = |n: &str| format!("v.blk.{i}.{n}");
        for ln in ["ln1", "ln2"] {
            w.tensor(&b(&format!("{ln}.weight")), &[c], filled(c, 1.0))
                .tensor(&b(&format!("{ln}.bias")), &[c], filled(c, 0.0));
        }
        for a in ["attn_q", "attn_k", "attn_v", "attn_out"] {
            w.tensor(&b(&format!("{a}.weight")), &[c, c], r.f16(&[c, c]))
                .tensor(&b(&format!("{a}.bias")), &[c], filled(c, 0.0));
        }
        w.tensor(&b("ffn_up.weight"), &[c, f], r.f16(&[c, f]))
            .tensor(&b("ffn_up.bias"), &[f], filled(f, 0.0))
            .tensor(&b("ffn_down.weight"), &[f, c], r.f16(&[f, c]))
            .tensor(&b("ffn_down.bias"), &[c], filled(c, 0.0));
    }
    w.tensor("v.post_ln.weight", &[c], filled(c, 1.0)).tensor(
        "v.post_ln.bias",
        &[c],
        filled(c, 0.0),
    );
    w
}

/// A `qwen2vl_merger` projector: dynamic resolution, so image tokens follow the image
/// size up to the `image_max_tokens` clamp (≈0.6 MB with the defaults).
#[must_use]
pub fn qwen2vl_mmproj(s: &MmprojSpec) -> GgufWriter {
    let mut r = Weights(Rng::new(s.seed));
    let mut w = clip_common(s, "qwen2vl_merger", &mut r);
    let (c, ps, e) = (s.width, s.patch_size, s.projection_dim);
    let m = 4 * c;
    w.kv("clip.vision.spatial_merge_size", Value::U32(2))
        // The second temporal kernel: without it the vision graph crashes.
        .tensor(
            "v.patch_embd.weight.1",
            &[ps, ps, 3, c],
            r.f32(&[ps, ps, 3, c]),
        )
        .tensor("mm.0.weight", &[m, m], r.f16(&[m, m]))
        .tensor("mm.0.bias", &[m], filled(m, 0.0))
        .tensor("mm.2.weight", &[m, e], r.f16(&[m, e]))
        .tensor("mm.2.bias", &[e], filled(e, 0.0));
    w
}

/// A `gemma3` projector: fixed size, (image_size/patch/4)² tokens whatever the input
/// (16 with the defaults; ≈0.36 MB).
#[must_use]
pub fn gemma3_mmproj(s: &MmprojSpec) -> GgufWriter {
    let mut r = Weights(Rng::new(s.seed));
    let mut w = clip_common(s, "gemma3", &mut r);
    let (c, e) = (s.width, s.projection_dim);
    let patches = (s.image_size / s.patch_size).pow(2);
    w.kv("clip.vision.projector.scale_factor", Value::U32(4))
        .tensor("v.patch_embd.bias", &[c], filled(c, 0.0))
        .tensor(
            "v.position_embd.weight",
            &[c, patches],
            r.f32(&[c, patches]),
        )
        .tensor("mm.soft_emb_norm.weight", &[c], filled(c, 1.0))
        // ne[0] must be the text width: `clip_n_mmproj_embd` reads it.
        .tensor("mm.input_projection.weight", &[e, c], r.f16(&[e, c]));
    w
}
