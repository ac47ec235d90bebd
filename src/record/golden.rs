//! Golden bytes of every record type: each record of the table must encode to exactly its
//! postcard payload (the bytes a frame's COBS and CRC wrap, docs/FORMAT.md §3–§6), and the
//! payload must decode back to it. A reordered field or variant anywhere changes the bytes.
//! Sample and power block `data` is given as is here (the codec's own golden test is
//! `store::tests::golden_samples_frame`; the old-log fixture decodes real blocks).

mod bytes;
mod runs;

use super::*;
use bytes::GOLDEN;
use bytes::GOLDEN_V1;

/// Hex of `bytes`, two digits per byte, no separators.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

#[track_caller]
fn golden(what: &str, rec: &Record, want: &str) {
    let bytes = postcard::to_stdvec(rec).unwrap();
    assert_eq!(
        hex(&bytes),
        hex(&unhex(want)),
        "encoding of {what}: {rec:?}"
    );
    let back: Record = postcard::from_bytes(&unhex(want)).unwrap();
    assert_eq!(&back, rec, "decoding of {what}");
}

fn ev(kind: EventKind) -> Record {
    Record::Event(Event {
        mono_us: 1_000_000,
        kind,
    })
}

fn s(text: &str) -> String {
    text.to_owned()
}

/// One record per event kind, in variant order (`Cooldown` with and without readings).
fn events() -> Vec<EventKind> {
    let mut out = sampling_events();
    out.extend(power_and_plan_events());
    out.extend(service_events());
    out
}

/// Event kinds 0–12: the daemon, the clock, the sampler, the store, tracked processes.
fn sampling_events() -> Vec<EventKind> {
    vec![
        EventKind::Start {
            version: s("0.1.0"),
            pid: 812,
            interval_us: 100_000,
        },
        EventKind::Stop {
            reason: s("SIGTERM"),
        },
        EventKind::Config { toml: s("a = 1\n") },
        EventKind::ClockStep {
            old_offset_us: -5,
            new_offset_us: 3_600_000_000,
            wall_unix_us: 1_764_000_000_000_000,
        },
        EventKind::SamplerLate {
            tick: 21,
            late_us: 61_000,
            missed: 2,
        },
        EventKind::ReadError {
            source: s("/proc/stat"),
            message: s("EIO"),
        },
        EventKind::ReadRecovered {
            source: s("/proc/stat"),
            failures: 4,
        },
        EventKind::SamplerCost {
            ticks: 600,
            cpu_us: 51_234,
            wall_us: 60_000_321,
        },
        EventKind::StoreError {
            message: s("ENOSPC"),
            pending_bytes: 4_096,
        },
        EventKind::Recovered {
            segment: s("7.ewlog"),
            good_frames: 6,
            dropped_bytes: 17,
        },
        EventKind::ProcStart {
            pid: 1377,
            role: s("worker"),
        },
        EventKind::ProcExit {
            pid: 1377,
            role: s("worker"),
        },
        EventKind::SourceMissing {
            source: s("get_throttled"),
            message: s("absent"),
        },
    ]
}

/// Event kinds 13–21: power sources, plans, cooldowns, the schedule.
fn power_and_plan_events() -> Vec<EventKind> {
    vec![
        EventKind::PowerFault {
            source: s("ina219"),
            message: s("NACK"),
        },
        EventKind::UnderVoltage {
            source: s("ina219"),
            bus_uv: 4_612_000,
        },
        EventKind::SensorAbsent {
            source: s("ina219"),
            message: s("no answer"),
        },
        EventKind::PowerRecovered {
            source: s("ina219"),
            failures: 3,
            gap_us: 70_000,
        },
        EventKind::PlanError {
            plan: s("p.toml"),
            message: s("bad"),
        },
        EventKind::PlanStart {
            plan: s("demo"),
            idle_from_us: 7_000_000,
            idle_to_us: 10_000_000,
        },
        EventKind::Cooldown {
            run_id: 1,
            label: s("l"),
            waited_us: 2_500_000,
            capped: false,
            baseline_busy_pct: Some(3),
            busy_pct: Some(5),
            temp_mc: Some(-51_250),
        },
        EventKind::Cooldown {
            run_id: 2,
            label: s("l"),
            waited_us: 120_000_000,
            capped: true,
            baseline_busy_pct: None,
            busy_pct: None,
            temp_mc: None,
        },
        EventKind::PlanDue {
            plan: s("n"),
            trigger: s("at 03:00"),
            scheduled_unix_s: -1,
            catch_up: true,
        },
        EventKind::ScheduleStateError {
            path: s("p"),
            message: s("m"),
        },
    ]
}

/// Event kinds 22 on: reloads, threads, the CPU backend, the plan's baseline.
fn service_events() -> Vec<EventKind> {
    vec![
        EventKind::Reloaded {
            applied: vec![s("plans")],
            needs_restart: vec![s("a")],
        },
        EventKind::ReloadRefused { message: s("m") },
        EventKind::ThreadDied {
            thread: s("t"),
            message: s("m"),
            restart_after_ms: Some(1000),
        },
        EventKind::CpuBackend {
            variant: s("armv8.2_2"),
            library: s("/l.so"),
            features: vec![s("DOTPROD")],
        },
        EventKind::CpuBackendError { message: s("x") },
        EventKind::PlanBaseline {
            plan: s("n"),
            from_us: 1,
            to_us: 300,
            power_uw: Some(-1),
            power_coverage_ppm: 1_000_000,
            cpu_busy_ppm: Some(2),
            ram_used_kb: None,
            samples_coverage_ppm: 3,
        },
    ]
}

fn seals() -> Vec<Record> {
    [
        SealReason::Rotated,
        SealReason::Shutdown,
        SealReason::Recovered,
    ]
    .into_iter()
    .map(|reason| {
        Record::Seal(Seal {
            reason,
            frames: 300,
            dropped_bytes: 17,
            mono_us: 5,
        })
    })
    .collect()
}

fn blocks() -> Vec<Record> {
    let layout = SampleLayout {
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
            TrackedProc {
                pid: 2001,
                role: ProcRole::Other(s("llama-server")),
            },
        ],
        thermal_zones: vec![s("z0"), s("z1")],
        cpufreq: vec![s("policy0")],
        throttled: true,
    };
    let mut out = vec![
        Record::Samples(SampleBlock {
            base: BlockBase::Key(layout),
            count: 4,
            codec: 1,
            data: vec![1, 2, 3, 0, 255],
        }),
        Record::Samples(SampleBlock {
            base: BlockBase::After { seq: 300 },
            count: 2,
            codec: 1,
            data: vec![9],
        }),
    ];
    for source in 0..4 {
        out.push(Record::Power(PowerBlock {
            source,
            label: s("l"),
            period_us: 1_100,
            count: 3,
            codec: 1,
            data: vec![7, 0, 8],
        }));
    }
    out
}

fn run(r: Run) -> Record {
    Record::Run(Box::new(r))
}

/// Every record of the golden table, in the order of [`GOLDEN`].
fn table() -> Vec<Record> {
    let mut records: Vec<Record> = events().into_iter().map(ev).collect();
    records.extend(seals());
    records.extend(blocks());
    records.push(run(runs::full_v2()));
    records.push(run(runs::failed().pop().unwrap()));
    records
}

#[test]
fn every_record_type_has_golden_bytes() {
    let records = table();
    assert_eq!(records.len(), GOLDEN.len());
    for (rec, (what, want)) in records.iter().zip(GOLDEN) {
        golden(what, rec, want);
    }
}

/// Run v1 records, as edgewatt wrote them before Run v2, and what they read as now: the
/// same run with the fields of v2 unknown. They are never written any more.
fn v1_table() -> Vec<Record> {
    let mut records = vec![run(runs::full())];
    records.extend(runs::failed().into_iter().map(run));
    records
}

#[test]
fn run_v1_bytes_read_as_runs_with_the_v2_fields_unknown() {
    let records = v1_table();
    assert_eq!(records.len(), GOLDEN_V1.len());
    for (rec, (what, want)) in records.iter().zip(GOLDEN_V1) {
        let back: Record = postcard::from_bytes(&unhex(want)).unwrap();
        assert_eq!(&back, rec, "decoding of {what}");
    }
}

/// A frame's kind is told from the first bytes of its payload, for every record of both
/// tables (seq 300, two varint bytes, then the record's golden bytes).
#[test]
fn every_golden_record_s_kind_is_told_from_its_first_bytes() {
    let both = table().into_iter().zip(GOLDEN);
    for (rec, (what, hex)) in both.chain(v1_table().into_iter().zip(GOLDEN_V1)) {
        let mut payload = vec![0xac, 0x02];
        payload.extend(unhex(hex));
        let kind = match rec {
            Record::Samples(_) => FrameKind::Samples,
            Record::Event(_) => FrameKind::Event,
            Record::Seal(_) => FrameKind::Seal,
            Record::Power(_) => FrameKind::Power,
            Record::Run(_) => FrameKind::Run,
        };
        assert_eq!(FrameKind::peek(&payload), Some((300, kind)), "{what}");
    }
    assert_eq!(
        FrameKind::peek(&[0xac, 0x02, 0x06]),
        None,
        "a variant from a newer writer"
    );
    assert_eq!(FrameKind::peek(&[0xac]), None, "cut short");
}
