//! What tests/fixtures/log-v1 holds, built here from the same formulas its writer used
//! (tests/fixtures/make_log_v1.rs), never from what is read back.

use edgewatt::record::power_flags as flags;
use edgewatt::record::CpuTicks;
use edgewatt::record::Event;
use edgewatt::record::EventKind;
use edgewatt::record::MemKb;
use edgewatt::record::PowerReading;
use edgewatt::record::ProcCounters;
use edgewatt::record::ProcRole;
use edgewatt::record::Sample;
use edgewatt::record::SampleLayout;
use edgewatt::record::SourceId;
use edgewatt::record::TrackedProc;

pub const WALL_US: i64 = 1_764_000_000_000_000;
pub const T0_US: u64 = 10_000_000;

pub fn layout1() -> SampleLayout {
    SampleLayout {
        cpus: 5,
        procs: vec![
            TrackedProc {
                pid: 812,
                role: ProcRole::Daemon,
            },
            TrackedProc {
                pid: 1377,
                role: ProcRole::Worker,
            },
        ],
        thermal_zones: vec![
            "thermal_zone0:cpu-thermal".into(),
            "thermal_zone1:outdoor".into(),
        ],
        cpufreq: vec!["policy0".into()],
        throttled: true,
    }
}

pub fn layout2() -> SampleLayout {
    SampleLayout {
        cpus: 5,
        procs: vec![
            TrackedProc {
                pid: 812,
                role: ProcRole::Daemon,
            },
            TrackedProc {
                pid: 2001,
                role: ProcRole::Other("llama-server".into()),
            },
        ],
        thermal_zones: vec!["thermal_zone0:cpu-thermal".into()],
        cpufreq: vec![],
        throttled: false,
    }
}

/// Sample `i` of `layout`.
pub fn sample(layout: &SampleLayout, i: u64) -> Sample {
    let core = |c: u64| CpuTicks {
        user: 1_000 * c + 7 * i * c,
        nice: c,
        system: 300 + 2 * i,
        idle: 50_000 + 9 * i + c,
        iowait: 10 + i / 4,
        irq: 0,
        softirq: 5 + i / 2,
        steal: 0,
    };
    // The aggregate line: the sum of the 4 cores, user 3 ticks ahead.
    let all = CpuTicks {
        user: 10_000 + 70 * i + 3,
        nice: 10,
        system: 4 * (300 + 2 * i),
        idle: 4 * (50_000 + 9 * i) + 10,
        iowait: 4 * (10 + i / 4),
        irq: 0,
        softirq: 4 * (5 + i / 2),
        steal: 0,
    };
    let proc = |k: u64| ProcCounters {
        utime_ticks: 40 + 460 * k + (1 + 16 * k) * i,
        stime_ticks: 20 + 40 * k + i / 7 + 2 * k * i,
        rss_kb: 9_000 + 111_000 * k + 512 * k * i + (i % 2) * 4,
        minflt: 1_200 + 28_800 * k + (1 + 99 * k) * i,
        majflt: 3 + 9 * k + i / 6,
    };
    let zones = layout.thermal_zones.len();
    let mut valid = (1u64 << layout.groups()) - 1;
    if i == 5 && layout.procs.len() > 1 {
        valid &= !(1 << 3); // the worker's reading
    }
    if i == 9 && zones > 0 {
        valid &= !(1 << 4); // thermal_zone0
    }
    Sample {
        tick: i,
        mono_us: T0_US + i * 100_000 + (i % 3) * 7,
        cpu: [all, core(1), core(2), core(3), core(4)].into(),
        mem: MemKb {
            total: 8_245_000,
            available: 7_100_000 - 1_000 * i,
            free: 6_500_000 - 900 * i,
            cached: 480_000 + 10 * i,
            swap_total: 204_796,
            swap_free: 204_796,
        },
        procs: [proc(0), proc(1)].into(),
        temps_mc: [48_000 + 150 * (i % 5) as i64, -5_250 + 125 * i as i64][..zones].into(),
        freqs_khz: [if i % 2 == 0 { 1_500_000 } else { 2_400_000 }][..layout.cpufreq.len()].into(),
        throttled: if i >= 6 { 0x5_0000 } else { 0 },
        valid,
    }
}

/// Readings `0..n` of `source` from `t_us`, every `period_us`.
pub fn readings(source: SourceId, n: u64, t_us: u64, period_us: u64) -> Vec<PowerReading> {
    (0..n as i64)
        .map(|k| {
            let mono_us = t_us + k as u64 * period_us;
            let only = |power_uw| PowerReading {
                mono_us,
                source,
                bus_uv: None,
                current_ua: None,
                power_uw,
                shunt_uv: None,
                flags: 0,
            };
            match source {
                SourceId::Ina219 => PowerReading {
                    bus_uv: Some(5_080_000 - 400 * k),
                    current_ua: Some(955_000 + 300 * k),
                    shunt_uv: Some(9_550 + 3 * k),
                    flags: [0, 0, 0, flags::STUCK, flags::UNDER_VOLTAGE][k as usize],
                    ..only(4_850_000 + 1_250 * k)
                },
                SourceId::Pmic => PowerReading {
                    bus_uv: Some(5_112_000),
                    flags: if k == 2 { flags::PARTIAL } else { 0 },
                    ..only(6_224_210 + 11 * k)
                },
                SourceId::Replay => only(5_000_000 - 100_000 * k),
                SourceId::Rapl => only(12_500_000 + 333_333 * k),
            }
        })
        .collect()
}

pub fn ev(mono_us: u64, kind: EventKind) -> Event {
    Event { mono_us, kind }
}

/// The events of seq 11..=26, every kind not logged around them.
pub fn middle_events() -> Vec<Event> {
    let t = T0_US + 2_000_000;
    clock_sampler_and_store_kinds()
        .into_iter()
        .chain(process_power_and_plan_kinds())
        .zip(0..)
        .map(|(kind, k)| ev(t + k, kind))
        .collect()
}

/// The first 7 middle events' kinds (seq 11..=17): a clock step, the sampler's and the
/// store's troubles.
fn clock_sampler_and_store_kinds() -> Vec<EventKind> {
    let thermal = "/sys/class/thermal/thermal_zone0/temp";
    vec![
        EventKind::ClockStep {
            old_offset_us: 1_764_000_000_000_000,
            new_offset_us: 1_764_003_600_000_123,
            wall_unix_us: 1_764_003_612_000_123,
        },
        EventKind::SamplerLate {
            tick: 21,
            late_us: 61_000,
            missed: 2,
        },
        EventKind::ReadError {
            source: thermal.into(),
            message: "cannot read: Input/output error (os error 5)".into(),
        },
        EventKind::ReadRecovered {
            source: thermal.into(),
            failures: 4,
        },
        EventKind::SamplerCost {
            ticks: 600,
            cpu_us: 51_234,
            wall_us: 60_000_321,
        },
        EventKind::StoreError {
            message: "write segment: No space left on device (os error 28)".into(),
            pending_bytes: 4_096,
        },
        EventKind::Recovered {
            segment: "00000000000000000007.ewlog".into(),
            good_frames: 6,
            dropped_bytes: 17,
        },
    ]
}

/// The last 9 middle events' kinds (seq 18..=26): processes, power faults, plans and
/// cooldowns.
fn process_power_and_plan_kinds() -> Vec<EventKind> {
    vec![
        EventKind::ProcStart {
            pid: 1377,
            role: "worker".into(),
        },
        EventKind::ProcExit {
            pid: 1377,
            role: "worker".into(),
        },
        EventKind::PowerFault {
            source: "ina219".into(),
            message: "ina219 read failed: NACK (failure 1 of this outage)".into(),
        },
        EventKind::UnderVoltage {
            source: "ina219".into(),
            bus_uv: 4_612_000,
        },
        EventKind::PowerRecovered {
            source: "ina219".into(),
            failures: 3,
            gap_us: 70_000,
        },
        EventKind::PlanError {
            plan: "/etc/edgewatt/plans/broken.toml".into(),
            message: "/etc/edgewatt/plans/broken.toml:3:1: unknown field `foo`".into(),
        },
        EventKind::PlanStart {
            plan: "demo".into(),
            idle_from_us: 7_000_000,
            idle_to_us: 10_000_000,
        },
        EventKind::Cooldown {
            run_id: 1,
            label: "vlm/pp64/tg16/t4/img448x448".into(),
            waited_us: 2_500_000,
            capped: false,
            baseline_busy_pct: Some(3),
            busy_pct: Some(5),
            temp_mc: Some(51_250),
        },
        EventKind::Cooldown {
            run_id: 2,
            label: "llm/pp16/tg8/t4".into(),
            waited_us: 120_000_000,
            capped: true,
            baseline_busy_pct: None,
            busy_pct: None,
            temp_mc: None,
        },
    ]
}
