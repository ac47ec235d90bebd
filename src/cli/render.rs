//! Records as JSON objects (one per line for `dump --format jsonl`) and as text.
//!
//! Every object has a `type` field (`sample`, `event`, `seal`, …) and the record's
//! fields; samples are expanded from their block, one object per sample, with
//! readings whose valid bit is clear shown as `null`. `wall` is the entry's wall time
//! (RFC 3339), `null` when it is unknown (see [`crate::logread`]).

use serde_json::json;
use serde_json::Map;
use serde_json::Value;

use super::time::format_wall_us;
use crate::logread::Entry;
use crate::logread::Payload;
use crate::power::PowerReading;
use crate::record::Event;
use crate::record::Run;
use crate::record::Seal;
use crate::sampler::ProcRole;
use crate::sampler::Sample;
use crate::sampler::SampleLayout;

/// Name of a tracked process's role as text output shows it.
#[must_use]
pub fn role_name(role: &ProcRole) -> String {
    match role {
        ProcRole::Daemon => "daemon".into(),
        ProcRole::Worker => "worker".into(),
        ProcRole::Other(name) => name.clone(),
    }
}

fn valid_or_null(s: &Sample, bit: u32, v: Value) -> Value {
    if s.is_valid(bit) {
        v
    } else {
        Value::Null
    }
}

/// A wall time as JSON: RFC 3339, or `null` when unknown.
fn wall_json(wall_us: Option<i64>) -> Value {
    wall_us.map_or(Value::Null, |w| Value::String(format_wall_us(w)))
}

/// An entry of the log as a JSON object.
#[must_use]
pub fn entry_json(e: &Entry) -> Value {
    let (seq, wall) = (e.origin.seq, e.wall.us());
    match &e.payload {
        Payload::Sample { layout, sample, .. } => sample_json(seq, layout, sample, wall),
        Payload::Power { label, reading, .. } => power_json(seq, label, reading, wall),
        Payload::Event(ev) => event_json(seq, ev, wall),
        Payload::Seal(s) => seal_json(seq, s, wall),
        Payload::Run(r) => run_json(seq, r, wall),
    }
}

/// One sample as a JSON object.
#[must_use]
pub fn sample_json(seq: u64, layout: &SampleLayout, s: &Sample, wall_us: Option<i64>) -> Value {
    let cpu: Vec<Value> = s.cpu.iter().map(|c| json!(c)).collect();
    let procs: Vec<Value> = layout
        .procs
        .iter()
        .zip(&s.procs)
        .enumerate()
        .map(|(i, (t, p))| {
            let mut o = json!({"pid": t.pid, "role": role_name(&t.role)});
            let fields = valid_or_null(s, layout.proc_bit(i), json!(p));
            o["counters"] = fields;
            o
        })
        .collect();
    let temps: Map<String, Value> = layout
        .thermal_zones
        .iter()
        .zip(&s.temps_mc)
        .enumerate()
        .map(|(i, (z, t))| (z.clone(), valid_or_null(s, layout.temp_bit(i), json!(t))))
        .collect();
    let freqs: Map<String, Value> = layout
        .cpufreq
        .iter()
        .zip(&s.freqs_khz)
        .enumerate()
        .map(|(i, (p, f))| (p.clone(), valid_or_null(s, layout.freq_bit(i), json!(f))))
        .collect();
    let throttled = if layout.throttled {
        valid_or_null(s, layout.throttled_bit(), json!(s.throttled))
    } else {
        Value::Null
    };
    json!({
        "type": "sample",
        "seq": seq,
        "tick": s.tick,
        "mono_us": s.mono_us,
        "wall": wall_json(wall_us),
        "cpu_ticks": valid_or_null(s, crate::sampler::group::CPU, Value::Array(cpu)),
        "mem_kb": valid_or_null(s, crate::sampler::group::MEM, json!(s.mem)),
        "procs": procs,
        "temps_mc": temps,
        "freqs_khz": freqs,
        "throttled": throttled,
    })
}

/// An event as a JSON object: `type`, `seq`, `mono_us`, `wall`, `event` and its fields.
#[must_use]
pub fn event_json(seq: u64, e: &Event, wall_us: Option<i64>) -> Value {
    let mut o = json!({
        "type": "event",
        "seq": seq,
        "mono_us": e.mono_us,
        "wall": wall_json(wall_us),
        "event": e.kind.name(),
    });
    // Externally tagged: {"Variant": {fields}}; lift the fields.
    if let Ok(Value::Object(outer)) = serde_json::to_value(&e.kind) {
        if let Some(Value::Object(fields)) = outer.into_iter().next().map(|(_, v)| v) {
            for (k, v) in fields {
                o[k] = v;
            }
        }
    }
    o
}

/// A seal as a JSON object: its fields and its wall time.
#[must_use]
pub fn seal_json(seq: u64, s: &Seal, wall_us: Option<i64>) -> Value {
    let mut o = json!(s);
    o["type"] = json!("seal");
    o["seq"] = json!(seq);
    o["wall"] = wall_json(wall_us);
    o
}

/// One power reading as a JSON object; `source` is the block's label.
#[must_use]
pub fn power_json(seq: u64, label: &str, r: &PowerReading, wall_us: Option<i64>) -> Value {
    json!({
        "type": "power",
        "seq": seq,
        "mono_us": r.mono_us,
        "wall": wall_json(wall_us),
        "source": label,
        "bus_uv": r.bus_uv,
        "current_ua": r.current_ua,
        "shunt_uv": r.shunt_uv,
        "power_uw": r.power_uw,
        "flags": r.flags,
    })
}

/// One line of text for a JSON record: time, type, then `key=value` pairs.
///
/// ```
/// use edgewatt::cli::render::text_line;
/// let v = serde_json::json!({"type": "event", "wall": "2026-11-22T10:00:00.000Z",
///     "event": "stop", "reason": "duration reached", "toml": "a = 1\nb = 2"});
/// assert_eq!(
///     text_line(&v),
///     r#"2026-11-22T10:00:00.000Z event   event=stop reason="duration reached" toml="a = 1\nb = 2""#
/// );
/// ```
#[must_use]
pub fn text_line(v: &Value) -> String {
    let Value::Object(o) = v else {
        return v.to_string();
    };
    let mut line = format!(
        "{} {:<7}",
        o.get("wall").and_then(Value::as_str).unwrap_or("-"),
        o.get("type").and_then(Value::as_str).unwrap_or("?")
    );
    for (k, val) in o {
        if matches!(k.as_str(), "wall" | "type") {
            continue;
        }
        let shown = match val {
            // Quoted (with escapes) when needed, so one record stays one line.
            Value::String(s) if s.contains(|c: char| c.is_whitespace() || c == '"') => {
                format!("{s:?}")
            }
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        line.push(' ');
        line.push_str(k);
        line.push('=');
        line.push_str(&shown);
    }
    line
}

/// A run as a JSON object: its fields, the derived rates, and the monotonic and wall time
/// of its start (its first phase mark; both absent for a run without one).
#[must_use]
pub fn run_json(seq: u64, run: &Run, wall_us: Option<i64>) -> Value {
    let mut o = json!(run);
    o["type"] = json!("run");
    o["seq"] = json!(seq);
    o["ok"] = json!(run.is_ok());
    o["prefill_tokens_per_s"] = json!(run.prefill_tokens_per_s());
    o["decode_tokens_per_s"] = json!(run.decode_tokens_per_s());
    if let Some(start) = run.phases.first() {
        o["mono_us"] = json!(start.mono_us);
        o["wall"] = wall_json(wall_us);
    }
    o
}
