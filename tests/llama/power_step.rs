//! The power reader keeps up while llama.cpp saturates every core: a power source with a
//! step at a known instant inside a real run's decode phase, read by the daemon's reader
//! thread at the daemon's power-thread priority, puts the step between two consecutive
//! readings (joined, not a hole), the run's figure is trusted, and the decode phase's net
//! energy is the step's to within one period's worth (half the readings' spacing at the
//! step, if a loaded machine made it longer than two periods): readings and run phases
//! line up within one reading period.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use edgewatt::clock::MonoClock;
use edgewatt::derive::energy::run_baseline;
use edgewatt::derive::energy::run_energy;
use edgewatt::derive::energy::BaselineFrom;
use edgewatt::derive::energy::Figure;
use edgewatt::derive::energy::Integration;
use edgewatt::derive::energy::MinCoverage;
use edgewatt::derive::energy::RunSpec;
use edgewatt::derive::energy::Tokens;
use edgewatt::derive::runs::phase_windows;
use edgewatt::derive::Window;
use edgewatt::power::reader::PowerMsg;
use edgewatt::power::reader::PowerReader;
use edgewatt::power::reader::ReaderConfig;
use edgewatt::power::reader::POWER_THREAD_NICE;
use edgewatt::power::PowerError;
use edgewatt::power::PowerReading;
use edgewatt::power::PowerSource;
use edgewatt::power::SourceId;

use super::*;

const PERIOD_US: u64 = 10_000;
const LOW_UW: i64 = 2_000_000;
const HIGH_UW: i64 = 6_000_000;
/// Readings of the idle level before the run starts: 0.3 s, several joined gaps (40 ms).
const IDLE_READINGS: u64 = 30;
/// The step comes this long after the decode phase begins.
const STEP_AFTER_DECODE_US: u64 = 100_000;
/// What this test checks is timing within a run, not speed: llama.cpp's threads spinning
/// on every core of a machine loaded by others can take minutes, so the runs get long.
const SLOW_LIMIT: Duration = Duration::from_secs(600);

/// A sensor whose power steps from [`LOW_UW`] to [`HIGH_UW`] at the instant in `step_us`
/// (CLOCK_MONOTONIC µs; `u64::MAX` until it is set): each poll reads the power of its own
/// instant, as a sensor's conversion does.
struct StepSource {
    step_us: Arc<AtomicU64>,
    /// Readings made so far (the test starts its run once the idle level has some).
    readings: Arc<AtomicU64>,
}

impl PowerSource for StepSource {
    fn id(&self) -> SourceId {
        SourceId::Replay
    }
    fn label(&self) -> String {
        "step".into()
    }
    fn period_us(&self) -> u64 {
        PERIOD_US
    }
    fn poll(&mut self, now_us: u64) -> Result<Option<PowerReading>, PowerError> {
        self.readings.fetch_add(1, Ordering::Relaxed);
        let high = now_us >= self.step_us.load(Ordering::Relaxed);
        let p = if high { HIGH_UW } else { LOW_UW };
        Ok(Some(PowerReading::power_only(now_us, SourceId::Replay, p)))
    }
}

/// The nice value of this process's thread named `name`.
fn thread_nice(name: &str) -> Option<i64> {
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = task.ok()?.path();
        let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
        if comm.trim() == name {
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            // Fields after the `(comm)`: state is 3rd, nice the 19th.
            let rest = &stat[stat.rfind(')')? + 2..];
            return rest.split(' ').nth(16)?.parse().ok();
        }
    }
    None
}

#[test]
fn readings_line_up_with_run_phases_within_one_period_under_a_saturating_worker() {
    let Some(path) = super::smollm2::smollm2_or_skip() else {
        return;
    };
    let (run, readings, step) = step_during_decode(path);
    let around_us = readings_around(&readings, step);
    let mark = |p: RunPhase| run.phases.iter().find(|m| m.phase == p).unwrap().mono_us;
    eprintln!(
        "{} readings over the {} ms run",
        readings.len(),
        (mark(RunPhase::Done) - mark(RunPhase::Load)) / 1000
    );
    check_energy(&run, &readings, step, around_us);
}

/// A real run on every core while [`StepSource`] is read by the daemon's reader thread at
/// its priority, the power stepping up [`STEP_AFTER_DECODE_US`] into the decode phase:
/// the run, the readings and the step's instant.
fn step_during_decode(path: &Path) -> (Run, Vec<PowerReading>, u64) {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut job = Job::text(path);
    job.prompt = Prompt::Corpus {
        path: None,
        tokens: 32,
    };
    job.gen_tokens = 24;
    job.threads = cores as u32;
    let mut sup = supervisor();
    // A first short run spawns the worker and loads the model; the measured one follows.
    let warm = Job {
        prompt: Prompt::Corpus {
            path: None,
            tokens: 8,
        },
        gen_tokens: 2,
        ..job.clone()
    };
    assert_ok(&sup.run(&warm, SLOW_LIMIT));

    let step_us = Arc::new(AtomicU64::new(u64::MAX));
    let made = Arc::new(AtomicU64::new(0));
    let source = StepSource {
        step_us: Arc::clone(&step_us),
        readings: Arc::clone(&made),
    };
    let cfg = ReaderConfig {
        thread_nice: Some(POWER_THREAD_NICE),
        ..ReaderConfig::default()
    };
    let reader = PowerReader::spawn(source, MonoClock, cfg).unwrap();
    // The baseline before the run needs readings of the idle level: the run starts once
    // the reader has made enough to span several joined gaps (on a fast machine the
    // warm worker would otherwise start the run before the reader's first readings).
    let deadline = std::time::Instant::now() + SLOW_LIMIT;
    while made.load(Ordering::Relaxed) < IDLE_READINGS {
        assert!(
            std::time::Instant::now() < deadline,
            "the power reader makes no readings"
        );
        std::thread::yield_now();
    }
    let run = sup.run_observed(&job, SLOW_LIMIT, &mut |_, mark| {
        if mark.phase == RunPhase::Decode {
            step_us.store(mark.mono_us + STEP_AFTER_DECODE_US, Ordering::Relaxed);
        }
    });
    let nice = thread_nice("power-replay");
    let (_, msgs) = reader.finish();
    assert_ok(&run);
    assert_eq!(
        nice,
        Some(i64::from(POWER_THREAD_NICE)),
        "the reader thread runs at the daemon's power-thread priority (lowering a nice \
         value needs root, CAP_SYS_NICE or `ulimit -e 30`, as the unit's LimitNICE= gives)"
    );
    let readings: Vec<PowerReading> = msgs
        .into_iter()
        .filter_map(|m| match m {
            PowerMsg::Reading(r) => Some(r),
            PowerMsg::Notice { .. } => None,
        })
        .collect();
    let mark = |p: RunPhase| run.phases.iter().find(|m| m.phase == p).unwrap().mono_us;
    let step = step_us.load(Ordering::Relaxed);
    assert_eq!(step, mark(RunPhase::Decode) + STEP_AFTER_DECODE_US);
    assert!(
        mark(RunPhase::Done) > step + PERIOD_US,
        "decode ends after the step: {run:?}"
    );
    (run, readings, step)
}

/// Checks that `step` lies between two consecutive readings; their spacing, µs.
fn readings_around(readings: &[PowerReading], step: u64) -> u64 {
    // The step lies between two consecutive readings: the last low one before it and the
    // first high one at or after it. They are one period apart when the reader keeps its
    // pace; a poll the loaded machine delayed past its slot stretches that, but never to a
    // hole (more than the largest joined gap, four periods).
    let first = readings.iter().position(|r| r.power_uw == HIGH_UW).unwrap();
    assert!(first > 0, "low readings come before the step");
    let (low, high) = (&readings[first - 1], &readings[first]);
    assert!(
        low.mono_us < step && step <= high.mono_us,
        "the step at {step} µs is between readings at {} and {} µs",
        low.mono_us,
        high.mono_us
    );
    let around_us = high.mono_us - low.mono_us;
    eprintln!(
        "power step: seen {} µs after it, readings around it {around_us} µs apart (period \
         {PERIOD_US} µs)",
        high.mono_us - step,
    );
    assert!(
        around_us <= Integration::for_period(PERIOD_US).max_gap_us,
        "the readings around the step are {around_us} µs apart: the reader fell behind its \
         {PERIOD_US} µs period"
    );
    around_us
}

/// The run's energy as the daemon computes it, against the step's.
fn check_energy(run: &Run, readings: &[PowerReading], step: u64, around_us: u64) {
    let mark = |p: RunPhase| run.phases.iter().find(|m| m.phase == p).unwrap().mono_us;
    let (start, done) = (mark(RunPhase::Load), mark(RunPhase::Done));
    let integration = Integration::for_period(PERIOD_US);
    // The run's energy, as the daemon computes it: the baseline before the rise is the
    // low level, the decode phase holds the step to within one period's worth of it.
    let phases = phase_windows(&run.phases);
    let e = run_energy(
        readings,
        &RunSpec {
            source_label: "step",
            period_us: PERIOD_US,
            run: Window::spanning(start, done),
            phases: &phases,
            baseline: run_baseline(start, None, None, integration),
            tokens: Tokens {
                prompt: u64::from(run.prompt_tokens),
                generated: u64::from(run.generated_tokens),
            },
        },
    );
    assert_eq!(e.baseline.unwrap().power_uw, LOW_UW);
    // A trusted figure: the reader covered the run despite the worker on every core.
    assert_eq!(
        e.figure(Figure::GrossJ, MinCoverage::DEFAULT).err(),
        None,
        "{:?}",
        e.run
    );
    let prefill = e.phase(RunPhase::Prefill).unwrap();
    assert_eq!(
        prefill.net_uj,
        Some(0),
        "all idle-level before the step: {prefill:?}"
    );
    let decode_e = e.phase(RunPhase::Decode).unwrap();
    // The truth over what the readings cover from the step to the run's end (a poll the
    // loaded machine delayed past the largest joined gap leaves a hole that counts for
    // neither).
    let after_step = run_energy(
        readings,
        &RunSpec {
            source_label: "step",
            period_us: PERIOD_US,
            run: Window::spanning(step, done),
            phases: &[],
            baseline: BaselineFrom::None,
            tokens: Tokens::default(),
        },
    );
    let covered_us = after_step.run.covered_us;
    let truth_uj = (HIGH_UW - LOW_UW) as i128 * i128::from(covered_us) / 1_000_000;
    let err_uj = i128::from(decode_e.net_uj.unwrap()) - truth_uj;
    // The trapezoid across the step puts its midpoint where the step is: off by at most
    // half the readings' spacing there, one period when the reader kept its pace.
    let bound_us = PERIOD_US.max(around_us / 2);
    let bound_uj = (HIGH_UW - LOW_UW) as i128 * i128::from(bound_us) / 1_000_000;
    eprintln!(
        "decode net energy {} µJ, truth {truth_uj} µJ ({covered_us} of {} µs after the step \
         covered)",
        decode_e.net_uj.unwrap(),
        done - step
    );
    assert!(
        err_uj.abs() <= bound_uj,
        "decode net energy off by {err_uj} µJ, more than {bound_us} µs of the step \
         ({bound_uj} µJ)"
    );
}
