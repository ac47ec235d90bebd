//! The runs table: one row per [`RunCost`] (runs and idle lead-ins), its columns in
//! docs/EXPORT.md order. The last two are the report's view of a run, so SQL over the
//! exported Parquet groups and filters as the report does (docs/FLEET.md): `model` (the
//! model as the report names it) and `flagged` (a trust flag keeps it out of the fits:
//! throttled, under-voltage, low coverage, capped cooldown).

use super::Column;
use super::ColumnType;
use super::Table;
use super::Value;
use crate::cost::RowKind;
use crate::cost::RunCost;
use crate::derive::energy::RunEnergy;
use crate::derive::runs::RunUsage;
use crate::record::RunPhase;
use crate::report::laws::RunRow;

use ColumnType::Bool;
use ColumnType::Float64 as F64;
use ColumnType::Int64;
use ColumnType::Utf8;

type Get = fn(&RunCost) -> Value;

fn u64v(v: u64) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

fn usage(r: &RunCost, f: fn(&RunUsage) -> Option<f64>) -> Value {
    Value::float(r.usage.as_ref().and_then(f))
}

/// An AUC of the row's usage: null when samples cover none of its window (0 there is no
/// measurement).
fn usage_auc(r: &RunCost, f: fn(&RunUsage) -> f64) -> Value {
    Value::float(r.usage.as_ref().filter(|u| u.covered()).map(f))
}

fn energy(r: &RunCost, f: fn(&RunEnergy) -> Option<f64>) -> Value {
    Value::float(r.energy.as_ref().and_then(f))
}

/// Gross and net J of `phase`, every window of it (a phase may repeat): [`RunEnergy::phase`].
fn phase_j(r: &RunCost, phase: RunPhase, net: bool) -> Value {
    let w = r.energy.as_ref().and_then(|e| e.phase(phase));
    Value::float(w.and_then(|w| if net { w.net_j() } else { Some(w.gross_j()) }))
}

/// The share of a phase's window the readings cover (a gap the run's coverage allows may
/// fall in one short phase).
fn phase_coverage(r: &RunCost, phase: RunPhase) -> Value {
    let w = r.energy.as_ref().and_then(|e| e.phase(phase));
    Value::float(w.map(|w| w.coverage()))
}

/// `v` on a run's row; null on an idle lead-in's, which has no run for it to be about
/// (docs/EXPORT.md: an empty cell is "not known", never a made-up 0 or "").
fn of_run(r: &RunCost, v: impl FnOnce() -> Value) -> Value {
    match r.kind {
        RowKind::Run => v(),
        RowKind::Idle => Value::Null,
    }
}

/// Each column and how a row's cell is made.
#[rustfmt::skip]
const FIELDS: &[(Column, Get)] = &[
    (Column::new("kind", Utf8), |r| Value::Text(r.kind.name().into())),
    (Column::new("device_id", Utf8), |r| Value::text(r.device_id.as_deref())),
    (Column::new("boot_id", Utf8), |r| Value::text(r.boot_id.as_deref())),
    (Column::new("run_id", Int64), |r| r.run_id.map_or(Value::Null, u64v)),
    (Column::new("label", Utf8), |r| Value::Text(r.label.clone())),
    (Column::new("plan", Utf8), |r| Value::Text(r.plan.clone())),
    (Column::new("workload", Utf8), |r| of_run(r, || Value::Text(r.workload.clone()))),
    (Column::new("base_workload", Utf8), |r| Value::text(r.base_workload.as_deref())),
    (Column::new("warmup", Bool), |r| of_run(r, || Value::Bool(r.warmup))),
    (Column::new("repetition", Int64), |r| of_run(r, || Value::Int(r.repetition.into()))),
    (Column::new("ok", Bool), |r| Value::Bool(r.ok)),
    (Column::new("error", Utf8), |r| Value::text(r.error.as_deref())),
    (Column::distinct("start_unix_us", Int64), |r| Value::int(r.start_unix_us)),
    (Column::distinct("start_mono_us", Int64), |r| r.start_mono_us.map_or(Value::Null, u64v)),
    (Column::distinct("end_mono_us", Int64), |r| r.end_mono_us.map_or(Value::Null, u64v)),
    (Column::new("model_name", Utf8), |r| Value::text(r.model.as_ref().and_then(|m| m.name.as_deref()))),
    (Column::new("model_path", Utf8), |r| Value::text(r.model.as_ref().map(|m| m.path.as_str()))),
    (Column::new("model_sha256", Utf8), |r| Value::text(r.model.as_ref().map(|m| m.sha256.as_str()))),
    (Column::new("model_quantization", Utf8), |r| Value::text(r.model.as_ref().map(|m| m.quantization.as_str()))),
    (Column::new("model_file_size_bytes", Int64), |r| r.model.as_ref().map_or(Value::Null, |m| u64v(m.file_size_bytes))),
    (Column::new("model_param_count", Int64), |r| r.model.as_ref().map_or(Value::Null, |m| u64v(m.param_count))),
    (Column::new("mmproj_sha256", Utf8), |r| Value::text(r.mmproj_sha256.as_deref())),
    (Column::new("threads", Int64), |r| of_run(r, || Value::Int(r.threads.into()))),
    (Column::new("cpu_backend", Utf8), |r| Value::text(r.cpu_backend.as_deref())),
    (Column::new("duration_s", F64), |r| Value::float(r.duration_s)),
    (Column::new("load_s", F64), |r| Value::float(r.phase_s[0])),
    (Column::new("preprocess_s", F64), |r| Value::float(r.phase_s[1])),
    (Column::new("prefill_s", F64), |r| Value::float(r.phase_s[2])),
    (Column::new("encode_s", F64), |r| Value::float(r.phase_s[3])),
    (Column::new("decode_s", F64), |r| Value::float(r.phase_s[4])),
    (Column::new("ttft_s", F64), |r| Value::float(r.ttft_s)),
    (Column::new("prompt_tokens", Int64), |r| of_run(r, || Value::Int(r.prompt_tokens.into()))),
    (Column::new("generated_tokens", Int64), |r| of_run(r, || Value::Int(r.generated_tokens.into()))),
    (Column::new("image_tokens", Int64), |r| Value::int(r.image_tokens.map(i64::from))),
    (Column::new("image_width", Int64), |r| Value::int(r.image_width.map(i64::from))),
    (Column::new("image_height", Int64), |r| Value::int(r.image_height.map(i64::from))),
    // 0: the worker's peak could not be read (never a real peak).
    (Column::new("peak_rss_kb", Int64), |r| of_run(r, || if r.peak_rss_kb == 0 { Value::Null } else { u64v(r.peak_rss_kb) })),
    (Column::new("cpu_auc_pct_s", F64), |r| usage_auc(r, |u| u.cpu_pct_s)),
    (Column::new("cpu_auc_core_pct_s", F64), |r| usage_auc(r, |u| u.cpu_core_pct_s)),
    (Column::new("cpu_signed_auc_pct_s", F64), |r| usage_auc(r, |u| u.cpu_signed_pct_s)),
    (Column::new("ram_auc_mb_s", F64), |r| usage_auc(r, |u| u.ram_mb_s)),
    (Column::new("ram_signed_auc_mb_s", F64), |r| usage_auc(r, |u| u.ram_signed_mb_s)),
    (Column::new("cpu_mean_pct", F64), |r| Value::float(r.cpu_mean_pct())),
    (Column::new("baseline_cpu_pct", F64), |r| usage(r, |u| Some(u.baseline_cpu_pct))),
    (Column::new("baseline_ram_mb", F64), |r| usage(r, |u| Some(u.baseline_ram_mb))),
    (Column::new("baseline_is_lead_in", Bool), |r| r.usage.as_ref().map_or(Value::Null, |u| Value::Bool(u.baseline_is_lead_in))),
    (Column::new("usage_coverage", F64), |r| usage(r, |u| Some(u.coverage))),
    (Column::new("worker_cpu_s", F64), |r| usage(r, |u| u.worker_cpu_s)),
    (Column::new("worker_rss_peak_mb", F64), |r| usage(r, |u| u.worker_rss_mb)),
    (Column::new("worker_rss_mb_s", F64), |r| usage(r, |u| u.worker_rss_mb_s)),
    (Column::new("freq_mean_mhz", F64), |r| Value::float(r.conditions.freq_mean_mhz)),
    (Column::new("cpu_ghz_signed_auc_pct_ghz_s", F64), |r| Value::float(r.conditions.cpu_ghz_signed_pct_ghz_s)),
    (Column::new("temp_peak_c", F64), |r| Value::float(r.conditions.temp_peak_c)),
    (Column::new("throttled_bits", Int64), |r| r.conditions.throttled_bits.map_or(Value::Null, u64v)),
    (Column::new("throttled", Bool), |r| Value::Bool(r.conditions.throttled())),
    (Column::new("under_voltage", Bool), |r| Value::Bool(r.conditions.under_voltage())),
    (Column::new("cooldown_capped", Bool), |r| Value::Bool(r.cooldown_capped)),
    (Column::new("energy_source", Utf8), |r| Value::text(r.energy_source_kind())),
    (Column::new("energy_source_label", Utf8), |r| Value::text(r.energy.as_ref().map(|e| e.source.as_str()))),
    (Column::new("energy_rate_hz", F64), |r| energy(r, |e| Some(e.measured_rate_mhz as f64 / 1000.0))),
    (Column::new("energy_baseline_w", F64), |r| energy(r, |e| e.baseline.as_ref().map(|b| b.power_uw as f64 / 1e6))),
    (Column::new("energy_gross_j", F64), |r| energy(r, |e| Some(e.run.gross_j()))),
    (Column::new("energy_net_j", F64), |r| energy(r, |e| e.run.net_j())),
    (Column::new("energy_coverage", F64), |r| energy(r, |e| Some(e.run.coverage()))),
    (Column::new("energy_load_gross_j", F64), |r| phase_j(r, RunPhase::Load, false)),
    (Column::new("energy_load_net_j", F64), |r| phase_j(r, RunPhase::Load, true)),
    (Column::new("energy_preprocess_gross_j", F64), |r| phase_j(r, RunPhase::Preprocess, false)),
    (Column::new("energy_preprocess_net_j", F64), |r| phase_j(r, RunPhase::Preprocess, true)),
    (Column::new("energy_prefill_gross_j", F64), |r| phase_j(r, RunPhase::Prefill, false)),
    (Column::new("energy_prefill_net_j", F64), |r| phase_j(r, RunPhase::Prefill, true)),
    (Column::new("energy_encode_gross_j", F64), |r| phase_j(r, RunPhase::Encode, false)),
    (Column::new("energy_encode_net_j", F64), |r| phase_j(r, RunPhase::Encode, true)),
    (Column::new("energy_decode_gross_j", F64), |r| phase_j(r, RunPhase::Decode, false)),
    (Column::new("energy_decode_net_j", F64), |r| phase_j(r, RunPhase::Decode, true)),
    (Column::new("energy_trusted", Bool), |r| Value::Bool(r.trust.energy)),
    (Column::new("energy_net_trusted", Bool), |r| Value::Bool(r.trust.energy_net)),
    (Column::new("usage_trusted", Bool), |r| Value::Bool(r.trust.usage)),
    (Column::new("untrusted_reasons", Utf8), |r| Value::text(Some(r.trust.reasons_text()).filter(|t| !t.is_empty()).as_deref())),
    (Column::new("estimate_source", Utf8), |r| Value::text(r.estimate.as_ref().map(|e| e.source.as_str()))),
    (Column::new("estimate_board_average", Bool), |r| r.estimate.as_ref().map_or(Value::Null, |e| Value::Bool(e.board_average))),
    (Column::new("estimate_gross_j", F64), |r| Value::float(r.estimate.as_ref().map(|e| e.gross_j))),
    (Column::new("estimate_net_j", F64), |r| Value::float(r.estimate.as_ref().map(|e| e.net_j))),
    (Column::new("corrected_source", Utf8), |r| Value::text(r.corrected.as_ref().map(|e| e.source.as_str()))),
    (Column::new("corrected_gross_j", F64), |r| Value::float(r.corrected.as_ref().map(|e| e.gross_j))),
    (Column::new("model", Utf8), |r| of_run(r, || Value::Text(crate::report::laws::groups::model(r)))),
    (Column::new("flagged", Bool), |r| Value::Bool(!RunRow::of(r).flags.is_empty())),
    (Column::new("estimate_held_out", Bool), |r| r.estimate.as_ref().and_then(|e| e.held_out).map_or(Value::Null, Value::Bool)),
    (Column::new("energy_prefill_coverage", F64), |r| phase_coverage(r, RunPhase::Prefill)),
    (Column::new("energy_decode_coverage", F64), |r| phase_coverage(r, RunPhase::Decode)),
];

/// The columns of the runs table, in order.
pub static RUN_COLUMNS: std::sync::LazyLock<Vec<Column>> =
    std::sync::LazyLock::new(|| FIELDS.iter().map(|(c, _)| *c).collect());

/// The runs table of `rows`.
#[must_use]
pub fn run_table(rows: &[RunCost]) -> Table {
    let mut table = Table::new(&RUN_COLUMNS);
    table.rows = rows
        .iter()
        .map(|r| FIELDS.iter().map(|(_, get)| get(r)).collect())
        .collect();
    table
}
