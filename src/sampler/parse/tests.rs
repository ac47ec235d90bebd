use std::path::Path;

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
VmallocChunk: 0 kB\n";

#[test]
fn meminfo_bytes_from_procfs_go_back_to_exact_kb() {
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
    assert!(
        w.starts_with("line 5 \"Cached: lots kB\" does not parse ("),
        "{w}"
    );
    let missing = MEMINFO.replace("MemTotal:       68169720832 kB\n", "");
    let w = what(mem_kb(Path::new(P), missing.as_bytes()).unwrap_err());
    assert_eq!(w, "does not parse (a field or line is missing)");
    let no_avail = MEMINFO.replace("MemAvailable:    7380944 kB\n", "");
    let w = what(mem_kb(Path::new(P), no_avail.as_bytes()).unwrap_err());
    assert_eq!(w, "no MemAvailable line (kernel older than 3.14?)");
}

#[test]
fn proc_stat_lines_map_to_ticks_and_a_bad_line_is_named() {
    let si = system_info(4096);
    let text =
        "cpu  10 1 5 100 2 3 4 6 0 0\ncpu0 10 1 5 100 2 3 4 6 0 0\nctxt 1\nbtime 2\nprocesses 3\n";
    let mut out = [CpuTicks::default(); 2];
    cpu_ticks(Path::new(P), text.as_bytes(), &si, &mut out).unwrap();
    let want = CpuTicks::from_array([10, 1, 5, 100, 2, 3, 4, 6]);
    assert_eq!(out, [want, want]);
    assert_eq!(count_cpu_lines(text.as_bytes()), 2);
    // An old kernel's 4-field line: the missing fields are 0.
    let old = "cpu  10 1 5 100\ncpu0 10 1 5 100\nctxt 1\nbtime 2\nprocesses 3\n";
    cpu_ticks(Path::new(P), old.as_bytes(), &si, &mut out).unwrap();
    assert_eq!(out[1], CpuTicks::from_array([10, 1, 5, 100, 0, 0, 0, 0]));
    let bad = text.replace("cpu0 10 1 5 100", "cpu0 10 1 5 1O0");
    let w = what(cpu_ticks(Path::new(P), bad.as_bytes(), &si, &mut out).unwrap_err());
    assert!(
        w.starts_with("line 2 \"cpu0 10 1 5 1O0 2 3 4 6 0 0\" does not parse ("),
        "{w}"
    );
    assert_eq!(
        out[1],
        CpuTicks::from_array([10, 1, 5, 100, 0, 0, 0, 0]),
        "untouched on error"
    );
}

#[test]
fn pid_stat_and_statm() {
    let stat =
        "9 (a) b) c) S 1 9 9 0 -1 0 11 0 22 0 33 44 0 0 20 0 1 0 5 6 7 18446744073709551615 \
                1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    let mut c = ProcCounters::default();
    pid_stat(Path::new(P), stat.as_bytes(), &mut c).unwrap();
    assert_eq!(c.to_array(), [33, 44, 0, 11, 22]);
    let statm = b"100 25 3 1 0 9 0\n";
    assert_eq!(statm_rss_kb(Path::new(P), statm, 4096).unwrap(), 100);
    assert_eq!(statm_rss_kb(Path::new(P), statm, 16_384).unwrap(), 400);
    assert_eq!(statm_rss_kb(Path::new(P), statm, 65_536).unwrap(), 1_600);
    let w = what(statm_rss_kb(Path::new(P), b"100 2x5 3 1 0 9 0\n", 4096).unwrap_err());
    assert!(
        w.starts_with("line 1 \"100 2x5 3 1 0 9 0\" does not parse ("),
        "{w}"
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
