//! Where `edgewatt report`'s time goes, stage by stage, over a state directory (e.g. one
//! from `report_synth`): the log index, the cost rows, the estimate, the fits and the JSON;
//! and the floor under them: reading the frames and inflating the sample blocks, which any
//! reader of this log format pays.
//! `cargo run --release --no-default-features --example report_stages -- DIR`

use std::path::Path;
use std::time::Instant;

use edgewatt::cost::cache;
use edgewatt::cost::CostLog;
use edgewatt::cost::CostOptions;
use edgewatt::estimate::Calibrations;
use edgewatt::logread::Filter;
use edgewatt::logread::LogIndex;
use edgewatt::logread::LogSource;
use edgewatt::logread::RecordKind;
use edgewatt::record::Record;
use edgewatt::report::laws::Report;
use edgewatt::report::laws::ReportOptions;
use edgewatt::report::render::json;
use edgewatt::store::list_segments;
use edgewatt::store::Item;
use edgewatt::store::SegmentReader;

/// Seconds to read every frame of the log, seconds to inflate its sample blocks (nothing
/// decoded), and the blocks' deflated and inflated bytes.
fn floor(dir: &str) -> anyhow::Result<(f64, f64, usize, usize)> {
    let t = Instant::now();
    let mut blocks = Vec::new();
    for segment in list_segments(Path::new(dir))? {
        for item in SegmentReader::open(&segment.path)?.items() {
            if let Item::Frame { frame, .. } = item {
                if let Record::Samples(b) = frame.record {
                    blocks.push(b.data);
                }
            }
        }
    }
    let read_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut inflated = 0;
    // The inflater the reader uses, into a buffer as large as any block needs.
    let mut inflater = libdeflater::Decompressor::new();
    let mut out = vec![0; 1 << 24];
    for data in &blocks {
        inflated += inflater
            .deflate_decompress(data, &mut out)
            .map_err(|e| anyhow::anyhow!("a sample block does not inflate: {e}"))?;
    }
    let deflated = blocks.iter().map(Vec::len).sum();
    Ok((read_s, t.elapsed().as_secs_f64(), deflated, inflated))
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/report-bench/10000".into());
    let source = LogSource::dir(&dir);
    let kinds = [
        RecordKind::Sample,
        RecordKind::Power,
        RecordKind::Event,
        RecordKind::Run,
    ];
    let t = Instant::now();
    let index = LogIndex::build(&source, Filter::kinds(&kinds))?;
    let index_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    LogIndex::build(
        &source,
        Filter::kinds(&[RecordKind::Event, RecordKind::Run]),
    )?;
    let small_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    LogIndex::build(&source, Filter::kinds(&[RecordKind::Sample]))?;
    let sample_spans_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    LogIndex::build(&source, Filter::kinds(&[RecordKind::Power]))?;
    let power_spans_s = t.elapsed().as_secs_f64();
    drop(index);
    let t = Instant::now();
    let log = CostLog::read(&source, Filter::default(), CostOptions::default())?;
    let cost_s = t.elapsed().as_secs_f64();
    let mut rows = log.rows;
    let t = Instant::now();
    edgewatt::estimate::apply(&mut rows, &Calibrations::board_average());
    let estimate_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let report = Report::build(&rows, &ReportOptions::default());
    let fits_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let text = json(&report);
    let json_s = t.elapsed().as_secs_f64();
    println!(
        "index: {index_s:.3} s; events and runs alone (no block decoded) {small_s:.3} s; \
         the samples alone (every sample block decoded, on one thread) {sample_spans_s:.3} s; \
         the power readings alone {power_spans_s:.3} s"
    );
    println!(
        "{} rows; cost rows (index + derive) {cost_s:.3} s; \
         estimate {estimate_s:.3} s; fits {fits_s:.3} s; JSON {json_s:.3} s ({} bytes)",
        rows.len(),
        text.len()
    );
    let cache_dir = tempfile::tempdir()?;
    let cache = cache_dir.path().join("cost.bin");
    let t = Instant::now();
    let cold = cache::read_dir(Path::new(&dir), CostOptions::default(), &cache)?;
    let cold_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let warm = cache::read_dir(Path::new(&dir), CostOptions::default(), &cache)?;
    let warm_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(warm.log.rows == cold.log.rows, "the cache changed the rows");
    println!(
        "cost rows through the cache: {cold_s:.3} s written ({:?}), {warm_s:.3} s read \
         ({:?}); cache file {} bytes",
        cold.used,
        warm.used,
        std::fs::metadata(&cache)?.len()
    );
    let (read_s, inflate_s, deflated, inflated) = floor(&dir)?;
    println!(
        "floor: every frame read {read_s:.3} s; the sample blocks inflated, nothing decoded, \
         {inflate_s:.3} s ({deflated} B -> {inflated} B)"
    );
    Ok(())
}
