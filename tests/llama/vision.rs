//! VLM runs: the resolution knee of a dynamic projector and the flat fixed-size one.

use edgewatt::llama::ImageSource;
use edgewatt::record::RunPhase;

use super::*;

/// (image tokens, encode µs) per square size.
fn sweep(sup: &mut Supervisor, mmproj: &Path, sizes: &[u32], max_tokens: i32) -> Vec<(u32, u64)> {
    sizes
        .iter()
        .map(|&s| {
            let run = sup.run(&vlm_job(mmproj, s, s, max_tokens), LIMIT);
            assert_ok(&run);
            let img = run.image.as_ref().unwrap();
            assert_eq!((img.width, img.height), (s, s));
            eprintln!(
                "knee {}: {s}x{s} max {max_tokens} -> {} tokens, preprocess {} us, encode {} us, prefill {} us",
                run.mmproj.as_ref().unwrap().name.as_deref().unwrap_or("?"),
                img.image_tokens,
                img.preprocess_us,
                img.encode_us,
                run.prefill_us
            );
            (img.image_tokens, img.encode_us)
        })
        .collect()
}

#[test]
fn a_dynamic_projector_has_a_knee_at_the_clamp_and_moving_the_clamp_moves_it() {
    let mut sup = supervisor();
    let q = &models().qwen2vl;
    let sizes = [64, 224, 448, 896, 1792];
    let at_256: Vec<u32> = sweep(&mut sup, q, &sizes, 256)
        .iter()
        .map(|r| r.0)
        .collect();
    // Aligned to 28 px (patch 14 × merge 2): 64² → 84² by the 8-token floor = 9;
    // 224² = 8×8; 448² = 16×16 = the clamp; larger inputs are scaled down to it.
    assert_eq!(at_256, [9, 64, 256, 256, 256]);
    let at_64: Vec<u32> = sweep(&mut sup, q, &sizes, 64).iter().map(|r| r.0).collect();
    assert_eq!(at_64, [9, 64, 64, 64, 64]);
    // Aspect ratio kept: 1000×500 → 1008×504, over 256 tokens → β ≈ 1.578 → 616×308 = 22×11.
    let run = sup.run(&vlm_job(q, 1000, 500, 256), LIMIT);
    assert_eq!(run.image.as_ref().unwrap().image_tokens, 242);
}

#[test]
fn a_fixed_size_projector_gives_the_same_tokens_for_every_size() {
    let mut sup = supervisor();
    let tokens: Vec<u32> = sweep(&mut sup, &models().gemma3, &[64, 224, 448, 896], -1)
        .iter()
        .map(|r| r.0)
        .collect();
    // 224/14 = 16 patches a side, average-pooled by 4: 4×4.
    assert_eq!(tokens, [16; 4]);
    // The clamp applies to dynamic projectors only.
    let run = sup.run(&vlm_job(&models().gemma3, 448, 448, 4), LIMIT);
    assert_eq!(run.image.as_ref().unwrap().image_tokens, 16);
}

#[test]
fn a_vlm_run_marks_the_encode_inside_the_prefill() {
    let mut sup = supervisor();
    let run = sup.run(&vlm_job(&models().qwen2vl, 448, 448, 256), LIMIT);
    assert_ok(&run);
    assert_eq!(
        phase_kinds(&run),
        [
            RunPhase::Load,
            RunPhase::Preprocess,
            RunPhase::Prefill,
            RunPhase::Encode,
            RunPhase::Prefill,
            RunPhase::Decode,
            RunPhase::Done
        ]
    );
    let t: Vec<u64> = run.phases.iter().map(|m| m.mono_us).collect();
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "{t:?}");
    let img = run.image.as_ref().unwrap();
    assert_eq!(img.preprocess_us, t[2] - t[1]);
    assert_eq!(img.encode_us, t[4] - t[3]);
    assert!(img.encode_us > 0 && img.preprocess_us > 0);
    assert_eq!(run.prefill_us, t[5] - t[2] - img.encode_us);
    assert_eq!(run.ttft_us, t[5] - t[1]);
    assert_eq!(run.load_us, t[1] - t[0]);
    assert_eq!(run.generated_tokens, 2);
    assert!(run.prompt_tokens > 0);
    let mmproj = run.mmproj.as_ref().unwrap();
    assert_eq!(mmproj.architecture, "clip");
}

#[test]
fn an_image_file_is_read_with_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("stripes.ppm");
    let (w, h) = (100u32, 50u32);
    let mut ppm = format!("P6\n{w} {h}\n255\n").into_bytes();
    ppm.extend((0..w * h).flat_map(|i| [(i % 256) as u8, 0, 255]));
    std::fs::write(&p, ppm).unwrap();
    let mut job = vlm_job(&models().qwen2vl, 1, 1, 256);
    job.image = Some(ImageSource::File(p.clone()));
    let run = supervisor().run(&job, LIMIT);
    assert_ok(&run);
    let img = run.image.as_ref().unwrap();
    assert_eq!((img.width, img.height), (w, h));
    // 100×50 → 112×56 = 4×2 tokens, exactly the 8-token floor.
    assert_eq!(img.image_tokens, 8);
    assert_eq!(img.source, p.display().to_string());
}
