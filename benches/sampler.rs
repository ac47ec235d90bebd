//! One full sampler tick on this machine's real /proc and /sys, tracking the bench's
//! own pid (as the daemon tracks itself).

use criterion::criterion_group;
use criterion::criterion_main;
use criterion::Criterion;
use edgewatt::sampler::ProcRole;
use edgewatt::sampler::Roots;
use edgewatt::sampler::Sample;
use edgewatt::sampler::Sampler;
use edgewatt::sampler::TrackedProc;

fn tick(c: &mut Criterion) {
    let me = TrackedProc {
        pid: std::process::id(),
        role: ProcRole::Daemon,
    };
    let mut sampler = match Sampler::new(Roots::default(), vec![me]) {
        Ok(s) => s,
        Err(e) => panic!("cannot sample this machine: {e}"),
    };
    let l = sampler.layout().clone();
    eprintln!(
        "layout: {} cpu lines, {} procs, thermal {:?}, cpufreq {:?}, throttled {}",
        l.cpus,
        l.procs.len(),
        l.thermal_zones,
        l.cpufreq,
        l.throttled
    );
    let mut out = Sample::empty(&l);
    let mut tick = 0u64;
    c.bench_function("sampler tick (real /proc, /sys; own pid)", |b| {
        b.iter(|| {
            tick += 1;
            let faults = sampler.read(tick, tick * 100_000, &mut out).len();
            sampler.drain_notices().for_each(drop);
            faults
        });
    });
    assert_eq!(
        sampler.read(tick + 1, 0, &mut out).len(),
        0,
        "a source failed"
    );
}

criterion_group!(benches, tick);
criterion_main!(benches);
