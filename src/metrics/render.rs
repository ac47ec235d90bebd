//! The Prometheus text exposition format, version 0.0.4: a `# HELP` and a `# TYPE` line
//! per family, then its samples. Names carry their unit (`_watts`, `_celsius`, `_ratio`,
//! `_bytes`, `_seconds`); counters end in `_total`. A family with nothing to show (no
//! power source, no run yet, no uploader) is left out, never shown as 0.

use std::fmt::Write as _;

use super::Labelled;
use super::LastRun;
use super::Snapshot;
use super::UploadStatus;

/// The `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Longest upload error shown, characters.
const ERROR_MAX_CHARS: usize = 200;

type Labels = Vec<(&'static str, String)>;

/// One family: its samples, each with its labels.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: Vec<(Labels, f64)>,
}

impl Family {
    const fn new(name: &'static str, kind: &'static str, help: &'static str) -> Self {
        Self {
            name,
            kind,
            help,
            samples: Vec::new(),
        }
    }

    fn with(mut self, labels: &[(&'static str, &str)], value: Option<f64>) -> Self {
        if let Some(v) = value.filter(|v| v.is_finite()) {
            let labels = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
            self.samples.push((labels, v));
        }
        self
    }

    fn write(&self, out: &mut String) {
        if self.samples.is_empty() {
            return;
        }
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for (labels, value) in &self.samples {
            out.push_str(self.name);
            if !labels.is_empty() {
                out.push('{');
                for (i, (k, v)) in labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{k}=\"{}\"", escape_label(v));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {value}");
        }
    }
}

/// A label value as the format wants it: `\`, `"` and newlines escaped.
#[must_use]
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// An error message fit for a label: URLs lose their user info and query string (signed
/// S3 URLs carry credentials there), `key=value` words whose key names a secret lose the
/// value, and the message is cut at 200 characters.
#[must_use]
pub fn redact(message: &str) -> String {
    const SECRET_KEYS: [&str; 7] = [
        "signature",
        "credential",
        "token",
        "secret",
        "password",
        "access_key",
        "x-amz-security",
    ];
    let words: Vec<String> = message
        .split(' ')
        .map(|w| {
            let w = w.split_once('?').map_or(w, |(before, _)| before);
            let w = match w.split_once("://") {
                Some((scheme, rest)) => match rest.split_once('@') {
                    Some((_, host)) => format!("{scheme}://{host}"),
                    None => w.to_owned(),
                },
                None => w.to_owned(),
            };
            match w.split_once('=') {
                Some((k, _)) if SECRET_KEYS.iter().any(|s| k.to_lowercase().contains(s)) => {
                    format!("{k}=…")
                }
                _ => w,
            }
        })
        .collect();
    let joined = words.join(" ");
    match joined.char_indices().nth(ERROR_MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

fn labelled(fam: Family, key: &'static str, items: &[Labelled], scale: f64) -> Family {
    items.iter().fold(fam, |f, l| {
        f.with(&[(key, l.name.as_str())], l.value.map(|v| v as f64 * scale))
    })
}

/// The text of the `/metrics` page for `s`; `now_us` (CLOCK_MONOTONIC) dates the power
/// reading's age.
#[must_use]
pub fn render(s: &Snapshot, now_us: u64) -> String {
    let mut out = String::with_capacity(4096);
    for fam in machine(s, now_us)
        .into_iter()
        .chain(health(s))
        .chain(runs(s))
        .chain(s.upload.as_ref().map(upload).into_iter().flatten())
    {
        fam.write(&mut out);
    }
    out
}

fn machine(s: &Snapshot, now_us: u64) -> Vec<Family> {
    let power = s.power.as_ref();
    let source: Vec<(&'static str, &str)> =
        power.map(|p| ("source", p.source)).into_iter().collect();
    vec![
        Family::new("edgewatt_build_info", "gauge", "The running edgewatt's version.")
            .with(&[("version", env!("CARGO_PKG_VERSION"))], Some(1.0)),
        Family::new(
            "edgewatt_power_watts",
            "gauge",
            "Latest valid power reading, W, and the source that measured it.",
        )
        .with(&source, power.map(|p| p.power_uw as f64 / 1e6)),
        Family::new(
            "edgewatt_power_reading_age_seconds",
            "gauge",
            "How old the latest valid power reading is, s (readings reach the daemon at every fsync interval).",
        )
        .with(
            &source,
            power.map(|p| now_us.saturating_sub(p.mono_us) as f64 / 1e6),
        ),
        Family::new(
            "edgewatt_cpu_busy_ratio",
            "gauge",
            "Busy share of all CPUs over the last second (everything but idle and iowait), 0-1.",
        )
        .with(&[], s.cpu_busy_ratio),
        Family::new("edgewatt_memory_available_bytes", "gauge", "MemAvailable, bytes.")
            .with(&[], s.mem_available_kb.map(|kb| kb as f64 * 1024.0)),
        labelled(
            Family::new(
                "edgewatt_soc_temperature_celsius",
                "gauge",
                "Temperature of each thermal zone, degrees Celsius.",
            ),
            "zone",
            &s.temps_mc,
            1e-3,
        ),
        labelled(
            Family::new(
                "edgewatt_cpu_frequency_hertz",
                "gauge",
                "Current frequency of each cpufreq policy, Hz.",
            ),
            "policy",
            &s.freqs_khz,
            1e3,
        ),
        Family::new(
            "edgewatt_throttled",
            "gauge",
            "The firmware's get_throttled bits: 0 under-voltage, 1 ARM frequency capped, 2 throttled, 3 soft temperature limit; 16-19 the same since boot.",
        )
        .with(&[], s.throttled.map(|b| b as f64)),
    ]
}

fn health(s: &Snapshot) -> Vec<Family> {
    let count = |v: u64| Some(v as f64);
    vec![
        Family::new("edgewatt_sampler_ticks_total", "counter", "Sampling ticks.")
            .with(&[], count(s.ticks_total)),
        Family::new(
            "edgewatt_sampler_late_ticks_total",
            "counter",
            "Ticks that came late (the daemon was starved of CPU).",
        )
        .with(&[], count(s.late_ticks_total)),
        Family::new(
            "edgewatt_sampler_read_errors_total",
            "counter",
            "Reads of /proc and /sys that failed.",
        )
        .with(&[], count(s.read_errors_total)),
        Family::new(
            "edgewatt_store_errors_total",
            "counter",
            "Failures writing the log (records stay queued and are retried).",
        )
        .with(&[], count(s.store_errors_total)),
        Family::new(
            "edgewatt_store_pending_bytes",
            "gauge",
            "Bytes of records queued for the log, not yet written.",
        )
        .with(&[], count(s.store_pending_bytes)),
    ]
}

fn runs(s: &Snapshot) -> Vec<Family> {
    let mut fams = vec![Family::new(
        "edgewatt_runs_total",
        "counter",
        "Finished workload runs, by outcome.",
    )
    .with(&[("outcome", "ok")], Some(s.runs_ok_total as f64))
    .with(&[("outcome", "failed")], Some(s.runs_failed_total as f64))];
    if let Some(run) = &s.last_run {
        fams.extend(last_run(run));
    }
    fams
}

fn last_run(run: &LastRun) -> Vec<Family> {
    let tps = Family::new(
        "edgewatt_last_run_tokens_per_second",
        "gauge",
        "Speed of the last finished run: prompt tokens/s in prefill, generated tokens/s in decode.",
    )
    .with(&[("phase", "prefill")], Some(run.prefill_tokens_per_s))
    .with(&[("phase", "decode")], Some(run.decode_tokens_per_s));
    let Some(e) = &run.energy else {
        return vec![tps];
    };
    let src = e.source.as_str();
    let jpt = Family::new(
        "edgewatt_last_run_joules_per_token",
        "gauge",
        "Energy of the last run per token, J: decode per generated token, prefill per prompt token; gross, or net of the idle baseline. source: the power sensor (measured) or estimate:CALIBRATION (estimated).",
    );
    let per = [
        ("decode", "gross", e.decode_gross_j_per_token),
        ("decode", "net", e.decode_net_j_per_token),
        ("prefill", "gross", e.prefill_gross_j_per_token),
        ("prefill", "net", e.prefill_net_j_per_token),
    ];
    let jpt = per.into_iter().fold(jpt, |f, (phase, energy, v)| {
        f.with(&[("source", src), ("phase", phase), ("energy", energy)], v)
    });
    let coverage = Family::new(
        "edgewatt_last_run_energy_coverage_ratio",
        "gauge",
        "Share of the last run's window covered by valid power readings, 0-1: below 1 the energy misses a gap.",
    )
    .with(&[("source", src)], Some(e.coverage_ratio));
    vec![tps, jpt, coverage]
}

fn upload(u: &UploadStatus) -> Vec<Family> {
    let mut fams = vec![
        Family::new(
            "edgewatt_upload_backlog_segments",
            "gauge",
            "Sealed segments not yet acknowledged by the remote store.",
        )
        .with(&[], Some(u.backlog_segments as f64)),
        Family::new(
            "edgewatt_upload_backlog_bytes",
            "gauge",
            "Bytes of the sealed segments not yet acknowledged by the remote store.",
        )
        .with(&[], Some(u.backlog_bytes as f64)),
    ];
    if let Some(e) = &u.last_error {
        fams.push(
            Family::new(
                "edgewatt_upload_last_error",
                "gauge",
                "1 while the last upload failed; message: why (credentials removed).",
            )
            .with(&[("message", &redact(e))], Some(1.0)),
        );
    }
    fams
}
