//! Record log codec: encode/decode throughput of Samples frames, and bytes per sample
//! against a CSV of the same fields.
//!
//! Input: one hour of a synthetic Pi 5 trace at 10 Hz (36 000 samples), in blocks of
//! 50 samples (5 s, the default fsync interval) continuing each other with a key block
//! every 20 s (the default `key_block_interval_s`), as the daemon writes them. The printed
//! summary also has bytes/sample by block size (key every 60 s) and by key block interval
//! (5 s blocks). `cargo bench --no-default-features --bench codec`.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Instant;

use criterion::criterion_group;
use criterion::criterion_main;
use criterion::Criterion;
use criterion::Throughput;
use edgewatt::record::Frame;
use edgewatt::record::Record;
use edgewatt::record::SampleBlockBuilder;
use edgewatt::record::SampleDecoder;
use edgewatt::record::SampleLayout;
use edgewatt::sampler::Sample;
use edgewatt::store::scan_frames;
use edgewatt::store::FrameEncoder;
use edgewatt::store::Item;
use edgewatt::synth;

const SAMPLES: usize = 36_000;
/// Samples per block: the default fsync interval (5 s) at 10 Hz.
const BLOCK: usize = 50;
/// A key block every 20 s at 10 Hz, as the daemon's default `key_block_interval_s`.
const KEY_EVERY: u32 = 200;
/// Key block interval of the block-size table: 60 s, so blocks up to 60 s continue.
const BLOCK_TABLE_KEY_EVERY: u32 = 600;

fn csv_row(out: &mut String, s: &Sample) {
    let mut fields: Vec<u64> = vec![s.tick, s.mono_us];
    for c in &s.cpu {
        fields.extend_from_slice(&c.to_array());
    }
    fields.extend_from_slice(&s.mem.to_array());
    for p in &s.procs {
        fields.extend_from_slice(&p.to_array());
    }
    let temps = s.temps_mc.iter().map(|t| t.to_string());
    let rest = fields
        .iter()
        .map(u64::to_string)
        .chain(temps)
        .chain(s.freqs_khz.iter().map(u64::to_string))
        .chain([s.throttled.to_string(), s.valid.to_string()]);
    let row: Vec<String> = rest.collect();
    let _ = writeln!(out, "{}", row.join(","));
}

/// Encodes samples as the daemon does: 50-sample blocks, one frame each.
fn encode_all(
    samples: &[Sample],
    builder: &mut SampleBlockBuilder,
    enc: &mut FrameEncoder,
) -> Vec<u8> {
    encode_blocks(samples, BLOCK, builder, enc)
}

fn encode_blocks(
    samples: &[Sample],
    block: usize,
    builder: &mut SampleBlockBuilder,
    enc: &mut FrameEncoder,
) -> Vec<u8> {
    let mut out = Vec::new();
    builder.force_key();
    for (seq, chunk) in samples.chunks(block).enumerate() {
        for s in chunk {
            builder.push(s).expect("same layout");
        }
        let block = builder.finish().expect("non-empty block");
        builder.committed(seq as u64);
        let frame = Frame {
            seq: seq as u64,
            record: Record::Samples(block),
        };
        out.extend_from_slice(enc.encode(&frame).expect("encodes"));
    }
    out
}

fn decode_all(bytes: &[u8]) -> usize {
    let mut n = 0;
    let mut decoder = SampleDecoder::new();
    for item in scan_frames(bytes, 0) {
        if let Item::Frame { frame, .. } = item {
            if let Record::Samples(block) = frame.record {
                n += decoder
                    .decode(frame.seq, &block)
                    .expect("valid block")
                    .1
                    .len();
            }
        }
    }
    n
}

fn report(samples: &[Sample], encoded: &[u8]) {
    let layout = synth::pi5_layout();
    let mut csv = String::from("tick,mono_us,...\n");
    for s in samples {
        csv_row(&mut csv, s);
    }
    let frames = samples.len().div_ceil(BLOCK);
    let per_sample = encoded.len() as f64 / samples.len() as f64;
    let csv_per_sample = csv.len() as f64 / samples.len() as f64;
    println!(
        "layout: {} cpu lines, {} procs, {} zones, {} policies; {} samples in {} frames of {}",
        layout.cpus,
        layout.procs.len(),
        layout.thermal_zones.len(),
        layout.cpufreq.len(),
        samples.len(),
        frames,
        BLOCK
    );
    println!(
        "edgewatt: {} bytes = {per_sample:.2} bytes/sample (framing, CRC and block header included)",
        encoded.len()
    );
    println!(
        "csv:      {} bytes = {csv_per_sample:.1} bytes/sample",
        csv.len()
    );
    println!(
        "csv / edgewatt size ratio: {:.1}",
        csv_per_sample / per_sample
    );
    by_block_size(samples, &layout);
    speed(samples, encoded, frames);
}

/// Bytes per sample by block size (with and without tracked processes) and by key block
/// interval.
fn by_block_size(samples: &[Sample], layout: &SampleLayout) {
    let mut builder = SampleBlockBuilder::with_key_every(layout.clone(), BLOCK_TABLE_KEY_EVERY);
    let mut enc = FrameEncoder::new();
    let mut no_procs = layout.clone();
    no_procs.procs.clear();
    let bare = synth::trace(&no_procs, samples.len(), 1);
    let mut bare_builder = SampleBlockBuilder::with_key_every(no_procs, BLOCK_TABLE_KEY_EVERY);
    println!(
        "by block size (key every {} s):",
        BLOCK_TABLE_KEY_EVERY / 10
    );
    for block in [10, 50, 100, 300, 600] {
        let n = encode_blocks(samples, block, &mut builder, &mut enc).len() as f64;
        let m = encode_blocks(&bare, block, &mut bare_builder, &mut enc).len() as f64;
        println!(
            "  blocks of {block:>3} samples: {:.2} bytes/sample; without tracked procs {:.2}",
            n / samples.len() as f64,
            m / samples.len() as f64
        );
    }
    // What one corrupt block costs is bounded by the key block interval; what a shorter
    // interval costs in bytes, at the daemon's 5 s blocks (the default fsync interval).
    println!("by key_block_interval_s (blocks of {BLOCK}):");
    for key_s in [60u32, 30, 20, 15, 10, 5] {
        let mut keyed = SampleBlockBuilder::with_key_every(layout.clone(), key_s * 10);
        let n = encode_blocks(samples, BLOCK, &mut keyed, &mut enc).len() as f64;
        println!(
            "  key every {key_s:>2} s: {:.2} bytes/sample",
            n / samples.len() as f64
        );
    }
}

/// Encode and decode speed, over a few rounds.
fn speed(samples: &[Sample], encoded: &[u8], frames: usize) {
    let mut builder =
        SampleBlockBuilder::with_key_every(synth::pi5_layout(), BLOCK_TABLE_KEY_EVERY);
    let mut enc = FrameEncoder::new();
    let rounds = 5;
    let t = Instant::now();
    for _ in 0..rounds {
        black_box(encode_all(samples, &mut builder, &mut enc));
    }
    let enc_s = t.elapsed().as_secs_f64() / f64::from(rounds);
    let t = Instant::now();
    for _ in 0..rounds {
        black_box(decode_all(encoded));
    }
    let dec_s = t.elapsed().as_secs_f64() / f64::from(rounds);
    println!(
        "encode (samples -> frames): {:.0} frames/s, {:.0} samples/s, {:.2} MB/s of frames",
        frames as f64 / enc_s,
        samples.len() as f64 / enc_s,
        encoded.len() as f64 / enc_s / 1e6
    );
    println!(
        "decode (frames -> samples): {:.0} frames/s, {:.0} samples/s, {:.2} MB/s of frames",
        frames as f64 / dec_s,
        samples.len() as f64 / dec_s,
        encoded.len() as f64 / dec_s / 1e6
    );
}

fn codec(c: &mut Criterion) {
    let layout = synth::pi5_layout();
    let samples = synth::trace(&layout, SAMPLES, 1);
    let mut builder = SampleBlockBuilder::with_key_every(layout.clone(), KEY_EVERY);
    let mut enc = FrameEncoder::new();
    let encoded = encode_all(&samples, &mut builder, &mut enc);
    assert_eq!(decode_all(&encoded), SAMPLES);
    report(&samples, &encoded);

    let blocks: Vec<Frame> = samples
        .chunks(BLOCK)
        .enumerate()
        .map(|(seq, chunk)| {
            for s in chunk {
                builder.push(s).expect("same layout");
            }
            let block = builder.finish().expect("non-empty");
            builder.committed(seq as u64);
            Frame {
                seq: seq as u64,
                record: Record::Samples(block),
            }
        })
        .collect();

    let mut g = c.benchmark_group("codec");
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(4));
    g.throughput(Throughput::Bytes(encoded.len() as u64));
    g.bench_function("encode_samples_to_frames", |b| {
        b.iter(|| encode_all(black_box(&samples), &mut builder, &mut enc));
    });
    g.bench_function("frame_only_encode", |b| {
        b.iter(|| {
            let mut n = 0;
            for f in &blocks {
                n += enc.encode(black_box(f)).expect("encodes").len();
            }
            n
        });
    });
    g.bench_function("decode_frames_to_samples", |b| {
        b.iter(|| decode_all(black_box(&encoded)));
    });
    g.bench_function("frame_only_decode", |b| {
        b.iter(|| scan_frames(black_box(&encoded), 0).count());
    });
    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
