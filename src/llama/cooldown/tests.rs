//! The cooldown against fake `/proc/stat` and thermal-zone files that a virtual clock
//! moves forward: every wait is exact, whatever the speed of the machine.

use std::cell::RefCell;
use std::time::Duration;

use super::*;
use crate::clock::FakeClock;

/// A fake machine of 4 CPUs at 100 Hz: 400 ticks/s, 200 per 0.5 s window.
const TICKS_PER_WINDOW: u64 = 200;
const WINDOW_US: u64 = 500_000;

/// The fake clock; each sleep also rewrites the fixture for the new time.
struct Virtual<F: FnMut(u64) + Send> {
    time: FakeClock,
    on_time: RefCell<F>,
}

impl<F: FnMut(u64) + Send> Clock for Virtual<F> {
    fn now_us(&self) -> u64 {
        self.time.now_us()
    }
    fn sleep_us(&self, us: u64) {
        self.time.sleep_us(us);
        (self.on_time.borrow_mut())(self.time.now_us());
    }
}

/// `/proc/stat` at `t_us` when the busy share of the window starting at each multiple of
/// 0.5 s is `busy_pct(window start)`; counters start at a non-zero, realistic point.
fn stat_at(t_us: u64, busy_pct: &(dyn Fn(u64) -> u64 + Sync)) -> String {
    let (mut busy, mut idle) = (51_234_u64, 987_654_u64);
    for k in 0..t_us / WINDOW_US {
        let b = TICKS_PER_WINDOW * busy_pct(k * WINDOW_US) / 100;
        busy += b;
        idle += TICKS_PER_WINDOW - b;
    }
    // user nice system idle iowait irq softirq steal guest guest_nice; busy split 3:1
    // between user and system, idle 9:1 between idle and iowait (both count as idle).
    format!(
        "cpu  {} 0 {} {} {} 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n",
        busy - busy / 4,
        busy / 4,
        idle - idle / 10,
        idle / 10
    )
}

/// A fake `/proc` and `/sys` in a directory that lives as long as this.
struct Fake {
    _dir: tempfile::TempDir,
    roots: Roots,
}

fn write_at(
    r: &Roots,
    t_us: u64,
    busy: &(dyn Fn(u64) -> u64 + Sync),
    temp: Option<&(dyn Fn(u64) -> i64 + Sync)>,
) {
    std::fs::write(r.proc_root.join("stat"), stat_at(t_us, busy)).unwrap();
    if let Some(temp) = temp {
        let zone = r.sys_root.join("class/thermal/thermal_zone0");
        std::fs::write(zone.join("temp"), format!("{}\n", temp(t_us))).unwrap();
    }
}

fn fake(with_zone: bool) -> Fake {
    let dir = tempfile::tempdir().unwrap();
    let roots = Roots::under(dir.path());
    std::fs::create_dir_all(&roots.proc_root).unwrap();
    if with_zone {
        std::fs::create_dir_all(roots.sys("class/thermal/thermal_zone0")).unwrap();
    }
    Fake { _dir: dir, roots }
}

/// Runs the cooldown on a machine following `busy` and `temp` (virtual time).
fn wait(
    c: &Cooldown,
    baseline: Option<u32>,
    busy: &(dyn Fn(u64) -> u64 + Sync),
    temp: &(dyn Fn(u64) -> i64 + Sync),
) -> CooldownWait {
    let f = fake(true);
    let r = &f.roots;
    write_at(r, 0, busy, Some(temp));
    let clock = Virtual {
        time: FakeClock::new(0),
        on_time: RefCell::new(|t| write_at(r, t, busy, Some(temp))),
    };
    let window = Duration::from_micros(WINDOW_US);
    wait_for_cooldown_with(c, baseline, r, window, &clock, &|| false)
}

fn cooldown(temp_below_mc: Option<i64>, max_wait_s: u64) -> Cooldown {
    Cooldown {
        cpu_margin_pct: 5,
        cpu_busy_below_pct: 15,
        temp_below_mc,
        max_wait_s,
    }
}

const fn cool(_: u64) -> i64 {
    45_000
}

#[test]
fn the_busy_share_is_computed_from_the_cpu_line() {
    let f = fake(false);
    let r = &f.roots;
    let mut probe = Probe::new(r);
    // 30 % busy for one window, after 0 windows.
    let busy30 = |_| 30;
    write_at(r, 0, &busy30, None);
    let a = CpuStat::read(&mut probe).unwrap();
    assert_eq!(
        a,
        CpuStat {
            total_ticks: 51_234 + 987_654,
            idle_ticks: 987_654,
        }
    );
    write_at(r, WINDOW_US, &busy30, None);
    let b = CpuStat::read(&mut probe).unwrap();
    assert_eq!(b.total_ticks - a.total_ticks, 200);
    assert_eq!(b.busy_pct_since(&a), Some(30));
    // Frozen counters and counters that went back give no information.
    assert_eq!(a.busy_pct_since(&a), None);
    assert_eq!(a.busy_pct_since(&b), None);
    // A missing file or a line that is not the aggregate `cpu` line: nothing.
    std::fs::write(r.proc("stat"), "cpu0 1 2 3 4\n").unwrap();
    assert_eq!(CpuStat::read(&mut probe), None);
    let nowhere = Roots::new("/nonexistent/proc", "/nonexistent/sys");
    assert_eq!(CpuStat::read(&mut Probe::new(&nowhere)), None);
}

#[test]
fn an_idle_and_cool_machine_is_checked_once_and_not_waited_for() {
    let w = wait(&cooldown(Some(60_000), 3600), Some(3), &|_| 3, &cool);
    assert_eq!(
        w,
        CooldownWait {
            waited_us: WINDOW_US,
            quiet_us: WINDOW_US,
            capped: false,
            baseline_busy_pct: Some(3),
            busy_pct: Some(3),
            temp_mc: Some(45_000),
            stopped: false,
        }
    );
}

/// 100 % busy for the first 2 s (a run just ended), then 12 %.
fn busy_then_12(t_us: u64) -> u64 {
    if t_us < 2_000_000 {
        100
    } else {
        12
    }
}

#[test]
fn the_wait_ends_when_the_cpu_is_back_within_the_margin_of_the_baseline() {
    // Baseline 10 % + margin 5: the first window at 12 % ends the wait, at 2.5 s.
    let w = wait(&cooldown(None, 60), Some(10), &busy_then_12, &cool);
    assert_eq!(
        (w.waited_us, w.capped, w.busy_pct),
        (2_500_000, false, Some(12))
    );
    // Only its last window was quiet: the idle power baseline is that, not the busy 2 s.
    assert_eq!(w.quiet_us, WINDOW_US);
    // Exactly baseline + margin is back at baseline.
    let w = wait(&cooldown(None, 60), Some(7), &busy_then_12, &cool);
    assert_eq!((w.waited_us, w.capped), (2_500_000, false));
    // A quieter baseline (0 % + 5) is never reached by 12 %: the cap ends the wait.
    let w = wait(&cooldown(None, 60), Some(0), &busy_then_12, &cool);
    assert_eq!(
        (w.waited_us, w.capped, w.busy_pct),
        (60_000_000, true, Some(12))
    );
}

#[test]
fn without_a_baseline_the_absolute_threshold_decides() {
    let w = wait(&cooldown(None, 60), None, &busy_then_12, &cool);
    assert_eq!((w.waited_us, w.capped), (2_500_000, false), "12 < 15");
    let strict = Cooldown {
        cpu_busy_below_pct: 12,
        ..cooldown(None, 60)
    };
    let w = wait(&strict, None, &busy_then_12, &cool);
    assert_eq!(
        (w.waited_us, w.capped),
        (60_000_000, true),
        "12 is not < 12"
    );
    assert_eq!(w.baseline_busy_pct, None);
}

#[test]
fn the_wait_lasts_until_the_soc_is_under_the_temperature() {
    // Idle CPU; the SoC cools from 75 °C to 58 °C at 1.5 s.
    let cooling = |t_us: u64| if t_us < 1_500_000 { 75_000 } else { 58_000 };
    let w = wait(&cooldown(Some(60_000), 60), Some(3), &|_| 3, &cooling);
    assert_eq!(
        (w.waited_us, w.capped, w.temp_mc),
        (1_500_000, false, Some(58_000))
    );
    // The CPU was idle throughout: the whole wait is quiet (the SoC held it, not the CPU).
    assert_eq!(w.quiet_us, 1_500_000);
    // Under 58 °C is never reached: capped, with the last temperature read.
    let w = wait(&cooldown(Some(58_000), 10), Some(3), &|_| 3, &cooling);
    assert_eq!(
        (w.waited_us, w.capped, w.temp_mc),
        (10_000_000, true, Some(58_000))
    );
    // Without a temperature condition the zone is not read and the CPU alone decides.
    let w = wait(&cooldown(None, 60), Some(3), &|_| 3, &cooling);
    assert_eq!((w.waited_us, w.capped, w.temp_mc), (WINDOW_US, false, None));
}

#[test]
fn the_cap_ends_a_wait_that_never_cools_and_says_so() {
    let hot = |_| 80_000;
    let w = wait(&cooldown(Some(60_000), 3), Some(5), &|_| 100, &hot);
    assert_eq!(
        w,
        CooldownWait {
            waited_us: 3_000_000,
            quiet_us: 0,
            capped: true,
            baseline_busy_pct: Some(5),
            busy_pct: Some(100),
            temp_mc: Some(80_000),
            stopped: false,
        }
    );
}

#[test]
fn missing_readings_do_not_hold_the_run_back_on_the_real_clock() {
    // No /proc/stat, no thermal zone: nothing to wait for after one (real) window.
    let f = fake(false);
    let w = wait_for_cooldown(&cooldown(Some(60_000), 3600), Some(3), &f.roots);
    assert!(!w.capped);
    assert!(w.waited_us >= WINDOW_US, "{}", w.waited_us);
    assert_eq!((w.busy_pct, w.temp_mc), (None, None));
}

#[test]
fn a_stop_request_ends_a_wait_that_would_last_until_the_cap() {
    let f = fake(true);
    let r = &f.roots;
    write_at(r, 0, &|_| 100, Some(&|_| 90_000));
    let clock = FakeClock::new(0);
    let stop_at_us = 2_000_000;
    let stop = || clock.now_us() >= stop_at_us;
    let window = Duration::from_micros(WINDOW_US);
    let c = cooldown(Some(60_000), 120);
    let w = wait_for_cooldown_with(&c, Some(5), r, window, &clock, &stop);
    assert_eq!(
        (w.waited_us, w.capped, w.stopped),
        (2_000_000, false, true),
        "ends at the first check after the stop, not at the 120 s cap"
    );
}
