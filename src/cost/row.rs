//! A cost row's parts that come from its record alone: who ran it and with what.

use super::ModelId;
use super::RowKind;
use super::RunCost;
use super::Trust;
use crate::derive::conditions::RunConditions;
use crate::logread::Entry;
use crate::record::Outcome;
use crate::record::Run;

/// A row of `kind` for the record `e`, with nothing derived yet.
pub(super) fn base_row(e: &Entry, kind: RowKind, label: String) -> RunCost {
    let seg = e.segment();
    RunCost {
        kind,
        seq: e.origin.seq,
        device_id: seg.device_id().map(str::to_owned),
        boot_id: seg.boot_id().map(str::to_owned),
        run_id: None,
        label,
        plan: String::new(),
        workload: String::new(),
        base_workload: None,
        warmup: false,
        repetition: 0,
        ok: true,
        error: None,
        start_unix_us: e.wall.us(),
        start_mono_us: None,
        end_mono_us: None,
        model: None,
        mmproj_sha256: None,
        threads: 0,
        cpu_backend: None,
        duration_s: None,
        phase_s: [None; 5],
        ttft_s: None,
        prompt_tokens: 0,
        generated_tokens: 0,
        image_tokens: None,
        image_width: None,
        image_height: None,
        peak_rss_kb: 0,
        output: String::new(),
        usage: None,
        conditions: RunConditions::default(),
        cooldown_capped: false,
        energy: None,
        trust: Trust::default(),
        estimate: None,
        corrected: None,
    }
}

/// The run's identity, settings, durations and tokens.
pub(super) fn describe(row: &mut RunCost, run: &Run) {
    row.run_id = Some(run.run_id);
    row.plan.clone_from(&run.plan);
    row.workload.clone_from(&run.workload);
    row.base_workload.clone_from(&run.base_workload);
    row.warmup = run.warmup;
    row.repetition = run.repetition;
    if let Outcome::Failed(err) = &run.outcome {
        row.ok = false;
        row.error = Some(err.to_string());
    }
    row.model = run.model.as_ref().map(|m| ModelId {
        name: m.name.clone(),
        path: m.path.clone(),
        sha256: m.sha256.clone(),
        quantization: m.quantization.clone(),
        file_size_bytes: m.file_size_bytes,
        param_count: m.param_count,
    });
    row.mmproj_sha256 = run.mmproj.as_ref().map(|m| m.sha256.clone());
    row.threads = run.settings.threads;
    row.cpu_backend.clone_from(&run.cpu_backend);
    row.ttft_s = (run.ttft_us > 0).then(|| run.ttft_us as f64 / 1e6);
    row.prompt_tokens = run.prompt_tokens;
    row.output.clone_from(&run.output);
    row.generated_tokens = run.generated_tokens;
    row.image_tokens = run.image.as_ref().map(|i| i.image_tokens);
    row.image_width = run.image.as_ref().map(|i| i.width);
    row.image_height = run.image.as_ref().map(|i| i.height);
    row.peak_rss_kb = run.peak_rss_kb;
    row.cooldown_capped = run.cooldown_capped;
}
