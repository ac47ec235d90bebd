//! What tests/fixtures/log-v1 holds, built here from the same formulas its writer used
//! (tests/fixtures/make_log_v1.rs), never from what is read back.

use edgewatt::record::power_flags as flags;
use edgewatt::record::CpuTicks;
use edgewatt::record::EnergyBaseline;
use edgewatt::record::EnergyIntegration;
use edgewatt::record::EnergyWindow;
use edgewatt::record::Event;
use edgewatt::record::EventKind;
use edgewatt::record::ImageRun;
use edgewatt::record::MeasuredEnergy;
use edgewatt::record::MemKb;
use edgewatt::record::ModelInfo;
use edgewatt::record::MonoWindow;
use edgewatt::record::Outcome;
use edgewatt::record::PhaseMark;
use edgewatt::record::PowerReading;
use edgewatt::record::ProcCounters;
use edgewatt::record::ProcRole;
use edgewatt::record::Run;
use edgewatt::record::RunError;
use edgewatt::record::RunPhase;
use edgewatt::record::RunSettings;
use edgewatt::record::Sample;
use edgewatt::record::SampleLayout;
use edgewatt::record::SourceId;
use edgewatt::record::TokenCounts;
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
        cpu: [all, core(1), core(2), core(3), core(4)].to_vec(),
        mem: MemKb {
            total: 8_245_000,
            available: 7_100_000 - 1_000 * i,
            free: 6_500_000 - 900 * i,
            cached: 480_000 + 10 * i,
            swap_total: 204_796,
            swap_free: 204_796,
        },
        procs: vec![proc(0), proc(1)],
        temps_mc: [48_000 + 150 * (i % 5) as i64, -5_250 + 125 * i as i64][..zones].to_vec(),
        freqs_khz: [if i % 2 == 0 { 1_500_000 } else { 2_400_000 }][..layout.cpufreq.len()]
            .to_vec(),
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
    let thermal = "/sys/class/thermal/thermal_zone0/temp";
    let kinds = vec![
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
    ];
    kinds
        .into_iter()
        .zip(0..)
        .map(|(kind, k)| ev(t + k, kind))
        .collect()
}

fn settings(prompt_tokens: u32, gen_tokens: u32, image_max_tokens: i32) -> RunSettings {
    RunSettings {
        threads: 4,
        n_ctx: 4096,
        n_batch: 512,
        seed: 42,
        prompt_tokens,
        gen_tokens,
        keep_loaded: image_max_tokens < 0,
        image_min_tokens: -1,
        image_max_tokens,
    }
}

/// An energy figure over `[a, b]` µs: 98 % covered, one reading per 1.1 ms.
fn energy(a: u64, b: u64, gross_uj: i64, net_uj: Option<i64>) -> EnergyWindow {
    EnergyWindow {
        window: MonoWindow {
            start_us: a,
            end_us: b,
        },
        gross_uj,
        net_uj,
        covered_us: (b - a) * 49 / 50,
        coverage_ppm: 980_000,
        largest_gap_us: (b - a) / 50,
        readings: ((b - a) / 1_100) as u32,
    }
}

/// With a 3.1 W baseline.
fn net_energy(a: u64, b: u64, gross_uj: i64) -> EnergyWindow {
    let covered = ((b - a) * 49 / 50) as i64;
    energy(a, b, gross_uj, Some(gross_uj - covered * 31 / 10))
}

fn marks(phases: &[(RunPhase, u64)]) -> Vec<PhaseMark> {
    phases
        .iter()
        .map(|&(phase, mono_us)| PhaseMark { phase, mono_us })
        .collect()
}

/// The VLM run with energy, the run whose worker was killed, the one that timed out.
pub fn runs() -> [Run; 3] {
    let t = 13_000_000;
    let sha = |n: u128| format!("{:064x}", n * 0x1234_5678_9abc_def1);
    let vlm = Run {
        run_id: 1,
        label: "vlm/pp64/tg16/t4/img448x448".into(),
        worker_pid: 1377,
        model: Some(ModelInfo {
            path: "/var/lib/edgewatt/models/SmolLM2-135M-Instruct.Q4_1.gguf".into(),
            name: Some("SmolLM2 135M Instruct".into()),
            architecture: "llama".into(),
            file_type: Some(3),
            quantization: "Q4_1".into(),
            param_count: 134_515_008,
            file_size_bytes: 97_947_616,
            sha256: sha(3),
        }),
        mmproj: Some(ModelInfo {
            path: "/var/lib/edgewatt/generated/qwen2vl-576.gguf".into(),
            name: None,
            architecture: "clip".into(),
            file_type: None,
            quantization: "F16".into(),
            param_count: 21_233_664,
            file_size_bytes: 42_600_000,
            sha256: sha(99),
        }),
        settings: settings(64, 16, 256),
        image: Some(ImageRun {
            source: "synthetic:448x448:42".into(),
            width: 448,
            height: 448,
            image_tokens: 256,
            preprocess_us: 50_000,
            encode_us: 450_000,
        }),
        prompt_tokens: 64,
        generated_tokens: 16,
        load_us: 400_000,
        prefill_us: 160_000,
        decode_us: 400_000,
        ttft_us: 685_000,
        peak_rss_kb: 183_296,
        output: "A grey square — noise,\nnothing else. ünïcödé ✓".into(),
        phases: marks(&[
            (RunPhase::Load, t),
            (RunPhase::Preprocess, t + 400_000),
            (RunPhase::Encode, t + 450_000),
            (RunPhase::Prefill, t + 900_000),
            (RunPhase::Decode, t + 1_060_000),
            (RunPhase::Done, t + 1_460_000),
        ]),
        outcome: Outcome::Ok,
        cooldown_us: 2_500_000,
        energy: Some(MeasuredEnergy {
            source: "ina219 0x40 on /dev/i2c-1, shunt 0.1 Ω: the 5 V input, every load".into(),
            period_us: 1_100,
            measured_rate_mhz: 890_410_958,
            integration: EnergyIntegration { max_gap_us: 4_400 },
            baseline: Some(EnergyBaseline {
                window: MonoWindow {
                    start_us: 10_500_000,
                    end_us: t,
                },
                power_uw: 3_100_000,
                coverage_ppm: 999_560,
            }),
            run: net_energy(t, t + 1_460_000, 7_373_000),
            phases: vec![
                (RunPhase::Load, net_energy(t, t + 400_000, 1_560_000)),
                (
                    RunPhase::Preprocess,
                    net_energy(t + 400_000, t + 450_000, 230_000),
                ),
                (
                    RunPhase::Encode,
                    net_energy(t + 450_000, t + 900_000, 2_730_000),
                ),
                (
                    RunPhase::Prefill,
                    net_energy(t + 900_000, t + 1_060_000, 1_000_000),
                ),
                (
                    RunPhase::Decode,
                    net_energy(t + 1_060_000, t + 1_460_000, 1_853_000),
                ),
            ],
            tokens: TokenCounts {
                prompt: 320,
                generated: 16,
            },
        }),
        // Run v2's fields: unknown in a v1 record.
        plan: String::new(),
        workload: String::new(),
        base_workload: None,
        warmup: false,
        repetition: 0,
        schedule_index: 0,
        schedule_len: 0,
        cpu_backend: None,
        cooldown_capped: false,
        idle_lead_in: None,
    };
    let t2 = 17_000_000;
    let died = Run {
        run_id: 2,
        label: "llm/pp16/tg8/t4".into(),
        worker_pid: 1378,
        model: None,
        mmproj: None,
        settings: settings(16, 8, -1),
        image: None,
        prompt_tokens: 0,
        generated_tokens: 0,
        load_us: 0,
        prefill_us: 0,
        decode_us: 0,
        ttft_us: 0,
        peak_rss_kb: 0,
        output: String::new(),
        phases: marks(&[(RunPhase::Load, t2), (RunPhase::Done, t2 + 700_000)]),
        outcome: Outcome::Failed(RunError::WorkerDied {
            status: "signal 9 (SIGKILL)".into(),
            exit_code: None,
            signal: Some(9),
            stderr_tail: vec![
                "llama_model_load: loading model tensors".into(),
                "Killed".into(),
            ],
        }),
        cooldown_us: 120_000_000,
        energy: Some(MeasuredEnergy {
            source: "pmic (vcgencmd pmic_read_adc): the PMIC rails, not the 5 V input".into(),
            period_us: 100_000,
            measured_rate_mhz: 10_000,
            integration: EnergyIntegration {
                max_gap_us: 400_000,
            },
            baseline: None,
            run: energy(t2, t2 + 700_000, 4_356_000, None),
            phases: vec![(RunPhase::Load, energy(t2, t2 + 700_000, 4_356_000, None))],
            tokens: TokenCounts {
                prompt: 0,
                generated: 0,
            },
        }),
        // Run v2's fields: unknown in a v1 record.
        plan: String::new(),
        workload: String::new(),
        base_workload: None,
        warmup: false,
        repetition: 0,
        schedule_index: 0,
        schedule_len: 0,
        cpu_backend: None,
        cooldown_capped: false,
        idle_lead_in: None,
    };
    let timed_out = Run {
        run_id: 3,
        label: "llm/pp16/tg8/t4#warmup".into(),
        worker_pid: 1379,
        outcome: Outcome::Failed(RunError::TimedOut { limit_ms: 600_000 }),
        phases: marks(&[(RunPhase::Load, 18_000_000)]),
        cooldown_us: 0,
        energy: None,
        // v1 marked warm-ups in the label only; reading it says so.
        warmup: true,
        ..died.clone()
    };
    [vlm, died, timed_out]
}
