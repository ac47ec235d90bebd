//! Threads of the daemon that die for real — a panic — inside `edgewatt::daemon::run` in
//! this process (the hooks to inject the fault are `RunOptions`'): the death is logged
//! as a `thread_died` event, the thread is started again, sampling never stops, and
//! nothing logged before the death is lost.

use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use std::time::Instant;

use edgewatt::clock::Clock;
use edgewatt::clock::FakeClock;
use edgewatt::config::Config;
use edgewatt::daemon::OpenPower;
use edgewatt::daemon::RunOptions;
use edgewatt::daemon::RunSummary;
use edgewatt::daemon::Signals;
use edgewatt::power::fake::FakeIna219;
use edgewatt::power::fake::Fault;
use edgewatt::power::ina219::Ina219Config;
use edgewatt::power::ina219::Ina219Source;
use edgewatt::power::PowerSource;
use serde_json::Value;

use crate::common::dump;
use crate::common::missed_ticks;

/// A config for a daemon in `dir`; `more` is TOML for its top level.
pub fn config(dir: &Path, more: &str) -> Config {
    let text = format!(
        "state_dir = \"{}\"\n{more}\n[sampler]\nrate_hz = 50\n[store]\nfsync_interval_ms = 100\n",
        dir.join("state").display()
    );
    Config::parse(&text, Path::new("test.toml")).unwrap()
}

/// `edgewatt::daemon::run` on a thread of this process.
pub struct InProcess {
    pub signals: Signals,
    handle: JoinHandle<RunSummary>,
}

impl InProcess {
    pub fn start(cfg: Config, opts: RunOptions) -> Self {
        let signals = Signals::default();
        let s = signals.clone();
        let handle = std::thread::spawn(move || edgewatt::daemon::run(&cfg, &opts, &s).unwrap());
        Self { signals, handle }
    }

    /// Stops it as SIGTERM would and returns its summary.
    pub fn stop(self) -> RunSummary {
        self.signals
            .stop
            .store(libc::SIGTERM as usize, Ordering::Relaxed);
        self.handle.join().expect("the daemon thread ends")
    }
}

/// The log of `state`, once `done` holds for it (read again and again, a minute at most).
pub fn wait_for_log(state: &Path, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if state.exists() {
            let records = dump(state);
            if done(&records) {
                return records;
            }
            assert!(Instant::now() < deadline, "no {what} within a minute");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every tick from the first is there, or accounted for by a late-tick event.
pub fn assert_no_sample_lost(records: &[Value]) {
    let ticks: Vec<u64> = records
        .iter()
        .filter(|r| r["type"] == "sample")
        .map(|r| r["tick"].as_u64().unwrap())
        .collect();
    let holes: u64 = ticks.windows(2).map(|w| w[1] - w[0] - 1).sum();
    assert_eq!((ticks[0], holes), (0, missed_ticks(records)));
}

/// An emulated INA219 (5.08 V, 600–660 mA) whose fake time moves with the transfers;
/// the first one opened panics 300 ms (of its time) in.
fn flaky_ina219(opened: &Arc<AtomicUsize>) -> OpenPower {
    let opened = Arc::clone(opened);
    Arc::new(move || {
        let clock = FakeClock::new(edgewatt::clock::mono_us());
        let load = Box::new(|t: u64| (5_080, 600_000 + ((t / 8_520) % 7) as i64 * 10_000));
        let mut chip = FakeIna219::new(0x40, 10_000, clock.clone(), load);
        chip.transfer_cost_us = 4_000;
        if opened.fetch_add(1, Ordering::SeqCst) == 0 {
            chip.inject(clock.now_us() + 300_000, u64::MAX, Fault::Panic);
        }
        let source = Ina219Source::open(chip, &Ina219Config::default(), "fake").map_err(|e| e.0)?;
        Ok(Some(Box::new(source) as Box<dyn PowerSource>))
    })
}

#[test]
fn a_power_reader_that_panics_is_logged_and_started_again() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let opened = Arc::new(AtomicUsize::new(0));
    let opts = RunOptions {
        power_source: Some(flaky_ina219(&opened)),
        ..RunOptions::default()
    };
    let daemon = InProcess::start(config(dir.path(), ""), opts);
    let died_at = |records: &[Value]| -> Option<u64> {
        let e = records.iter().find(|r| r["event"] == "thread_died")?;
        e["mono_us"].as_u64()
    };
    let power_after = |records: &[Value], t: u64| {
        records
            .iter()
            .filter(|r| r["type"] == "power" && r["mono_us"].as_u64().unwrap() > t)
            .count()
    };
    wait_for_log(&state, "power readings after a restart", |r| {
        died_at(r).is_some_and(|t| power_after(r, t) >= 20)
    });
    let summary = daemon.stop();
    assert_eq!(summary.stop_reason, "SIGTERM");

    let records = dump(&state);
    let died: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"] == "thread_died")
        .collect();
    assert_eq!(died.len(), 1, "{died:?}");
    assert_eq!(died[0]["thread"], "power");
    assert!(
        died[0]["message"]
            .as_str()
            .unwrap()
            .contains("fake INA219: injected panic"),
        "{}",
        died[0]
    );
    assert_eq!(died[0]["restart_after_ms"], 1000);
    let death_us = died[0]["mono_us"].as_u64().unwrap();
    let before = records
        .iter()
        .filter(|r| r["type"] == "power" && r["mono_us"].as_u64().unwrap() < death_us)
        .count();
    assert!(
        before >= 10,
        "the readings before the death are kept: {before}"
    );
    let first_after = records
        .iter()
        .filter(|r| r["type"] == "power")
        .map(|r| r["mono_us"].as_u64().unwrap())
        .find(|&t| t > death_us)
        .unwrap();
    assert!(
        first_after >= death_us + 1_000_000,
        "started again a second after the death"
    );
    assert_eq!(opened.load(Ordering::SeqCst), 2, "opened again once");
    assert_no_sample_lost(&records);
}
