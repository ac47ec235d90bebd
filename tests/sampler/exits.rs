//! Tracked processes that exit: one `ProcExit` each, the last living counters kept, and
//! gone whether still a zombie or already reaped.

use edgewatt::record::EventKind;
use edgewatt::sampler::group;
use edgewatt::sampler::Notice;
use edgewatt::sampler::NoticeKind;
use edgewatt::sampler::ProcRole;
use edgewatt::sampler::Sample;
use edgewatt::sampler::SourceError;

use super::*;

/// `/proc/4242/stat` and `statm` of the fixture as the kernel shows them once the process
/// has exited and until it is reaped: state `Z`, no memory.
fn make_zombie(root: &std::path::Path) {
    let stat = std::fs::read_to_string(root.join("proc/4242/stat")).unwrap();
    put(
        root,
        "proc/4242/stat",
        &stat.replace("(edgewatt) S ", "(edgewatt) Z "),
    );
    put(root, "proc/4242/statm", "0 0 0 0 0 0 0\n");
}

#[test]
fn a_process_that_exits_gives_proc_exit_once_and_keeps_its_last_counters() {
    let dir = scratch("pi5");
    let root = dir.path();
    let mut s = sampler(root, vec![daemon(4242)], PI5_PAGE);
    let mut out = Sample::default();
    s.read(0, 0, &mut out);
    events(&mut s);
    let before = out.procs[0];
    make_zombie(root);
    let faults = s.read(1, 100_000, &mut out);
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].bit, group::PROC0);
    assert!(matches!(
        faults[0].error,
        SourceError::Gone { pid: 4242, .. }
    ));
    assert_eq!(out.procs[0], before, "not the zombie's zero RSS");
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
fn a_process_found_exited_when_tracking_starts_exits_at_the_first_read() {
    let dir = scratch("pi5");
    let root = dir.path();
    make_zombie(root);
    let mut s = sampler(root, vec![daemon(4242)], PI5_PAGE);
    let mut out = Sample::default();
    let faults = s.read(0, 10, &mut out);
    assert_eq!(faults.len(), 1);
    assert!(matches!(
        faults[0].error,
        SourceError::Gone { pid: 4242, .. }
    ));
    let kinds: Vec<_> = events(&mut s)
        .into_iter()
        .map(|e| EventKind::from(e.kind).name())
        .collect();
    assert_eq!(kinds, ["proc_start", "proc_exit"]);
    assert_eq!(out.procs[0], Default::default(), "never read");
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

/// Blocks until `pid`, a child of this process, has exited, without reaping it: from
/// then on it is a zombie until `wait`.
fn wait_exited_not_reaped(pid: u32) {
    // SAFETY: `info` is a valid, writable siginfo_t; waitid only writes into it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    assert_eq!(rc, 0, "waitid: {}", std::io::Error::last_os_error());
}

fn exits(s: &mut Sampler) -> Vec<u32> {
    events(s)
        .into_iter()
        .filter_map(|e| match e.kind {
            NoticeKind::ProcExit { pid, .. } => Some(pid),
            _ => None,
        })
        .collect()
}

fn gone(faults: &[edgewatt::sampler::Fault], bit: u32) -> bool {
    let f: Vec<_> = faults.iter().filter(|f| f.bit == bit).collect();
    f.len() == 1 && matches!(f[0].error, SourceError::Gone { .. })
}

#[test]
fn a_real_child_is_gone_once_exited_and_stays_gone_once_reaped() {
    let spawn = || {
        std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap()
    };
    // `zombie` is seen after it has exited but before it is reaped; `reaped` only after
    // both. The sampler holds their files open from the first read.
    let (mut zombie, mut reaped) = (spawn(), spawn());
    let procs = vec![daemon(zombie.id()), daemon(reaped.id())];
    let (bit_z, bit_r) = (group::PROC0, group::PROC0 + 1);
    let mut s = Sampler::new(Roots::default(), procs).unwrap();
    let mut out = Sample::default();
    let faults = s.read(0, 0, &mut out);
    assert!(!faults.iter().any(|f| f.bit == bit_z || f.bit == bit_r));
    assert!(out.is_valid(bit_z) && out.is_valid(bit_r));
    assert!(out.procs[0].rss_kb > 0 && out.procs[1].rss_kb > 0);
    let alive = out.procs[0];
    for child in [&mut zombie, &mut reaped] {
        child.kill().unwrap();
        wait_exited_not_reaped(child.id());
    }
    reaped.wait().unwrap();
    let faults = s.read(1, 1, &mut out);
    assert!(gone(faults, bit_z), "a zombie is gone: state Z");
    assert!(
        gone(faults, bit_r),
        "a reaped process is gone: ESRCH on the kept fd"
    );
    assert_eq!(out.procs[0], alive, "the last living values stay");
    let mut want = vec![zombie.id(), reaped.id()];
    want.sort_unstable();
    let mut got = exits(&mut s);
    got.sort_unstable();
    assert_eq!(got, want);
    zombie.wait().unwrap();
    let faults = s.read(2, 2, &mut out);
    assert!(gone(faults, bit_z) && gone(faults, bit_r));
    assert_eq!(exits(&mut s), Vec::<u32>::new(), "ProcExit once each");
    assert_eq!((s.failures(bit_z), s.failures(bit_r)), (0, 0));
}
