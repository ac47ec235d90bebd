//! The log layer at the analysis issue's scale: 1 M samples and 10 000 runs.
//!
//! Writes a state directory as the daemon does (10 Hz Pi 5 layout, 5 s blocks with a key
//! block every 20 s, a 50-reading power block per block, a run every 10 s, 8 MiB segments),
//! then prints, each measured in this one run:
//! - streaming every entry through `LogReader` against the reference, the bare store loop
//!   (`SegmentReader` + block decoders, no anchoring, no entries): time ratio;
//! - the peak RSS the streaming read added (VmHWM, reset before it);
//! - `LogIndex::build`, then each run's samples and power with a 10 s lead-in read again
//!   (`around_run`): time, and bytes read again against the log's size.
//!
//! `cargo bench --no-default-features --bench logread`.

use std::time::Instant;

use edgewatt::clock::Anchor;
use edgewatt::logread::Filter;
use edgewatt::logread::LogIndex;
use edgewatt::logread::LogReader;
use edgewatt::logread::LogSource;
use edgewatt::logread::RecordKind;
use edgewatt::power::PowerReading;
use edgewatt::power::SourceId;
use edgewatt::record::PowerBlockBuilder;
use edgewatt::record::Record;
use edgewatt::record::Run;
use edgewatt::record::RunPhase;
use edgewatt::record::RunSettings;
use edgewatt::record::SampleBlockBuilder;
use edgewatt::record::SampleDecoder;
use edgewatt::record::SealReason;
use edgewatt::store::list_segments;
use edgewatt::store::Item;
use edgewatt::store::SegmentIdent;
use edgewatt::store::SegmentReader;
use edgewatt::store::Writer;
use edgewatt::synth;

const SAMPLES: usize = 1_000_000;
/// One hour at 10 Hz, repeated (shifted in time) to make up `SAMPLES`.
const HOUR: usize = 36_000;
const BLOCK: usize = 50;
const KEY_EVERY: u32 = 200;
/// A run every 100 samples (10 s): 10 000 runs.
const RUN_EVERY: usize = 100;

fn run_record(id: u64, start_us: u64) -> Record {
    let settings = RunSettings {
        threads: 2,
        n_ctx: 512,
        n_batch: 512,
        seed: 1,
        prompt_tokens: 64,
        gen_tokens: 32,
        keep_loaded: true,
        image_min_tokens: -1,
        image_max_tokens: -1,
    };
    let mut r = Run::blank(format!("llm/pp64/tg32/t2#{}", id % 7), 4242, settings);
    r.run_id = id;
    r.output = "The quick brown fox jumps over the lazy dog. ".repeat(3);
    for (phase, t) in [
        (RunPhase::Load, start_us),
        (RunPhase::Prefill, start_us + 200_000),
        (RunPhase::Decode, start_us + 400_000),
        (RunPhase::Done, start_us + 3_000_000),
    ] {
        r.phases
            .push(edgewatt::record::PhaseMark { phase, mono_us: t });
    }
    Record::Run(Box::new(r))
}

fn write_log(dir: &std::path::Path) -> (u64, usize) {
    let mut opts = edgewatt::config::StoreConfig::default().options(dir.to_path_buf());
    opts.segment_max_bytes = 8 << 20;
    opts.segment_max_age_s = u64::MAX / 2_000_000;
    opts.retain_bytes = u64::MAX;
    let ident = SegmentIdent::new("bench-pi".into(), "bench-boot".into());
    let t0 = 3_600_000_000;
    let anchor = |mono_us| Anchor {
        mono_us,
        wall_unix_us: 1_700_000_000_000_000 + mono_us as i64,
    };
    let (mut w, _) = Writer::open(opts, ident, anchor(t0)).expect("open store");
    let layout = synth::pi5_layout();
    let hour = synth::trace(&layout, HOUR, 7);
    let mut b = SampleBlockBuilder::with_key_every(layout, KEY_EVERY);
    let mut runs = 0;
    for start in (0..SAMPLES).step_by(BLOCK) {
        let mut power = PowerBlockBuilder::new(SourceId::Ina219, "ina219 0x40", 100_000);
        for i in start..start + BLOCK {
            let mut s = hour[i % HOUR].clone();
            s.tick = i as u64;
            s.mono_us = t0 + i as u64 * 100_000;
            b.push(&s).expect("layout");
            let uw = 4_000_000 + (i % 97) as i64 * 1000;
            power
                .push(&PowerReading::power_only(
                    s.mono_us + 50_000,
                    SourceId::Ina219,
                    uw,
                ))
                .expect("power");
        }
        let seq = w
            .append(&Record::Samples(b.finish().expect("block")))
            .expect("append");
        b.committed(seq);
        w.append(&Record::Power(power.finish().expect("power block")))
            .expect("append");
        if start % RUN_EVERY == 0 {
            let at = t0 + start as u64 * 100_000;
            w.append(&run_record(runs, at)).expect("append");
            runs += 1;
        }
        let now = t0 + (start + BLOCK) as u64 * 100_000;
        if w.maybe_rotate(now, anchor(now)).expect("rotate").is_some() {
            b.force_key();
        }
    }
    w.close(SealReason::Shutdown, t0 + SAMPLES as u64 * 100_000)
        .expect("close");
    let bytes = list_segments(dir)
        .expect("list")
        .iter()
        .map(|s| s.len_bytes)
        .sum();
    (bytes, runs as usize)
}

/// The bare store loop: every segment's frames and blocks decoded, nothing else.
fn bare_read(dir: &std::path::Path) -> (u64, u64) {
    let (mut samples, mut readings) = (0, 0);
    for seg in list_segments(dir).expect("list") {
        let reader = SegmentReader::open(&seg.path).expect("segment");
        let mut decoder = SampleDecoder::new();
        for item in reader.items() {
            if let Item::Frame { frame, .. } = item {
                match &frame.record {
                    Record::Samples(b) => {
                        samples += decoder.decode(frame.seq, b).map_or(0, |d| d.1.len()) as u64;
                    }
                    Record::Power(b) => readings += b.decode().map_or(0, |r| r.len()) as u64,
                    _ => {}
                }
            }
        }
    }
    (samples, readings)
}

fn status_kb(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    let (log_bytes, runs) = write_log(tmp.path());
    let segments = list_segments(tmp.path()).expect("list").len();
    println!(
        "log: {SAMPLES} samples, {SAMPLES} power readings, {runs} runs; {segments} segments, \
         {:.1} MB ({:.1} bytes/sample); written in {:.1} s",
        log_bytes as f64 / 1e6,
        log_bytes as f64 / SAMPLES as f64,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let (bare_samples, bare_readings) = bare_read(tmp.path());
    let bare_s = t.elapsed().as_secs_f64();
    assert_eq!(
        (bare_samples, bare_readings),
        (SAMPLES as u64, SAMPLES as u64)
    );

    // Reset the high-water mark, then stream every entry.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before_kb = status_kb("VmRSS:");
    let t = Instant::now();
    let mut reader =
        LogReader::open(&LogSource::dir(tmp.path()), Filter::default()).expect("reader");
    let mut counts = [0u64; 5];
    for e in reader.entries() {
        counts[RecordKind::ALL
            .iter()
            .position(|k| *k == e.payload.kind())
            .unwrap_or(0)] += 1;
    }
    let layer_s = t.elapsed().as_secs_f64();
    let peak_kb = status_kb("VmHWM:");
    assert_eq!(counts[0], SAMPLES as u64, "every sample");
    assert_eq!(counts[3], SAMPLES as u64, "every power reading");
    assert_eq!(counts[4], runs as u64, "every run");
    assert!(!reader.damage().is_damaged());
    println!(
        "stream every entry: logread {layer_s:.2} s, bare store loop {bare_s:.2} s: ratio {:.2} \
         ({:.2} M entries/s); peak RSS added while streaming {:.1} MB (before {:.1} MB)",
        layer_s / bare_s,
        counts.iter().sum::<u64>() as f64 / layer_s / 1e6,
        peak_kb.saturating_sub(rss_before_kb) as f64 / 1024.0,
        rss_before_kb as f64 / 1024.0
    );

    let t = Instant::now();
    let index = LogIndex::build(&LogSource::dir(tmp.path()), Filter::default()).expect("index");
    let build_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (mut samples, mut reread) = (0, 0);
    let runs_indexed: Vec<_> = index.runs().map(|(e, _)| e.clone()).collect();
    for e in &runs_indexed {
        let (s, p) = index
            .around_run(e, 10_000_000, 0)
            .expect("re-read")
            .expect("phases");
        samples += s.samples.len();
        reread += s.bytes_read + p.bytes_read;
    }
    let around_s = t.elapsed().as_secs_f64();
    println!(
        "index: built in {build_s:.2} s ({} sample blocks, {} runs); each run with a 10 s \
         lead-in read again: {:.2} ms per run, {} samples, {:.1} KB read per run \
         ({:.3} % of the log per run)",
        index.sample_blocks().len(),
        runs_indexed.len(),
        around_s * 1e3 / runs_indexed.len() as f64,
        samples / runs_indexed.len(),
        reread as f64 / runs_indexed.len() as f64 / 1e3,
        reread as f64 / runs_indexed.len() as f64 / log_bytes as f64 * 100.0
    );
}
