//! Missing, unreadable and malformed sources: bits cleared, previous values kept,
//! faults reported, events rate-limited, recoveries counted.

use edgewatt::record::EventKind;
use edgewatt::sampler::group;
use edgewatt::sampler::Notice;
use edgewatt::sampler::NoticeKind;
use edgewatt::sampler::Sample;
use edgewatt::sampler::SamplerError;

use super::*;

const TEMP: &str = "sys/class/thermal/thermal_zone0/temp";

#[test]
fn a_malformed_temp_keeps_its_value_and_is_reported_once_per_minute_until_it_recovers() {
    let dir = scratch("pi5");
    let root = dir.path();
    let temp = root.join(TEMP);
    let mut s = sampler(root, vec![daemon(4242)], PI5_PAGE);
    let bit = s.layout().temp_bit(0);
    assert_eq!(bit, 3);
    let mut out = Sample::default();
    s.read(0, 0, &mut out);
    events(&mut s);

    put(root, TEMP, "hot\n");
    let faults = s.read(1, 100_000, &mut out);
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].bit, bit);
    let message = format!(
        "{}: malformed: expected a decimal integer, got \"hot\\n\"",
        temp.display()
    );
    assert_eq!(faults[0].error.to_string(), message);
    assert_eq!(
        out.temps_mc[..],
        [52_300],
        "the previous value stays in the slot"
    );
    assert!(!out.is_valid(bit));
    assert_eq!(out.valid, 0b11_0111);
    let source = temp.display().to_string();
    assert_eq!(
        events(&mut s),
        vec![Notice {
            mono_us: 100_000,
            kind: NoticeKind::ReadError {
                source: source.clone(),
                message: message.clone()
            }
        }]
    );
    // Still failing: nothing new within the minute…
    s.read(2, 200_000, &mut out);
    s.read(3, 60_099_999, &mut out);
    assert_eq!(events(&mut s), vec![]);
    assert_eq!(s.failures(bit), 3);
    // …then one reminder with the count.
    s.read(4, 60_100_000, &mut out);
    assert_eq!(
        events(&mut s),
        vec![Notice {
            mono_us: 60_100_000,
            kind: NoticeKind::ReadError {
                source: source.clone(),
                message: format!("still failing (4 failures so far): {message}")
            }
        }]
    );
    put(root, TEMP, "48100\n");
    assert!(s.read(5, 60_200_000, &mut out).is_empty());
    assert_eq!(out.temps_mc[..], [48_100]);
    assert!(out.is_valid(bit));
    assert_eq!(s.failures(bit), 0);
    assert_eq!(
        events(&mut s),
        vec![Notice {
            mono_us: 60_200_000,
            kind: NoticeKind::ReadRecovered {
                source,
                failures: 4
            }
        }]
    );
}

#[test]
fn broken_fixture_samples_what_it_can() {
    let root = fixture("broken");
    let mut s = sampler(&root, vec![daemon(4242)], PI5_PAGE);
    assert_eq!(
        s.layout().cpus,
        5,
        "cpu lines are counted even when one is malformed"
    );
    let mut out = Sample::default();
    let faults: Vec<(u32, String)> = s
        .read(0, 0, &mut out)
        .iter()
        .map(|f| (f.bit, f.error.to_string()))
        .collect();
    assert_eq!(faults.len(), 2, "{faults:?}");
    assert_eq!(faults[0].0, group::CPU);
    let stat = root.join("proc/stat");
    let want = format!(
        "{}: malformed: line 3 \"cpu1 10201 28 x3912 226004 512 0 150 0 0 0\" does not parse (",
        stat.display()
    );
    assert!(faults[0].1.starts_with(&want), "{}", faults[0].1);
    assert_eq!(faults[1].0, 3);
    let temp = root.join(TEMP);
    assert!(
        faults[1]
            .1
            .starts_with(&format!("cannot read {}: ", temp.display())),
        "{}",
        faults[1].1
    );
    assert_eq!(
        out.cpu[..],
        [Default::default(); 5],
        "never read: zeros, invalid"
    );
    assert_eq!(out.mem.total, 8_245_616);
    assert_eq!(out.freqs_khz[..], [2_400_000]);
    assert_eq!(out.throttled, 0x50005);
    assert_eq!(out.valid, 0b11_0110);
    let kinds: Vec<_> = events(&mut s)
        .into_iter()
        .map(|e| EventKind::from(e.kind).name())
        .collect();
    assert_eq!(kinds, ["proc_start", "read_error", "read_error"]);
}

#[test]
fn a_file_that_fails_is_opened_again_so_a_file_that_comes_back_recovers() {
    // The broken fixture's zone has a directory where `temp` should be: reading fails.
    let dir = scratch("broken");
    let root = dir.path();
    let mut s = sampler(root, vec![daemon(4242)], PI5_PAGE);
    let bit = s.layout().temp_bit(0);
    let temp = root.join(TEMP);
    let mut out = Sample::default();
    let temp_fault = |faults: &[edgewatt::sampler::Fault]| {
        faults
            .iter()
            .find(|f| f.bit == bit)
            .map(|f| f.error.to_string())
    };
    let fault = temp_fault(s.read(0, 0, &mut out)).unwrap();
    assert!(
        fault.starts_with(&format!("cannot read {}: ", temp.display())),
        "{fault}"
    );
    // Gone: the failed fd was dropped, and opening the path again finds nothing.
    std::fs::remove_dir_all(&temp).unwrap();
    let fault = temp_fault(s.read(1, 100_000, &mut out)).unwrap();
    assert!(
        fault.starts_with(&format!("cannot open {}: ", temp.display())),
        "{fault}"
    );
    assert!(!out.is_valid(bit));
    put(root, TEMP, "41000\n");
    assert_eq!(temp_fault(s.read(2, 200_000, &mut out)), None);
    assert!(out.is_valid(bit));
    assert_eq!(out.temps_mc[..], [41_000]);
    let recovered: Vec<_> = events(&mut s)
        .into_iter()
        .filter_map(|e| match e.kind {
            NoticeKind::ReadRecovered { source, failures } => Some((source, failures)),
            _ => None,
        })
        .collect();
    assert_eq!(recovered, vec![(temp.display().to_string(), 2)]);
}

#[test]
fn a_changed_cpu_count_is_a_fault_not_a_misread() {
    let dir = scratch("x86");
    let root = dir.path();
    let mut s = sampler(root, vec![], X86_PAGE);
    let mut out = Sample::default();
    s.read(0, 0, &mut out);
    let stat = std::fs::read_to_string(root.join("proc/stat")).unwrap();
    let offline: String = stat
        .lines()
        .filter(|l| !l.starts_with("cpu1"))
        .map(|l| format!("{l}\n"))
        .collect();
    put(root, "proc/stat", &offline);
    let faults = s.read(1, 1, &mut out);
    assert_eq!(
        faults[0].error.to_string(),
        format!(
            "{}: found 2 cpu lines, the layout has 3 (CPU hotplug?)",
            root.join("proc/stat").display()
        )
    );
    assert!(!out.is_valid(group::CPU));
    assert_eq!(out.cpu[2].user, 10360, "the previous value stays");
}

#[test]
fn no_proc_stat_is_a_clear_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Sampler::with_options(Roots::under(dir.path()), vec![], opts(X86_PAGE)).unwrap_err();
    assert!(matches!(err, SamplerError::CpuLayout { .. }));
    let msg = err.to_string();
    let path = dir.path().join("proc/stat");
    assert!(
        msg.starts_with(&format!(
            "cannot learn the CPU layout: cannot open {}: ",
            path.display()
        )),
        "{msg}"
    );
    assert!(
        msg.ends_with("(systemd's ProcSubset=pid hides it)"),
        "{msg}"
    );
}

#[test]
fn too_many_processes_or_a_bad_page_size_are_rejected() {
    let procs: Vec<_> = (1..=60).map(daemon).collect();
    let err =
        Sampler::with_options(Roots::under(&fixture("pi5")), procs, opts(PI5_PAGE)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "65 reading groups (2 + 60 processes + 1 thermal zones + 1 cpufreq policies + 1) exceed \
         the 64 bits of Sample::valid; track fewer processes"
    );
    let err = Sampler::with_options(Roots::under(&fixture("pi5")), vec![], opts(1000)).unwrap_err();
    assert!(matches!(err, SamplerError::PageSize { page_size: 1000 }));
}

#[test]
fn sampler_cost_is_reported_per_period() {
    let mut o = opts(X86_PAGE);
    o.cost_every_us = 1_000_000;
    let mut s =
        edgewatt::sampler::Sampler::with_options(Roots::under(&fixture("x86")), vec![], o).unwrap();
    let mut out = Sample::default();
    let mut costs = Vec::new();
    for (tick, mono_us) in [0, 400_000, 999_999, 1_000_000, 1_500_000]
        .into_iter()
        .enumerate()
    {
        s.read(tick as u64, mono_us, &mut out);
        costs.extend(s.drain_notices().filter_map(|e| match e.kind {
            NoticeKind::SamplerCost { ticks, wall_us, .. } => Some((e.mono_us, ticks, wall_us)),
            _ => None,
        }));
    }
    s.flush_cost(1_700_000);
    costs.extend(s.drain_notices().filter_map(|e| match e.kind {
        NoticeKind::SamplerCost { ticks, wall_us, .. } => Some((e.mono_us, ticks, wall_us)),
        _ => None,
    }));
    assert_eq!(
        costs,
        vec![(1_000_000, 4, 1_000_000), (1_700_000, 1, 700_000)]
    );
}
