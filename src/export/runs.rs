//! The runs table: one row per [`RunCost`] (runs and idle lead-ins), its columns in
//! docs/EXPORT.md order. The last two are the report's view of a run, so SQL over the
//! exported Parquet groups and filters as the report does (docs/FLEET.md): `model` (the
//! model as the report names it) and `flagged` (a trust flag keeps it out of the fits:
//! throttled, under-voltage, low coverage, capped cooldown).

use super::Column;
use super::ColumnType;
use super::Table;
use super::Value;
use crate::cost::RunCost;
use crate::derive::energy::RunEnergy;
use crate::derive::energy::WindowEnergy;
use crate::derive::runs::RunUsage;
use crate::record::RunPhase;
use crate::report::laws::RunRow;

use ColumnType::Bool;
use ColumnType::Float64 as F64;
use ColumnType::Int64;
use ColumnType::Utf8;

type Get = fn(&RunCost) -> Value;

const fn col(name: &'static str, ty: ColumnType) -> Column {
    Column { name, ty }
}

fn u64v(v: u64) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

fn usage(r: &RunCost, f: fn(&RunUsage) -> Option<f64>) -> Value {
    Value::float(r.usage.as_ref().and_then(f))
}

fn energy(r: &RunCost, f: fn(&RunEnergy) -> Option<f64>) -> Value {
    Value::float(r.energy.as_ref().and_then(f))
}

/// Gross and net J of every window of `phase` (a phase may repeat), summed.
fn phase_j(r: &RunCost, phase: RunPhase, net: bool) -> Value {
    let Some(e) = &r.energy else {
        return Value::Null;
    };
    let windows: Vec<&WindowEnergy> = e
        .phases
        .iter()
        .filter(|(p, _)| *p == phase)
        .map(|(_, w)| w)
        .collect();
    if windows.is_empty() {
        return Value::Null;
    }
    let sum = if net {
        windows.iter().map(|w| w.net_j()).sum::<Option<f64>>()
    } else {
        Some(windows.iter().map(|w| w.gross_j()).sum())
    };
    Value::float(sum)
}

/// Each column and how a row's cell is made.
#[rustfmt::skip]
const FIELDS: &[(Column, Get)] = &[
    (col("kind", Utf8), |r| Value::Text(r.kind.name().into())),
    (col("device_id", Utf8), |r| Value::text(r.device_id.as_deref())),
    (col("boot_id", Utf8), |r| Value::text(r.boot_id.as_deref())),
    (col("run_id", Int64), |r| r.run_id.map_or(Value::Null, u64v)),
    (col("label", Utf8), |r| Value::Text(r.label.clone())),
    (col("plan", Utf8), |r| Value::Text(r.plan.clone())),
    (col("workload", Utf8), |r| Value::Text(r.workload.clone())),
    (col("base_workload", Utf8), |r| Value::text(r.base_workload.as_deref())),
    (col("warmup", Bool), |r| Value::Bool(r.warmup)),
    (col("repetition", Int64), |r| Value::Int(r.repetition.into())),
    (col("ok", Bool), |r| Value::Bool(r.ok)),
    (col("error", Utf8), |r| Value::text(r.error.as_deref())),
    (col("start_unix_us", Int64), |r| Value::int(r.start_unix_us)),
    (col("start_mono_us", Int64), |r| r.start_mono_us.map_or(Value::Null, u64v)),
    (col("end_mono_us", Int64), |r| r.end_mono_us.map_or(Value::Null, u64v)),
    (col("model_name", Utf8), |r| Value::text(r.model.as_ref().and_then(|m| m.name.as_deref()))),
    (col("model_path", Utf8), |r| Value::text(r.model.as_ref().map(|m| m.path.as_str()))),
    (col("model_sha256", Utf8), |r| Value::text(r.model.as_ref().map(|m| m.sha256.as_str()))),
    (col("model_quantization", Utf8), |r| Value::text(r.model.as_ref().map(|m| m.quantization.as_str()))),
    (col("model_file_size_bytes", Int64), |r| r.model.as_ref().map_or(Value::Null, |m| u64v(m.file_size_bytes))),
    (col("model_param_count", Int64), |r| r.model.as_ref().map_or(Value::Null, |m| u64v(m.param_count))),
    (col("mmproj_sha256", Utf8), |r| Value::text(r.mmproj_sha256.as_deref())),
    (col("threads", Int64), |r| Value::Int(r.threads.into())),
    (col("cpu_backend", Utf8), |r| Value::text(r.cpu_backend.as_deref())),
    (col("duration_s", F64), |r| Value::float(r.duration_s)),
    (col("load_s", F64), |r| Value::float(r.phase_s[0])),
    (col("preprocess_s", F64), |r| Value::float(r.phase_s[1])),
    (col("prefill_s", F64), |r| Value::float(r.phase_s[2])),
    (col("encode_s", F64), |r| Value::float(r.phase_s[3])),
    (col("decode_s", F64), |r| Value::float(r.phase_s[4])),
    (col("ttft_s", F64), |r| Value::float(r.ttft_s)),
    (col("prompt_tokens", Int64), |r| Value::Int(r.prompt_tokens.into())),
    (col("generated_tokens", Int64), |r| Value::Int(r.generated_tokens.into())),
    (col("image_tokens", Int64), |r| Value::int(r.image_tokens.map(i64::from))),
    (col("image_width", Int64), |r| Value::int(r.image_width.map(i64::from))),
    (col("image_height", Int64), |r| Value::int(r.image_height.map(i64::from))),
    (col("peak_rss_kb", Int64), |r| u64v(r.peak_rss_kb)),
    (col("cpu_auc_pct_s", F64), |r| usage(r, |u| Some(u.cpu_pct_s))),
    (col("cpu_auc_core_pct_s", F64), |r| usage(r, |u| Some(u.cpu_core_pct_s))),
    (col("cpu_signed_auc_pct_s", F64), |r| usage(r, |u| Some(u.cpu_signed_pct_s))),
    (col("ram_auc_mb_s", F64), |r| usage(r, |u| Some(u.ram_mb_s))),
    (col("ram_signed_auc_mb_s", F64), |r| usage(r, |u| Some(u.ram_signed_mb_s))),
    (col("cpu_mean_pct", F64), |r| Value::float(r.cpu_mean_pct())),
    (col("baseline_cpu_pct", F64), |r| usage(r, |u| Some(u.baseline_cpu_pct))),
    (col("baseline_ram_mb", F64), |r| usage(r, |u| Some(u.baseline_ram_mb))),
    (col("baseline_is_lead_in", Bool), |r| r.usage.as_ref().map_or(Value::Null, |u| Value::Bool(u.baseline_is_lead_in))),
    (col("usage_coverage", F64), |r| usage(r, |u| Some(u.coverage))),
    (col("worker_cpu_s", F64), |r| usage(r, |u| u.worker_cpu_s)),
    (col("worker_rss_peak_mb", F64), |r| usage(r, |u| u.worker_rss_mb)),
    (col("worker_rss_mb_s", F64), |r| usage(r, |u| u.worker_rss_mb_s)),
    (col("freq_mean_mhz", F64), |r| Value::float(r.conditions.freq_mean_mhz)),
    (col("cpu_ghz_signed_auc_pct_ghz_s", F64), |r| Value::float(r.conditions.cpu_ghz_signed_pct_ghz_s)),
    (col("temp_peak_c", F64), |r| Value::float(r.conditions.temp_peak_c)),
    (col("throttled_bits", Int64), |r| r.conditions.throttled_bits.map_or(Value::Null, u64v)),
    (col("throttled", Bool), |r| Value::Bool(r.conditions.throttled())),
    (col("under_voltage", Bool), |r| Value::Bool(r.conditions.under_voltage())),
    (col("cooldown_capped", Bool), |r| Value::Bool(r.cooldown_capped)),
    (col("energy_source", Utf8), |r| Value::text(r.energy_source_kind())),
    (col("energy_source_label", Utf8), |r| Value::text(r.energy.as_ref().map(|e| e.source.as_str()))),
    (col("energy_rate_hz", F64), |r| energy(r, |e| Some(e.measured_rate_mhz as f64 / 1000.0))),
    (col("energy_baseline_w", F64), |r| energy(r, |e| e.baseline.as_ref().map(|b| b.power_uw as f64 / 1e6))),
    (col("energy_gross_j", F64), |r| energy(r, |e| Some(e.run.gross_j()))),
    (col("energy_net_j", F64), |r| energy(r, |e| e.run.net_j())),
    (col("energy_coverage", F64), |r| energy(r, |e| Some(e.run.coverage()))),
    (col("energy_load_gross_j", F64), |r| phase_j(r, RunPhase::Load, false)),
    (col("energy_load_net_j", F64), |r| phase_j(r, RunPhase::Load, true)),
    (col("energy_preprocess_gross_j", F64), |r| phase_j(r, RunPhase::Preprocess, false)),
    (col("energy_preprocess_net_j", F64), |r| phase_j(r, RunPhase::Preprocess, true)),
    (col("energy_prefill_gross_j", F64), |r| phase_j(r, RunPhase::Prefill, false)),
    (col("energy_prefill_net_j", F64), |r| phase_j(r, RunPhase::Prefill, true)),
    (col("energy_encode_gross_j", F64), |r| phase_j(r, RunPhase::Encode, false)),
    (col("energy_encode_net_j", F64), |r| phase_j(r, RunPhase::Encode, true)),
    (col("energy_decode_gross_j", F64), |r| phase_j(r, RunPhase::Decode, false)),
    (col("energy_decode_net_j", F64), |r| phase_j(r, RunPhase::Decode, true)),
    (col("energy_trusted", Bool), |r| Value::Bool(r.trust.energy)),
    (col("energy_net_trusted", Bool), |r| Value::Bool(r.trust.energy_net)),
    (col("usage_trusted", Bool), |r| Value::Bool(r.trust.usage)),
    (col("untrusted_reasons", Utf8), |r| Value::Text(r.trust.reasons_text())),
    (col("estimate_source", Utf8), |r| Value::text(r.estimate.as_ref().map(|e| e.source.as_str()))),
    (col("estimate_board_average", Bool), |r| r.estimate.as_ref().map_or(Value::Null, |e| Value::Bool(e.board_average))),
    (col("estimate_gross_j", F64), |r| Value::float(r.estimate.as_ref().map(|e| e.gross_j))),
    (col("estimate_net_j", F64), |r| Value::float(r.estimate.as_ref().map(|e| e.net_j))),
    (col("corrected_source", Utf8), |r| Value::text(r.corrected.as_ref().map(|e| e.source.as_str()))),
    (col("corrected_gross_j", F64), |r| Value::float(r.corrected.as_ref().map(|e| e.gross_j))),
    (col("model", Utf8), |r| Value::Text(crate::report::laws::groups::model(r))),
    (col("flagged", Bool), |r| Value::Bool(!RunRow::of(r).flags.is_empty())),
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
