//! Missing, unreadable and malformed sources: bits cleared, previous values kept,
//! faults reported, events rate-limited, recoveries counted.

use edgewatt::record::EventKind;
use edgewatt::sampler::group;
use edgewatt::sampler::Notice;
use edgewatt::sampler::NoticeKind;
use edgewatt::sampler::ProcRole;
use edgewatt::sampler::Sample;
use edgewatt::sampler::SamplerError;
use edgewatt::sampler::SourceError;

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
        out.temps_mc,
        vec![52_300],
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
    assert_eq!(out.temps_mc, vec![48_100]);
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
fn a_vanished_process_gives_proc_exit_once_and_keeps_its_last_counters() {
    let dir = scratch("pi5");
    let root = dir.path();
    let mut s = sampler(root, vec![daemon(4242)], PI5_PAGE);
    let mut out = Sample::default();
    s.read(0, 0, &mut out);
    events(&mut s);
    let before = out.procs[0];
    std::fs::remove_dir_all(root.join("proc/4242")).unwrap();
    let faults = s.read(1, 100_000, &mut out);
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].bit, group::PROC0);
    assert!(matches!(
        faults[0].error,
        SourceError::Gone { pid: 4242, .. }
    ));
    assert_eq!(out.procs[0], before);
    assert!(!out.is_valid(group::PROC0));
    assert!(out.is_valid(group::CPU) && out.is_valid(group::MEM));
    let exit = Notice {
        mono_us: 100_000,
        kind: NoticeKind::ProcExit {
            pid: 4242,
            role: ProcRole::Daemon,
        },
    };
    assert_eq!(events(&mut s), vec![exit]);
    s.read(2, 200_000, &mut out);
    assert_eq!(events(&mut s), vec![], "ProcExit once");
    assert_eq!(s.failures(group::PROC0), 0, "an exit is not a read error");
    s.set_procs(vec![daemon(4242)]).unwrap();
    s.read(3, 300_000, &mut out);
    assert_eq!(
        events(&mut s),
        vec![],
        "re-setting the same list keeps the process's state"
    );
    assert_eq!(out.procs[0], before);
}

#[test]
fn a_tracked_pid_that_never_existed_exits_at_the_first_read() {
    let mut s = sampler(&fixture("pi5"), vec![daemon(99_999)], PI5_PAGE);
    let mut out = Sample::default();
    assert_eq!(s.read(0, 10, &mut out).len(), 1);
    assert_eq!(
        events(&mut s),
        vec![Notice {
            mono_us: 10,
            kind: NoticeKind::ProcExit {
                pid: 99_999,
                role: ProcRole::Daemon
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
        out.cpu,
        vec![Default::default(); 5],
        "never read: zeros, invalid"
    );
    assert_eq!(out.mem.total, 8_245_616);
    assert_eq!(out.freqs_khz, vec![2_400_000]);
    assert_eq!(out.throttled, 0x50005);
    assert_eq!(out.valid, 0b11_0110);
    let kinds: Vec<_> = events(&mut s)
        .into_iter()
        .map(|e| EventKind::from(e.kind).name())
        .collect();
    assert_eq!(kinds, ["proc_start", "read_error", "read_error"]);
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

#[test]
fn a_real_child_that_exits_is_gone_on_the_real_proc() {
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut s = Sampler::new(Roots::default(), vec![daemon(pid)]).unwrap();
    let mut out = Sample::default();
    assert!(!s.read(0, 0, &mut out).iter().any(|f| f.bit == group::PROC0));
    assert!(out.is_valid(group::PROC0));
    assert!(out.procs[0].rss_kb > 0);
    child.kill().unwrap();
    child.wait().unwrap();
    let faults = s.read(1, 1, &mut out);
    let gone: Vec<_> = faults.iter().filter(|f| f.bit == group::PROC0).collect();
    assert_eq!(gone.len(), 1);
    assert!(
        matches!(gone[0].error, SourceError::Gone { .. }),
        "{}",
        gone[0].error
    );
    let exits: Vec<_> = events(&mut s)
        .into_iter()
        .filter(|e| matches!(e.kind, NoticeKind::ProcExit { .. }))
        .collect();
    assert_eq!(exits.len(), 1);
}
