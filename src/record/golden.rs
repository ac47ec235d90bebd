//! Golden bytes of every record type: each record of the table must encode to exactly its
//! postcard payload (the bytes a frame's COBS and CRC wrap, docs/FORMAT.md §3–§6), and the
//! payload must decode back to it. A reordered field or variant anywhere changes the bytes.
//! Sample and power block `data` is given as is here (the codec's own golden test is
//! `store::tests::golden_samples_frame`; the old-log fixture decodes real blocks).

mod runs;

use super::*;

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

/// Payload of each record of [`table`], in order: (what, hex).
#[rustfmt::skip]
const GOLDEN: [(&str, &str); 40] = [
    ("event start", "01c0843d0005302e312e30ac06a08d06"),
    ("event stop", "01c0843d01075349475445524d"),
    ("event config", "01c0843d020661203d20310a"),
    ("event clock_step", "01c0843d030980909de91a80809296a896a206"),
    ("event sampler_late", "01c0843d0415c8dc0302"),
    ("event read_error", "01c0843d050a2f70726f632f737461740345494f"),
    ("event read_recovered", "01c0843d060a2f70726f632f7374617404"),
    ("event sampler_cost", "01c0843d07d804a29003c190ce1c"),
    ("event store_error", "01c0843d0806454e4f5350438020"),
    ("event recovered", "01c0843d0907372e65776c6f670611"),
    ("event proc_start", "01c0843d0ae10a06776f726b6572"),
    ("event proc_exit", "01c0843d0be10a06776f726b6572"),
    ("event source_missing", "01c0843d0c0d6765745f7468726f74746c656406616273656e74"),
    ("event power_fault", "01c0843d0d06696e61323139044e41434b"),
    ("event under_voltage", "01c0843d0e06696e61323139c0feb204"),
    ("event sensor_absent", "01c0843d0f06696e61323139096e6f20616e73776572"),
    ("event power_recovered", "01c0843d1006696e6132313903f0a204"),
    ("event plan_error", "01c0843d1106702e746f6d6c03626164"),
    ("event plan_start", "01c0843d120464656d6fc09fab0380ade204"),
    ("event cooldown", "01c0843d1301016ca0cb9801000103010501e3a006"),
    ("event cooldown, no readings", "01c0843d1302016c809c9c3901000000"),
    ("event plan_due", "01c0843d14016e0861742030333a30300101"),
    ("event schedule_state_error", "01c0843d150170016d"),
    ("event reloaded", "01c0843d160105706c616e73010161"),
    ("event reload_refused", "01c0843d17016d"),
    ("event thread_died", "01c0843d180174016d01e807"),
    ("event cpu_backend", "01c0843d190961726d76382e325f32052f6c2e736f0107444f5450524f44"),
    ("event cpu_backend_error", "01c0843d1a0178"),
    // plan "n", from 1, to 300, Some(zigzag(-1)), 1 000 000, Some(2), None, 3.
    ("event plan_baseline", "01c0843d1b016e01ac020101c0843d01020003"),
    ("seal rotated", "0200ac021105"),
    ("seal shutdown", "0201ac021105"),
    ("seal recovered", "0202ac021105"),
    (
        "samples key block",
        "00000503ac0600e10a01d10f020c6c6c616d612d73657276657202027a30027a310107706f6c6963\
         79300104010501020300ff",
    ),
    ("samples continuation", "0001ac0202010109"),
    ("power ina219", "0300016ccc08030103070008"),
    ("power pmic", "0301016ccc08030103070008"),
    ("power replay", "0302016ccc08030103070008"),
    ("power rapl", "0303016ccc08030103070008"),
    (
        "run v2, every field set",
        "050108766c6d2f70703634e10a01066d2e676775660107536d6f6c4c4d32056c6c616d6101030451\
         345f31c0929240e09fda2e02616201066d2e676775660004636c6970000451345f31c0929240e09f\
         da2e02616204802080042a401001018004011473796e7468657469633a343438783434383a3432c0\
         03c0038002d08603d0bb1b401080b51880e20980b518c8e72980980b02686906000001e80703d00f\
         02b81704a01f05882700a0cb98010106696e61323139cc08ceafcaa803b0220100f403c0b5fa0288\
         813d00e8079a730103de07b0b63c0a09050001e9070200de07b0b63c0a090202ea070400de07b0b6\
         3c0a090403eb070600de07b0b63c0a090104ec070800de07b0b63c0a090305ed070a00de07b0b63c\
         0a09c002100464656d6f06766c6d2d71340107766c6d2d6631360102070c010d4350555f41524d56\
         382e325f320101c09fab0380ade204",
    ),
    (
        "run v2 failed: protocol, the v2 fields unknown",
        "050208766c6d2f70703634e10a000004802080042a40100101800400401080b51880e20980b518c8\
         e72980980b00010007010c016da0cb98010000000000000000000000",
    ),
];

/// Run v1 payloads (`Record` index 4), read only: (what, hex).
#[rustfmt::skip]
const GOLDEN_V1: [(&str, &str); 14] = [
    (
        "run v1, with image, models and energy",
        "040108766c6d2f70703634e10a01066d2e676775660107536d6f6c4c4d32056c6c616d6101030451\
         345f31c0929240e09fda2e02616201066d2e676775660004636c6970000451345f31c0929240e09f\
         da2e02616204802080042a401001018004011473796e7468657469633a343438783434383a3432c0\
         03c0038002d08603d0bb1b401080b51880e20980b518c8e72980980b02686906000001e80703d00f\
         02b81704a01f05882700a0cb98010106696e61323139cc08ceafcaa803b0220100f403c0b5fa0288\
         813d00e8079a730103de07b0b63c0a09050001e9070200de07b0b63c0a090102ea070400de07b0b6\
         3c0a090203eb070600de07b0b63c0a090304ec070800de07b0b63c0a090405ed070a00de07b0b63c\
         0a09c00210",
    ),
    (
        "run v1 failed: model_file",
        "040208766c6d2f70703634e10a000004802080042a40100101800400401080b51880e20980b518c8\
         e72980980b0001000701000170016da0cb980100",
    ),
    (
        "run v1 failed: model_load",
        "040208766c6d2f70703634e10a000004802080042a40100101800400401080b51880e20980b518c8\
         e72980980b0001000701010170016ca0cb980100",
    ),
    (
        "run v1 failed: projector_mismatch",
        "040208766c6d2f70703634e10a000004802080042a40100101800400401080b51880e20980b518c8\
         e72980980b000100070102016a80080170c004a0cb980100",
    ),
    (
        "run v1 failed: projector_load",
        "040208766c6d2f70703634e10a000004802080042a40100101800400401080b51880e20980b518c8\
         e72980980b000100070103016a016ca0cb980100",
    ),
    (
        "run v1 failed: image",
        "040208766c6d2f70703634e10a000004802080042a40100101800400401080b51880e20980b518c8\
         e72980980b0001000701040169016da0cb980100",
    ),
    (
        "run v1 failed: context_too_small",
        "040208766c6d2f70703634e10a000004802080042a40100101800400401080b51880e20980b518c8\
         e72980980b0001000701058004d8048002ac022ca0cb980100",
    ),
    (
        "run v1 failed: corpus_too_short",
        "040208766c6d2f70703634e10a000004802080042a40100101800400401080b51880e20980b518c8\
         e72980980b000100070106016380208407a0cb980100",
    ),
    (
        "run v1 failed: corpus",
        "040208766c6d2f70703634e10a000004802080042a40100101800400401080b51880e20980b518c8\
         e72980980b0001000701070163016da0cb980100",
    ),
    (
        "run v1 failed: bad_job",
        "040208766c6d2f70703634e10a000004802080042a40100101800400401080b51880e20980b518c8\
         e72980980b000100070108016b016da0cb980100",
    ),
    (
        "run v1 failed: inference",
        "040208766c6d2f70703634e10a000004802080042a40100101800400401080b51880e20980b518c8\
         e72980980b000100070109066465636f6465016da0cb980100",
    ),
    (
        "run v1 failed: worker_died",
        "040208766c6d2f70703634e10a000004802080042a40100101800400401080b51880e20980b518c8\
         e72980980b00010007010a127369676e616c203920285349474b494c4c290001120201610162a0cb\
         980100",
    ),
    (
        "run v1 failed: timed_out",
        "040208766c6d2f70703634e10a000004802080042a40100101800400401080b51880e20980b518c8\
         e72980980b00010007010bc0cf24a0cb980100",
    ),
    (
        "run v1 failed: protocol",
        "040208766c6d2f70703634e10a000004802080042a40100101800400401080b51880e20980b518c8\
         e72980980b00010007010c016da0cb980100",
    ),
];
