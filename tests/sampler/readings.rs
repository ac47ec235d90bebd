//! Exact values read from the fixtures, and deltas after the files change.

use edgewatt::sampler::CpuTicks;
use edgewatt::sampler::MemKb;
use edgewatt::sampler::Notice;
use edgewatt::sampler::NoticeKind;
use edgewatt::sampler::ProcCounters;
use edgewatt::sampler::ProcRole;
use edgewatt::sampler::Sample;
use edgewatt::sampler::SampleLayout;
use edgewatt::sampler::TrackedProc;

use super::*;

fn ticks(a: [u64; 8]) -> CpuTicks {
    CpuTicks::from_array(a)
}

fn pi5_cpu() -> Vec<CpuTicks> {
    vec![
        ticks([41234, 120, 15876, 903412, 2210, 0, 812, 0]),
        ticks([10412, 30, 4101, 225101, 601, 0, 402, 0]),
        ticks([10201, 28, 3912, 226004, 512, 0, 150, 0]),
        ticks([10390, 31, 3950, 225890, 540, 0, 130, 0]),
        ticks([10231, 31, 3913, 226417, 557, 0, 130, 0]),
    ]
}

fn pi5_sample(tick: u64, mono_us: u64) -> Sample {
    Sample {
        tick,
        mono_us,
        cpu: pi5_cpu().into(),
        mem: MemKb {
            total: 8_245_616,
            available: 7_380_944,
            free: 6_412_032,
            cached: 1_012_304,
            swap_total: 524_272,
            swap_free: 510_960,
        },
        // statm resident 180 pages × 16 KiB = 2880 kB.
        procs: smallvec::smallvec![ProcCounters {
            utime_ticks: 250,
            stime_ticks: 75,
            rss_kb: 2_880,
            minflt: 1_523,
            majflt: 7,
        }],
        temps_mc: smallvec::smallvec![52_300],
        freqs_khz: smallvec::smallvec![2_400_000],
        throttled: 0x50005,
        valid: 0b11_1111,
    }
}

#[test]
fn pi5_fixture_gives_its_exact_readings() {
    let mut s = sampler(&fixture("pi5"), vec![daemon(4242)], PI5_PAGE);
    assert_eq!(
        s.layout(),
        &SampleLayout {
            cpus: 5,
            procs: vec![daemon(4242)],
            thermal_zones: vec!["thermal_zone0:cpu-thermal".to_owned()],
            cpufreq: vec!["policy0".to_owned()],
            throttled: true,
        }
    );
    let mut out = Sample::default();
    assert!(s.read(7, 1_000_000, &mut out).is_empty());
    assert_eq!(out, pi5_sample(7, 1_000_000));
    assert_eq!(
        events(&mut s),
        vec![Notice {
            mono_us: 1_000_000,
            kind: NoticeKind::ProcStart {
                pid: 4242,
                role: ProcRole::Daemon
            }
        }]
    );
    assert!(s.read(8, 1_100_000, &mut out).is_empty());
    assert_eq!(out, pi5_sample(8, 1_100_000));
    assert_eq!(events(&mut s), vec![]);
}

#[test]
fn x86_fixture_has_no_thermal_cpufreq_or_throttled_and_says_so_once() {
    let root = fixture("x86");
    let mut s = sampler(&root, vec![daemon(777)], X86_PAGE);
    let l = s.layout().clone();
    assert_eq!(
        (l.cpus, l.thermal_zones.len(), l.cpufreq.len(), l.throttled),
        (3, 0, 0, false)
    );
    let mut out = Sample::default();
    assert!(s.read(0, 50, &mut out).is_empty());
    assert_eq!(
        out.cpu[..],
        [
            ticks([19967, 0, 5525, 42180, 2051, 0, 60, 83]),
            ticks([9607, 0, 2506, 22525, 252, 0, 8, 39]),
            ticks([10360, 0, 3019, 19655, 1799, 0, 52, 44]),
        ]
    );
    assert_eq!(
        out.mem,
        MemKb {
            total: 24_684_084,
            available: 23_454_960,
            free: 21_985_308,
            cached: 1_623_268,
            swap_total: 0,
            swap_free: 0,
        }
    );
    // "(edge watt)" has a space in its name; 386 pages × 4 KiB = 1544 kB.
    assert_eq!(
        out.procs[..],
        [ProcCounters {
            utime_ticks: 3,
            stime_ticks: 1,
            rss_kb: 1_544,
            minflt: 101,
            majflt: 0,
        }]
    );
    assert_eq!((out.temps_mc.len(), out.freqs_khz.len()), (0, 0));
    // cpu, mem, proc valid; the (absent) throttled bit 3 clear.
    assert_eq!(out.valid, 0b0111);
    let kinds: Vec<_> = events(&mut s).into_iter().map(|e| e.kind).collect();
    let sys = root.join("sys");
    let missing = |source: &str, message: String| NoticeKind::SourceMissing {
        source: source.to_owned(),
        message,
    };
    assert_eq!(
        kinds,
        vec![
            missing(
                "thermal",
                format!("{}/class/thermal does not exist: temperature will not be recorded", sys.display())
            ),
            missing(
                "cpufreq",
                format!(
                    "{}/devices/system/cpu/cpufreq does not exist: CPU frequency will not be recorded",
                    sys.display()
                )
            ),
            missing(
                "get_throttled",
                format!(
                    "neither {0}/devices/platform/soc@107c000000/soc@107c000000:firmware/get_throttled \
                     nor {0}/devices/platform/soc/soc:firmware/get_throttled exists (not a Raspberry \
                     Pi?): throttling and under-voltage flags will not be recorded",
                    sys.display()
                )
            ),
            NoticeKind::ProcStart {
                pid: 777,
                role: ProcRole::Daemon
            },
        ]
    );
    s.read(1, 100_050, &mut out);
    assert_eq!(events(&mut s), vec![], "absence is reported once");
}

#[test]
fn changed_files_are_seen_through_kept_open_fds() {
    let dir = scratch("pi5");
    let root = dir.path();
    let mut s = sampler(root, vec![daemon(4242)], PI5_PAGE);
    let mut out = Sample::default();
    s.read(0, 0, &mut out);
    let stat = std::fs::read_to_string(root.join("proc/stat"))
        .unwrap()
        .replace("cpu  41234 120", "cpu  41334 120")
        .replace("cpu2 10390 31 3950 225890", "cpu2 10490 31 3950 225895");
    put(root, "proc/stat", &stat);
    put(
        root,
        "proc/4242/stat",
        &std::fs::read_to_string(root.join("proc/4242/stat"))
            .unwrap()
            .replace(" 250 75 ", " 262 80 "),
    );
    put(root, "proc/4242/statm", "12345 2180 90 12 0 3000 0\n");
    put(root, "sys/class/thermal/thermal_zone0/temp", "-1250\n");
    put(
        root,
        "sys/devices/system/cpu/cpufreq/policy0/scaling_cur_freq",
        "1500000\n",
    );
    put(
        root,
        "sys/devices/platform/soc@107c000000/soc@107c000000:firmware/get_throttled",
        "0x0\n",
    );
    // A second later, so that get_throttled (read once a second) is read again too.
    assert!(s.read(10, 1_000_000, &mut out).is_empty());
    let mut want = pi5_sample(10, 1_000_000);
    want.cpu[0].user = 41334;
    want.cpu[3].user = 10490;
    want.cpu[3].idle = 225895;
    want.procs[0].utime_ticks = 262;
    want.procs[0].stime_ticks = 80;
    want.procs[0].rss_kb = 2180 * 16;
    want.temps_mc[0] = -1250;
    want.freqs_khz[0] = 1_500_000;
    want.throttled = 0;
    assert_eq!(out, want);
    assert_eq!(out.cpu[3].busy() - pi5_cpu()[3].busy(), 100);
}

#[test]
fn set_procs_changes_the_layout_and_keeps_known_processes() {
    let dir = scratch("pi5");
    let root = dir.path();
    std::fs::create_dir(root.join("proc/5151")).unwrap();
    put(root, "proc/5151/stat", "5151 (llama-worker) R 4242 4242 4242 0 -1 4194304 90000 0 120 0 7000 300 0 0 20 0 5 0 2000 9999999 50000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
    put(root, "proc/5151/statm", "600000 131072 2000 12 0 90000 0\n");
    let mut s = sampler(root, vec![daemon(4242)], PI5_PAGE);
    let mut out = Sample::default();
    s.read(0, 0, &mut out);
    events(&mut s);
    let worker = TrackedProc {
        pid: 5151,
        role: ProcRole::Worker,
    };
    s.set_procs(vec![daemon(4242), worker.clone()]).unwrap();
    assert_eq!(s.layout().procs, vec![daemon(4242), worker]);
    assert_eq!((s.layout().temp_bit(0), s.layout().throttled_bit()), (4, 6));
    assert!(s.read(1, 100_000, &mut out).is_empty());
    assert_eq!(out.valid, 0b111_1111);
    assert_eq!(
        out.procs[1],
        ProcCounters {
            utime_ticks: 7000,
            stime_ticks: 300,
            rss_kb: 131_072 * 16,
            minflt: 90_000,
            majflt: 120,
        }
    );
    assert_eq!(out.procs[0], pi5_sample(0, 0).procs[0]);
    assert_eq!(
        events(&mut s)
            .into_iter()
            .map(|e| e.kind)
            .collect::<Vec<_>>(),
        vec![NoticeKind::ProcStart {
            pid: 5151,
            role: ProcRole::Worker
        }],
        "only the new process is announced"
    );
}

#[test]
fn discovery_orders_zones_numerically_and_falls_back_to_the_old_throttled_path() {
    let dir = scratch("pi5");
    let root = dir.path();
    for (n, kind, temp) in [(10, "gpu-thermal", "61000\n"), (2, "", "40500\n")] {
        let zone = root.join(format!("sys/class/thermal/thermal_zone{n}"));
        std::fs::create_dir_all(&zone).unwrap();
        std::fs::write(zone.join("temp"), temp).unwrap();
        if !kind.is_empty() {
            std::fs::write(zone.join("type"), format!("{kind}\n")).unwrap();
        }
    }
    // A zone without `temp` is not a reading.
    std::fs::create_dir_all(root.join("sys/class/thermal/thermal_zone3")).unwrap();
    let pi5_fw = root.join("sys/devices/platform/soc@107c000000");
    let old_fw = root.join("sys/devices/platform/soc/soc:firmware");
    std::fs::create_dir_all(&old_fw).unwrap();
    std::fs::write(old_fw.join("get_throttled"), "80008\n").unwrap();
    std::fs::remove_dir_all(pi5_fw).unwrap();
    let mut s = sampler(root, vec![], PI5_PAGE);
    assert_eq!(
        s.layout().thermal_zones,
        [
            "thermal_zone0:cpu-thermal",
            "thermal_zone2",
            "thermal_zone10:gpu-thermal"
        ]
    );
    assert!(s.layout().throttled);
    let mut out = Sample::default();
    assert!(s.read(0, 0, &mut out).is_empty());
    assert_eq!(out.temps_mc[..], [52_300, 40_500, 61_000]);
    assert_eq!(out.throttled, 0x80008);
    assert_eq!(out.valid, 0b111_1111);
}
