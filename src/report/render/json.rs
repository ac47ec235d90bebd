//! The report as pretty-printed JSON, byte for byte what `serde_json::to_writer_pretty`
//! writes, made in parts on several threads: over a long log the JSON is megabytes (every
//! run, every point fitted), and making it on one core was a fifth of a report's time.

use std::io::Write;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;

use serde::Serialize;
use serde_json::ser::Formatter;

use crate::report::laws::Report;

/// Runs per part: small enough to spread over the cores, large enough that a part is
/// worth a thread's turn.
const RUNS_PER_PART: usize = 1000;

/// serde_json's pretty layout (two spaces a level) starting `depth` levels in, so that a
/// value made on its own fits where it goes in the whole.
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    const fn at(depth: usize) -> Self {
        Self {
            depth,
            has_value: false,
        }
    }

    fn newline<W: ?Sized + Write>(&self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b"\n")?;
        (0..self.depth).try_for_each(|_| w.write_all(b"  "))
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> std::io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline(w)?;
        }
        w.write_all(bracket)
    }

    fn item<W: ?Sized + Write>(&self, w: &mut W, first: bool) -> std::io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// `value` at `depth`, appended to `out`.
fn value_at<T: Serialize + ?Sized>(value: &T, depth: usize, out: &mut Vec<u8>) {
    let mut ser = serde_json::Serializer::with_formatter(out, Pretty::at(depth));
    // Writing to a Vec cannot fail, and the report's types always serialize (no map
    // with non-string keys).
    value
        .serialize(&mut ser)
        .expect("the report serializes to JSON");
}

/// One part of the JSON, made on any thread.
type Part<'r> = Box<dyn Fn(&mut Vec<u8>) + Send + Sync + 'r>;

/// `"name": value` of the report's top level, with the separator before it.
fn field<'r, T: Serialize + Sync + ?Sized>(name: &'r str, value: &'r T, first: bool) -> Part<'r> {
    Box::new(move |out| {
        out.extend_from_slice(if first { b"\n  \"" } else { b",\n  \"" });
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\": ");
        value_at(value, 1, out);
    })
}

/// The parts in order: the fields before the runs, then the runs `runs_per_part` at a time.
/// The fields are `Report`'s in its order; a field added there and not here makes the test
/// against serde_json's whole output fail.
fn parts(r: &Report, runs_per_part: usize) -> Vec<Part<'_>> {
    let mut parts = vec![
        field("sources", &r.sources, true),
        field("include_flagged", &r.include_flagged, false),
        field("calibrations", &r.calibrations, false),
        field("notes", &r.notes, false),
        field("problems", &r.problems, false),
        field("llm", &r.llm, false),
        field("knees", &r.knees, false),
        field("comparisons", &r.comparisons, false),
        field("estimate_errors", &r.estimate_errors, false),
        field("phases", &r.phases, false),
    ];
    if r.runs.is_empty() {
        parts.push(Box::new(|out: &mut Vec<u8>| {
            out.extend_from_slice(b",\n  \"runs\": []")
        }));
        return parts;
    }
    parts.push(Box::new(|out: &mut Vec<u8>| {
        out.extend_from_slice(b",\n  \"runs\": [")
    }));
    for (i, chunk) in r.runs.chunks(runs_per_part).enumerate() {
        parts.push(Box::new(move |out: &mut Vec<u8>| {
            for (j, run) in chunk.iter().enumerate() {
                out.extend_from_slice(if i == 0 && j == 0 {
                    b"\n    "
                } else {
                    b",\n    "
                });
                value_at(run, 2, out);
            }
        }));
    }
    parts.push(Box::new(|out: &mut Vec<u8>| {
        out.extend_from_slice(b"\n  ]")
    }));
    parts
}

/// Writes the report as JSON to `out`: its parts are made on a thread per core and
/// written in order as they come, so writing overlaps making.
///
/// # Errors
/// Writing to `out` failed.
pub fn write(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    write_in(report, RUNS_PER_PART, out)
}

fn write_in(report: &Report, runs_per_part: usize, out: &mut impl Write) -> std::io::Result<()> {
    let parts = parts(report, runs_per_part);
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    std::thread::scope(|s| {
        // Bounded: parts made wait while the writer is behind (a slow pipe), so that the
        // whole JSON is not held at once.
        let (made, arrive) = std::sync::mpsc::sync_channel::<(usize, Vec<u8>)>(threads);
        for _ in 0..threads.min(parts.len()) {
            let made = made.clone();
            let (parts, next) = (&parts, &next);
            s.spawn(move || {
                // Parts are taken in order, so they arrive nearly in order; a part
                // whose writer has gone (a write failed) is not made.
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(part) = parts.get(i) else {
                        return;
                    };
                    let mut bytes = Vec::new();
                    part(&mut bytes);
                    if made.send((i, bytes)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(made);
        out.write_all(b"{")?;
        let mut early: Vec<Option<Vec<u8>>> = vec![None; parts.len()];
        let mut due = 0;
        for (i, bytes) in arrive {
            early[i] = Some(bytes);
            while let Some(bytes) = early.get_mut(due).and_then(Option::take) {
                out.write_all(&bytes)?;
                due += 1;
            }
        }
        out.write_all(b"\n}\n")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::CostLog;
    use crate::cost::CostOptions;
    use crate::logread::Filter;
    use crate::logread::LogSource;
    use crate::report::laws::ReportOptions;
    use crate::synth::calib::PowerTruth;
    use crate::synth::calib::SynthCase;
    use crate::synth::calib::SynthLog;
    use crate::synth::calib::SynthRun;

    /// What serde_json writes for the whole report at once: the reference.
    fn reference(r: &Report) -> String {
        serde_json::to_string_pretty(r).unwrap() + "\n"
    }

    fn made(r: &Report, runs_per_part: usize) -> String {
        let mut out = Vec::new();
        write_in(r, runs_per_part, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn run(tokens: u32, case: SynthCase) -> SynthRun {
        SynthRun {
            load_pct: 40.0 + f64::from(tokens % 7),
            duration_s: 1.0 + f64::from(tokens) / 100.0,
            ram_mb: 200.0,
            freq_mhz: 2400,
            prompt_tokens: tokens,
            ok: tokens != 48,
            case,
        }
    }

    /// A report with every part filled: LLM laws (one run failed), a knee, base vs
    /// compressed, estimates and phases, text that JSON escapes.
    fn full() -> Report {
        let mut runs = Vec::new();
        for (workload, base, quant) in [("f16", None, "F16"), ("q4", Some("f16"), "Q4_1")] {
            for tokens in [16, 32, 48, 64, 96, 128] {
                runs.push(run(
                    tokens,
                    SynthCase {
                        workload: Some(workload),
                        base_workload: base,
                        quantization: Some(quant),
                        output: "a \"quoted\" line\n\tand a tab, é",
                        ..SynthCase::default()
                    },
                ));
            }
        }
        for side in [224, 336, 448, 672, 896] {
            let tokens = (side * side).min(500 * 500) / 784;
            runs.push(run(
                16,
                SynthCase {
                    workload: Some("vlm"),
                    image: Some((side, side, tokens)),
                    ..SynthCase::default()
                },
            ));
        }
        let truth = PowerTruth {
            idle_w: 3.0,
            cpu_w_per_pct: 0.04,
            ram_w_per_mb: 0.002,
            cpu_ghz_w_per_pct_ghz: 0.0,
        };
        let mut log = SynthLog::new(truth, runs);
        log.power_period_us = 100_000;
        let dir = tempfile::tempdir().unwrap();
        crate::synth::calib::write(dir.path(), &log).unwrap();
        let source = LogSource::dir(dir.path());
        let rows = CostLog::read(&source, Filter::default(), CostOptions::default())
            .unwrap()
            .rows;
        let opts = ReportOptions {
            knee_bootstrap_reps: 19,
            ..ReportOptions::default()
        };
        let mut r = Report::build(&rows, &opts);
        r.sources = vec!["dir \"one\"".into(), "two".into()];
        r.problems = vec!["a problem".into()];
        r
    }

    #[test]
    fn the_json_is_what_serde_json_writes_whole_however_the_runs_are_cut() {
        let r = full();
        assert!(!r.llm.is_empty() && !r.knees.is_empty() && !r.comparisons.is_empty());
        assert_eq!(r.runs.len(), 17);
        let want = reference(&r);
        for runs_per_part in [1, 2, 5, 16, 17, 1000] {
            assert_eq!(made(&r, runs_per_part), want, "{runs_per_part} runs a part");
        }
    }

    #[test]
    fn an_empty_report_is_what_serde_json_writes() {
        let r = Report::build(&[], &ReportOptions::default());
        assert_eq!(made(&r, 2), reference(&r));
    }
}
