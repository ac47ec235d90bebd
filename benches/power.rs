//! Power source costs: INA219 reads on the emulated bus (driver + register traffic, no I2C
//! wire time), PMIC reads through a spawned `vcgencmd` vs parsing alone, energy integration
//! and the power record codec. Prints a summary of rates and CPU per read before criterion.
//!
//! `cargo bench --no-default-features --bench power`

use std::hint::black_box;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::path::PathBuf;

use criterion::criterion_group;
use criterion::Criterion;
use edgewatt::clock::mono_us;
use edgewatt::clock::thread_cpu_us;
use edgewatt::clock::FakeClock;
use edgewatt::derive::energy::integrate;
use edgewatt::derive::energy::Integration;
use edgewatt::derive::Window;
use edgewatt::power::fake::FakeIna219;
use edgewatt::power::ina219::Ina219Config;
use edgewatt::power::ina219::Ina219Source;
use edgewatt::power::pmic;
use edgewatt::power::pmic::PmicConfig;
use edgewatt::power::pmic::PmicSource;
use edgewatt::power::PowerReading;
use edgewatt::power::PowerSource;
use edgewatt::power::SourceId;
use edgewatt::record::PowerBlockBuilder;

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pmic/pi5_load.txt")
}

/// An INA219 on the fake bus whose every poll finds a fresh conversion.
fn ina219_source() -> Ina219Source<FakeIna219> {
    let clock = FakeClock::new(1_000_000);
    let mut fake = FakeIna219::new(
        0x40,
        10_000,
        clock,
        Box::new(|t| (5_080, 600_000 + (t % 7) as i64 * 10_000)),
    );
    fake.period_override_us = Some(0);
    let cfg = Ina219Config {
        config_check_polls: 100,
        ..Ina219Config::default()
    };
    Ina219Source::open(fake, &cfg, "fake")
        .map_err(|e| e.0)
        .expect("the fake INA219 initialises")
}

/// Puts a fake `vcgencmd` that prints the fixture first on PATH.
fn fake_vcgencmd_on_path(dir: &Path) {
    let script = dir.join("vcgencmd");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ncat '{}'\n", fixture_path().display()),
    )
    .expect("write fake vcgencmd");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("chmod fake vcgencmd");
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::set_var("PATH", format!("{}:{path}", dir.display()));
}

fn pmic_command_source() -> PmicSource {
    PmicSource::open(&PmicConfig {
        vcio: PathBuf::from("/nonexistent/vcio"),
        vcgencmd: PathBuf::from("vcgencmd"),
        interval_ms: 100,
    })
    .expect("fake vcgencmd on PATH")
}

/// CPU time of waited-for children (user + system), µs.
fn children_cpu_us() -> u64 {
    // SAFETY: getrusage only writes the zeroed struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_CHILDREN is valid and `ru` is writable.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    us(ru.ru_utime) + us(ru.ru_stime)
}

/// Wall time, this thread's CPU and children's CPU per call over `n` calls, µs.
fn per_call(n: u64, mut f: impl FnMut(u64)) -> (f64, f64, f64) {
    let (w0, t0, c0) = (mono_us(), thread_cpu_us(), children_cpu_us());
    for i in 0..n {
        f(i);
    }
    let (w1, t1, c1) = (mono_us(), thread_cpu_us(), children_cpu_us());
    let n = n as f64;
    (
        (w1 - w0) as f64 / n,
        (t1 - t0) as f64 / n,
        (c1 - c0) as f64 / n,
    )
}

fn summary() {
    let mut src = ina219_source();
    let (wall, cpu, _) = per_call(100_000, |i| {
        black_box(src.poll(i).expect("fake read").expect("fresh conversion"));
    });
    println!(
        "ina219 fake bus: {wall:.2} µs wall, {cpu:.2} µs CPU per read -> {:.0} reads/s \
         (software ceiling; a real 100 kHz bus adds ~0.3-0.5 ms per register read)",
        1e6 / wall
    );
    let text = std::fs::read_to_string(fixture_path()).expect("fixture");
    let (wall, cpu, _) = per_call(100_000, |_| {
        black_box(pmic::parse(black_box(&text)).expect("parse"));
    });
    println!("pmic parse only: {wall:.2} µs wall, {cpu:.2} µs CPU per reply");
    let mut pmic = pmic_command_source();
    let (wall, cpu, child) = per_call(200, |i| {
        black_box(pmic.poll(i).expect("command read"));
    });
    println!(
        "pmic via spawned command: {wall:.0} µs wall, {cpu:.0} µs CPU in edgewatt + {child:.0} µs \
         in the child per read; mailbox not measurable here (no /dev/vcio)"
    );
}

fn benches(c: &mut Criterion) {
    let mut src = ina219_source();
    let mut t = 0;
    c.bench_function("ina219_poll_fake_bus", |b| {
        b.iter(|| {
            t += 1;
            black_box(src.poll(t).expect("fake read"))
        });
    });
    let text = std::fs::read_to_string(fixture_path()).expect("fixture");
    c.bench_function("pmic_parse", |b| {
        b.iter(|| black_box(pmic::parse(black_box(&text)).expect("parse")));
    });
    let mut pmic = pmic_command_source();
    let mut group = c.benchmark_group("pmic_command");
    group.sample_size(20);
    group.bench_function("pmic_read_via_vcgencmd", |b| {
        b.iter(|| black_box(pmic.poll(0).expect("command read")));
    });
    group.finish();
    // One hour at 100 Hz.
    let readings: Vec<PowerReading> = (0..360_000u64)
        .map(|i| {
            PowerReading::power_only(i * 10_000, SourceId::Ina219, 3_000_000 + (i % 97) as i64)
        })
        .collect();
    c.bench_function("integrate_1h_at_100hz", |b| {
        b.iter(|| {
            integrate(
                black_box(&readings),
                Window::spanning(0, 3_600_000_000),
                Integration::for_period(10_000),
                Some(2_500_000),
            )
        });
    });
    c.bench_function("power_block_encode_1000", |b| {
        let mut builder = PowerBlockBuilder::new(SourceId::Ina219, "bench", 10_000);
        b.iter(|| {
            for r in &readings[..1000] {
                builder.push(r).expect("push");
            }
            black_box(builder.finish())
        });
    });
}

criterion_group!(power, benches);

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    fake_vcgencmd_on_path(dir.path());
    summary();
    power();
    Criterion::default().configure_from_args().final_summary();
}
