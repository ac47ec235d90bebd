use super::*;
use crate::sampler::ProcRole;
use crate::sampler::TrackedProc;
use crate::synth;

fn layout() -> SampleLayout {
    SampleLayout {
        cpus: 5,
        procs: vec![TrackedProc {
            pid: 42,
            role: ProcRole::Daemon,
        }],
        thermal_zones: vec!["thermal_zone0:cpu-thermal".into()],
        cpufreq: vec!["policy0".into()],
        throttled: true,
    }
}

#[test]
fn round_trip_keeps_every_value() {
    let samples = synth::trace(&layout(), 200, 7);
    let mut b = SampleBlockBuilder::new(layout());
    for s in &samples {
        b.push(s).unwrap();
    }
    let block = b.finish().unwrap();
    assert_eq!(block.count, 200);
    assert!(b.is_empty());
    assert_eq!(block.decode().unwrap(), samples);
}

#[test]
fn extreme_values_survive_wrapping_deltas() {
    let l = layout();
    let mut a = Sample::empty(&l);
    a.tick = u64::MAX;
    a.mono_us = 0;
    a.cpu[0].user = u64::MAX;
    a.temps_mc[0] = i64::MIN;
    a.valid = u64::MAX;
    let mut b = Sample::empty(&l);
    b.tick = 0;
    b.mono_us = u64::MAX;
    b.cpu[0].user = 1;
    b.temps_mc[0] = -40_000;
    let mut c = b.clone();
    c.cpu[3].steal = 1 << 63;
    let mut builder = SampleBlockBuilder::new(l);
    for s in [&a, &b, &c] {
        builder.push(s).unwrap();
    }
    assert_eq!(builder.finish().unwrap().decode().unwrap(), vec![a, b, c]);
}

#[test]
fn a_sample_of_another_layout_is_refused() {
    let mut other = layout();
    other.procs.clear();
    let mut builder = SampleBlockBuilder::new(layout());
    assert_eq!(
        builder.push(&Sample::empty(&other)),
        Err(BlockError::LayoutMismatch)
    );
    assert!(builder.finish().is_none());
}

#[test]
fn steady_counters_code_to_zeros() {
    // A constant rate makes every delta of delta zero: the whole block deflates to little.
    let l = SampleLayout {
        cpus: 1,
        ..SampleLayout::default()
    };
    let mut builder = SampleBlockBuilder::new(l.clone());
    for i in 0..1000u64 {
        let mut s = Sample::empty(&l);
        s.tick = i;
        s.mono_us = 5_000_000 + i * 100_000;
        s.cpu[0].idle = 1_000_000 + i * 10;
        builder.push(&s).unwrap();
    }
    let block = builder.finish().unwrap();
    assert!(block.data.len() < 100, "{} bytes", block.data.len());
}

#[test]
fn corrupt_data_is_an_error_not_a_panic() {
    let samples = synth::trace(&layout(), 50, 1);
    let mut b = SampleBlockBuilder::new(layout());
    samples.iter().for_each(|s| b.push(s).unwrap());
    let block = b.finish().unwrap();
    for i in 0..block.data.len() {
        let mut bad = block.clone();
        bad.data[i] ^= 0x5a;
        // Either detected, or (rarely) a different but well-formed block.
        if let Ok(decoded) = bad.decode() {
            assert_eq!(decoded.len(), 50);
        }
    }
    let mut short = block.clone();
    short.data.truncate(block.data.len() / 2);
    assert_eq!(short.decode(), Err(BlockError::Corrupt("deflate stream")));
    let mut wrong_count = block.clone();
    wrong_count.count = 49;
    assert!(wrong_count.decode().is_err());
    let mut codec = block;
    codec.codec = 9;
    assert_eq!(codec.decode(), Err(BlockError::UnknownCodec(9)));
}

#[test]
fn ten_hz_four_core_trace_is_compact() {
    // The target, measured properly by `cargo bench --bench codec`; here a
    // guard with headroom on a synthetic but noisy trace.
    let l = synth::pi5_layout();
    let samples = synth::trace(&l, 600, 3);
    let mut b = SampleBlockBuilder::new(l);
    samples.iter().for_each(|s| b.push(s).unwrap());
    let block = b.finish().unwrap();
    let framed = postcard::to_stdvec(&block).unwrap().len() + 8;
    let per_sample = framed as f64 / 600.0;
    eprintln!("{per_sample:.2} bytes per sample");
    assert!(per_sample <= 16.0, "{per_sample:.2} bytes per sample");
}
