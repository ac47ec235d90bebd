use std::path::Path;

use procfs::FromBufRead;
use procfs::FromBufReadSI;
use procfs::FromRead;
use proptest::prelude::*;

use super::*;
use crate::sampler::file::parse_hex;
use crate::sampler::file::parse_i64;
use crate::sampler::file::parse_u64;

const P: &str = "/x";

fn what(e: SourceError) -> String {
    match e {
        SourceError::Malformed { what, .. } => what,
        other => panic!("not Malformed: {other}"),
    }
}

const MEMINFO: &str = "MemTotal:       68169720832 kB\nMemFree:         6412032 kB\n\
MemAvailable:    7380944 kB\nBuffers: 1 kB\nCached: 1012304 kB\nSwapCached: 0 kB\nActive: 1 kB\n\
Inactive: 1 kB\nSwapTotal: 524272 kB\nSwapFree: 510960 kB\nDirty: 1 kB\nWriteback: 0 kB\n\
Mapped: 1 kB\nSlab: 1 kB\nCommitted_AS: 1 kB\nVmallocTotal: 1 kB\nVmallocUsed: 1 kB\n\
VmallocChunk: 0 kB\nHugePages_Total:       0\n";

#[test]
fn meminfo_gives_the_files_kb_exactly() {
    let m = mem_kb(Path::new(P), MEMINFO.as_bytes()).unwrap();
    assert_eq!(
        m,
        MemKb {
            total: 68_169_720_832,
            available: 7_380_944,
            free: 6_412_032,
            cached: 1_012_304,
            swap_total: 524_272,
            swap_free: 510_960,
        }
    );
}

#[test]
fn meminfo_faults_name_the_line_or_the_missing_field() {
    let bad = MEMINFO.replace("Cached: 1012304 kB", "Cached: lots kB");
    let w = what(mem_kb(Path::new(P), bad.as_bytes()).unwrap_err());
    assert_eq!(
        w,
        "line 5 \"Cached: lots kB\" does not parse (field 2 \"lots\" is not an unsigned integer)"
    );
    let missing = MEMINFO.replace("MemTotal:       68169720832 kB\n", "");
    let w = what(mem_kb(Path::new(P), missing.as_bytes()).unwrap_err());
    assert_eq!(w, "no MemTotal line");
    let no_avail = MEMINFO.replace("MemAvailable:    7380944 kB\n", "");
    let w = what(mem_kb(Path::new(P), no_avail.as_bytes()).unwrap_err());
    assert_eq!(w, "no MemAvailable line (kernel older than 3.14?)");
    // A bad line after the six is never looked at.
    let late = MEMINFO.replace("Dirty: 1 kB", "Dirty: ? kB");
    assert!(mem_kb(Path::new(P), late.as_bytes()).is_ok());
}

#[test]
fn proc_stat_lines_map_to_ticks_and_a_bad_line_is_named() {
    let text =
        "cpu  10 1 5 100 2 3 4 6 0 0\ncpu0 10 1 5 100 2 3 4 6 0 0\nctxt 1\nbtime 2\nprocesses 3\n";
    let mut scratch = Vec::new();
    let mut out = [CpuTicks::default(); 2];
    cpu_ticks(Path::new(P), text.as_bytes(), &mut scratch, &mut out).unwrap();
    let want = CpuTicks::from_array([10, 1, 5, 100, 2, 3, 4, 6]);
    assert_eq!(out, [want, want]);
    assert_eq!(count_cpu_lines(text.as_bytes()), 2);
    assert_eq!(cpu_total(Path::new(P), text.as_bytes()).unwrap(), want);
    // An old kernel's 4-field line: the missing fields are 0.
    let old = "cpu  10 1 5 100\ncpu0 10 1 5 100\nctxt 1\nbtime 2\nprocesses 3\n";
    cpu_ticks(Path::new(P), old.as_bytes(), &mut scratch, &mut out).unwrap();
    assert_eq!(out[1], CpuTicks::from_array([10, 1, 5, 100, 0, 0, 0, 0]));
    let bad = text.replace("cpu0 10 1 5 100", "cpu0 10 1 5 1O0");
    let w = what(cpu_ticks(Path::new(P), bad.as_bytes(), &mut scratch, &mut out).unwrap_err());
    assert_eq!(
        w,
        "line 2 \"cpu0 10 1 5 1O0 2 3 4 6 0 0\" does not parse (field 5 \"1O0\" is not an \
         unsigned integer)"
    );
    assert_eq!(
        out[1],
        CpuTicks::from_array([10, 1, 5, 100, 0, 0, 0, 0]),
        "untouched on error"
    );
    let short = "cpu  10 1 5\n";
    let w = what(cpu_total(Path::new(P), short.as_bytes()).unwrap_err());
    assert_eq!(
        w,
        "line 1 \"cpu  10 1 5\" does not parse (expected at least 4 counters: user nice system \
         idle)"
    );
    let mut three = [CpuTicks::default(); 3];
    let e = cpu_ticks(Path::new(P), text.as_bytes(), &mut scratch, &mut three).unwrap_err();
    assert!(matches!(
        e,
        SourceError::CpuCount {
            found: 2,
            expected: 3,
            ..
        }
    ));
    // Only the leading cpu lines count.
    assert_eq!(count_cpu_lines(b"ctxt 1\ncpu  1 2 3 4\n"), 0);
}

#[test]
fn pid_stat_and_statm() {
    let stat =
        "9 (a) b) c) S 1 9 9 0 -1 0 11 0 22 0 33 44 0 0 20 0 1 0 5 6 7 18446744073709551615 \
                1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    let mut c = ProcCounters::default();
    assert_eq!(
        pid_stat(Path::new(P), stat.as_bytes(), &mut c).unwrap(),
        b'S'
    );
    assert_eq!(c.to_array(), [33, 44, 0, 11, 22]);
    let zombie = stat.replace(") S 1 ", ") Z 1 ");
    let state = pid_stat(Path::new(P), zombie.as_bytes(), &mut c).unwrap();
    assert!(has_exited(state) && !has_exited(b'S') && !has_exited(b'R'));
    let bad = stat.replace(" 33 44 ", " 33 -44 ");
    let w = what(pid_stat(Path::new(P), bad.as_bytes(), &mut c).unwrap_err());
    assert!(
        w.ends_with("does not parse (field 15 \"-44\" is not an unsigned integer)"),
        "{w}"
    );
    assert_eq!(c.to_array(), [33, 44, 0, 11, 22], "untouched on error");
    let w = what(pid_stat(Path::new(P), b"9 (a) S 1 9\n", &mut c).unwrap_err());
    assert_eq!(
        w,
        "line 1 \"9 (a) S 1 9\" does not parse (expected at least 15 fields, to stime)"
    );
    let statm = b"100 25 3 1 0 9 0\n";
    assert_eq!(statm_rss_kb(Path::new(P), statm, 4096).unwrap(), 100);
    assert_eq!(statm_rss_kb(Path::new(P), statm, 16_384).unwrap(), 400);
    assert_eq!(statm_rss_kb(Path::new(P), statm, 65_536).unwrap(), 1_600);
    let w = what(statm_rss_kb(Path::new(P), b"100 2x5 3 1 0 9 0\n", 4096).unwrap_err());
    assert_eq!(
        w,
        "line 1 \"100 2x5 3 1 0 9 0\" does not parse (field 2 \"2x5\" is not an unsigned integer)"
    );
    let w = what(statm_rss_kb(Path::new(P), b"", 4096).unwrap_err());
    assert_eq!(
        w,
        "line 1 \"\" does not parse (field 1 \"\" is not an unsigned integer)"
    );
}

#[test]
fn sysfs_numbers() {
    let p = Path::new(P);
    assert_eq!(parse_hex(p, b"50005\n").unwrap(), 0x50005);
    assert_eq!(parse_hex(p, b"0x50005\n").unwrap(), 0x50005);
    assert_eq!(parse_hex(p, b"0\n").unwrap(), 0);
    assert_eq!(
        what(parse_hex(p, b"0x\n").unwrap_err()),
        "expected a hexadecimal integer, got \"0x\\n\""
    );
    assert_eq!(parse_i64(p, b"-1250\n").unwrap(), -1250);
    assert_eq!(parse_i64(p, b"52300").unwrap(), 52_300);
    assert_eq!(
        what(parse_i64(p, b"").unwrap_err()),
        "expected a decimal integer, got \"\""
    );
    assert_eq!(parse_u64(p, b"2400000\n").unwrap(), 2_400_000);
    assert!(parse_u64(p, b"-1\n").is_err());
}

#[test]
fn numbers_are_unsigned_decimals_that_fit() {
    assert_eq!(number(b"0"), Some(0));
    assert_eq!(number(b"18446744073709551615"), Some(u64::MAX));
    assert_eq!(number(b"18446744073709551616"), None);
    for bad in [&b""[..], b"-1", b"+1", b"1.0", b"0x10", b"1 "] {
        assert_eq!(number(bad), None, "{:?}", String::from_utf8_lossy(bad));
    }
}

// The `procfs` crate as the reference: same bytes, same numbers.

fn procfs_cpus(bytes: &[u8]) -> Vec<CpuTicks> {
    let si = procfs::ExplicitSystemInfo {
        boot_time_secs: 0,
        ticks_per_second: 100,
        page_size: 4096,
        is_little_endian: cfg!(target_endian = "little"),
    };
    let ks = procfs::KernelStats::from_buf_read(bytes, &si).unwrap();
    let t = |c: &procfs::CpuTime| {
        CpuTicks::from_array([
            c.user,
            c.nice,
            c.system,
            c.idle,
            c.iowait.unwrap_or(0),
            c.irq.unwrap_or(0),
            c.softirq.unwrap_or(0),
            c.steal.unwrap_or(0),
        ])
    };
    std::iter::once(t(&ks.total))
        .chain(ks.cpu_time.iter().map(t))
        .collect()
}

fn procfs_mem_kb(bytes: &[u8]) -> MemKb {
    let m = procfs::Meminfo::from_buf_read(bytes).unwrap();
    // procfs gives bytes (it multiplies the file's kB by 1024).
    let bytes = [
        m.mem_total,
        m.mem_available.unwrap(),
        m.mem_free,
        m.cached,
        m.swap_total,
        m.swap_free,
    ];
    MemKb::from_array(bytes.map(|b| b / 1024))
}

fn procfs_counters(stat: &[u8], statm: &[u8], page_size: u64) -> ProcCounters {
    let s = procfs::process::Stat::from_read(stat).unwrap();
    let m = procfs::process::StatM::from_read(statm).unwrap();
    ProcCounters {
        utime_ticks: s.utime,
        stime_ticks: s.stime,
        rss_kb: m.resident * (page_size / 1024),
        minflt: s.minflt,
        majflt: s.majflt,
    }
}

fn ours_cpus(bytes: &[u8]) -> Vec<CpuTicks> {
    let mut out = vec![CpuTicks::default(); count_cpu_lines(bytes)];
    cpu_ticks(Path::new(P), bytes, &mut Vec::new(), &mut out).unwrap();
    out
}

fn ours_counters(stat: &[u8], statm: &[u8], page_size: u64) -> ProcCounters {
    let mut c = ProcCounters::default();
    pid_stat(Path::new(P), stat, &mut c).unwrap();
    c.rss_kb = statm_rss_kb(Path::new(P), statm, page_size).unwrap();
    c
}

#[test]
fn this_machines_files_parse_as_procfs_parses_them() {
    let stat = std::fs::read("/proc/stat").unwrap();
    assert_eq!(ours_cpus(&stat), procfs_cpus(&stat));
    let meminfo = std::fs::read("/proc/meminfo").unwrap();
    assert_eq!(
        mem_kb(Path::new(P), &meminfo).unwrap(),
        procfs_mem_kb(&meminfo)
    );
    let pid_stat = std::fs::read("/proc/self/stat").unwrap();
    let statm = std::fs::read("/proc/self/statm").unwrap();
    assert_eq!(
        ours_counters(&pid_stat, &statm, 4096),
        procfs_counters(&pid_stat, &statm, 4096)
    );
}

/// A `/proc/stat` as the kernel prints it: `n` cores with `fields` counters a line
/// (4 on the oldest kernels, 10 today), then the other lines procfs requires.
fn proc_stat_text(lines: &[Vec<u64>]) -> String {
    let mut s = String::new();
    for (i, v) in lines.iter().enumerate() {
        let label = if i == 0 {
            "cpu ".to_owned()
        } else {
            format!("cpu{}", i - 1)
        };
        let nums: Vec<String> = v.iter().map(u64::to_string).collect();
        s.push_str(&format!("{label} {}\n", nums.join(" ")));
    }
    s.push_str("intr 3456789 0 0 12 0 0 0 0 0 0 0 0 0 0 0 0 0 0\nctxt 9876543\nbtime 1732262400\n");
    s.push_str("processes 12345\nprocs_running 2\nprocs_blocked 0\nsoftirq 1987654 12 34 98\n");
    s
}

fn cpu_lines_strategy() -> impl Strategy<Value = Vec<Vec<u64>>> {
    (1usize..=9, 4usize..=10).prop_flat_map(|(cores, fields)| {
        prop::collection::vec(prop::collection::vec(any::<u64>(), fields), cores + 1)
    })
}

const MEM_REQUIRED: [&str; 17] = [
    "MemTotal",
    "MemFree",
    "Buffers",
    "Cached",
    "SwapCached",
    "Active",
    "Inactive",
    "SwapTotal",
    "SwapFree",
    "Dirty",
    "Writeback",
    "Mapped",
    "Slab",
    "Committed_AS",
    "VmallocTotal",
    "VmallocUsed",
    "VmallocChunk",
];

proptest! {
    #[test]
    fn proc_stat_agrees_with_procfs(lines in cpu_lines_strategy()) {
        let text = proc_stat_text(&lines);
        prop_assert_eq!(ours_cpus(text.as_bytes()), procfs_cpus(text.as_bytes()));
        prop_assert_eq!(count_cpu_lines(text.as_bytes()), lines.len());
    }

    #[test]
    fn meminfo_agrees_with_procfs(
        values in prop::collection::vec(0u64..1 << 44, MEM_REQUIRED.len() + 1),
        order in any::<u64>(),
    ) {
        // The required keys, MemAvailable among them, in a seeded order.
        let mut lines: Vec<String> = MEM_REQUIRED
            .iter()
            .chain(&["MemAvailable"])
            .zip(&values)
            .map(|(k, v)| format!("{k}:{:>15} kB", v))
            .collect();
        let n = lines.len();
        lines.rotate_left(order as usize % n);
        lines.push("HugePages_Total:       0".to_owned());
        let text = lines.join("\n") + "\n";
        prop_assert_eq!(
            mem_kb(Path::new(P), text.as_bytes()).unwrap(),
            procfs_mem_kb(text.as_bytes())
        );
    }

    #[test]
    fn pid_stat_agrees_with_procfs(
        comm in "[ -~]{0,16}",
        state in prop::sample::select(b"RSDZTtXxIP".to_vec()),
        counters in any::<[u64; 5]>(),
        statm in any::<[u32; 3]>(),
        page_kb in prop::sample::select(vec![4u64, 16, 64]),
    ) {
        let [minflt, majflt, utime, stime, cminflt] = counters;
        let stat = format!(
            "4242 ({comm}) {} 1 4242 4242 0 -1 4194560 {minflt} {cminflt} {majflt} 0 {utime} \
             {stime} 0 0 20 0 3 0 1234 123456789 180 18446744073709551615 1 1 0 0 0 0 0 4096 \
             17415 0 0 0 17 2 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
            state as char
        );
        let statm = format!("{} {} {} 12 0 3000 0\n", statm[0], statm[1], statm[2]);
        let page = page_kb * 1024;
        let mut c = ProcCounters::default();
        let got_state = pid_stat(Path::new(P), stat.as_bytes(), &mut c).unwrap();
        prop_assert_eq!(got_state, state);
        prop_assert_eq!(
            ours_counters(stat.as_bytes(), statm.as_bytes(), page),
            procfs_counters(stat.as_bytes(), statm.as_bytes(), page)
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        crate::sampler::fuzzing::parse_proc(&bytes);
    }

    #[test]
    fn damaged_real_files_never_panic(
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        which in 0usize..3,
    ) {
        let mut bytes = match which {
            0 => proc_stat_text(&[vec![1, 2, 3, 4, 5, 6, 7, 8], vec![1, 2, 3, 4, 5, 6, 7, 8]]),
            1 => MEMINFO.to_owned(),
            _ => "42 (a b) S 1 2 3 0 -1 0 11 0 22 0 33 44 0 0 20 0 1 0 5 6 7\n".to_owned(),
        }
        .into_bytes();
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        crate::sampler::fuzzing::parse_proc(&bytes);
    }
}
