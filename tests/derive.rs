//! Derived values from samples that went through the sample block codec, as the CLI
//! will read them back from a log.

use edgewatt::derive::auc;
use edgewatt::derive::utilisation;
use edgewatt::derive::DeriveOptions;
use edgewatt::derive::Window;
use edgewatt::record::SampleBlockBuilder;
use edgewatt::sampler::group;
use edgewatt::synth;

#[test]
fn utilisation_survives_the_block_codec() {
    let layout = synth::pi5_layout();
    let mut samples = synth::trace(&layout, 300, 7);
    // Sample 100 loses its cpu reading: the points at samples 100 and 101 need it.
    samples[100].set_valid(group::CPU, false);
    let mut builder = SampleBlockBuilder::new(layout.clone());
    for s in &samples {
        builder.push(s).unwrap();
    }
    let decoded = builder.finish().unwrap().decode().unwrap();
    let opts = DeriveOptions {
        nominal_interval_us: Some(100_000),
        ..DeriveOptions::default()
    };
    let u = utilisation(&layout, &decoded, &opts).unwrap();
    assert_eq!(u, utilisation(&layout, &samples, &opts).unwrap());

    let t = |i: usize| samples[i].mono_us;
    let cpu = &u.cpu_machine_pct;
    assert_eq!(cpu.points().len(), 299 - 2);
    assert_eq!(cpu.breaks(), [t(100), t(101)]);
    assert!(cpu
        .points()
        .iter()
        .all(|&(_, v)| (0.0..=100.0).contains(&v)));
    let per_core = &u.cpu_per_core_sum_pct;
    assert!(per_core
        .points()
        .iter()
        .all(|&(_, v)| (0.0..=400.0).contains(&v)));
    // Everything from the first point (sample 1) to the last is integrated except the
    // two intervals whose CPU % is missing, sample 99 → 101 (each point holds over its own
    // interval: the ones after the hole are whole).
    let w = Window::new(t(1), t(299)).unwrap();
    let a = auc(cpu, w, 0.0);
    assert_eq!(a.coverage.integrated_us, (t(299) - t(1)) - (t(101) - t(99)));
    assert_eq!(a.coverage.largest_gap_us, t(101) - t(99));
    assert!(a.above > 0.0);
    // RAM is a gauge with a valid reading in every sample: one point each, no gap.
    assert_eq!(u.ram_used_mb.points().len(), 300);
    assert_eq!(
        auc(&u.ram_used_mb, Window::new(t(0), t(299)).unwrap(), 0.0)
            .coverage
            .fraction,
        1.0
    );
    // The worker's two conventions differ by the 4 cores exactly.
    let worker = &u.procs[1];
    for (m, s) in worker
        .cpu_machine_pct
        .points()
        .iter()
        .zip(worker.cpu_per_core_sum_pct.points())
    {
        assert_eq!(m.1, s.1 / 4.0);
    }
}
