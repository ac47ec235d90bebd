//! Is a daemon running on a state directory? Decided without taking its lock: the daemon
//! holds an exclusive `flock(2)` on `LOCK` (and wrote its pid and a newline into it when it
//! started, which also dates the start); the kernel lists every flock in `/proc/locks` with
//! its holder's pid and the file's device and inode. Probing with `flock` ourselves would
//! take the lock for an instant, and a daemon starting in that instant would fail.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::Serialize;

use crate::store::LOCK_FILE;

/// Whether a daemon is running on the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DaemonState {
    /// Its lock is held (`pid` from `/proc/locks`).
    Running,
    /// A daemon ran here and its lock is free.
    Stopped,
    /// No `LOCK` file: no daemon ever ran here.
    NeverStarted,
}

/// What the lock file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockState {
    pub state: DaemonState,
    /// The running daemon's pid (from `/proc/locks`), else the last one written in `LOCK`.
    pub pid: Option<u32>,
    /// When the last daemon started: `LOCK`'s modification time, Unix µs.
    pub started_unix_us: Option<i64>,
    /// How it was decided: `/proc/locks` read (`true`), or only the pid (`/proc/locks`
    /// unreadable: the pid is alive and an edgewatt).
    pub flock_seen: bool,
}

/// The flock holders in `/proc/locks` text of the file with this device and inode.
fn flock_holders(locks: &str, dev: u64, ino: u64) -> Vec<u32> {
    let want = format!(
        "{:02x}:{:02x}:{ino}",
        libc::major(dev as libc::dev_t),
        libc::minor(dev as libc::dev_t)
    );
    locks
        .lines()
        .filter_map(|l| {
            // `1: FLOCK  ADVISORY  WRITE 1234 fe:00:6119661 0 EOF`; blocked waiters
            // (`1: -> FLOCK …`) do not hold it.
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [_, "FLOCK", _, _, pid, file, ..] if *file == want => pid.parse().ok(),
                _ => None,
            }
        })
        .collect()
}

/// Whether `pid` is an edgewatt process, by its `comm` under `proc_root`.
fn is_edgewatt(proc_root: &Path, pid: u32) -> bool {
    std::fs::read_to_string(proc_root.join(pid.to_string()).join("comm"))
        .is_ok_and(|c| c.trim() == "edgewatt")
}

/// Reads `dir/LOCK` and `proc_root/locks`. Errors: `LOCK` exists but cannot be read.
pub fn lock_state(dir: &Path, proc_root: &Path) -> std::io::Result<LockState> {
    let path = dir.join(LOCK_FILE);
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(LockState {
                state: DaemonState::NeverStarted,
                pid: None,
                started_unix_us: None,
                flock_seen: false,
            });
        }
        Err(e) => return Err(e),
    };
    let written: Option<u32> = std::fs::read_to_string(&path)?.trim().parse().ok();
    let started_unix_us = Some(meta.mtime() * 1_000_000 + meta.mtime_nsec() / 1_000);
    let (holder, flock_seen) = match std::fs::read_to_string(proc_root.join("locks")) {
        Ok(locks) => (
            flock_holders(&locks, meta.dev(), meta.ino())
                .first()
                .copied(),
            true,
        ),
        Err(_) => (written.filter(|&p| is_edgewatt(proc_root, p)), false),
    };
    Ok(LockState {
        state: if holder.is_some() {
            DaemonState::Running
        } else {
            DaemonState::Stopped
        },
        pid: holder.or(written),
        started_unix_us,
        flock_seen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_held_flock_on_the_same_file_counts() {
        let dev = libc::makedev(0xfe, 0x01);
        let locks = "1: POSIX  ADVISORY  WRITE 10 fe:01:77 0 EOF\n\
                     2: FLOCK  ADVISORY  WRITE 11 fe:01:78 0 EOF\n\
                     3: FLOCK  ADVISORY  WRITE 12 fe:01:77 0 EOF\n\
                     3: -> FLOCK  ADVISORY  WRITE 13 fe:01:77 0 EOF\n\
                     4: FLOCK  ADVISORY  WRITE 14 fe:02:77 0 EOF\n";
        assert_eq!(flock_holders(locks, dev as u64, 77), [12]);
        assert!(flock_holders(locks, dev as u64, 79).is_empty());
    }

    #[test]
    fn a_real_flock_is_seen_and_a_released_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let proc_root = Path::new("/proc");
        assert_eq!(
            lock_state(dir.path(), proc_root).unwrap().state,
            DaemonState::NeverStarted
        );
        // The daemon's writer takes the lock.
        let (writer, _) = crate::store::Writer::open(
            crate::config::StoreConfig::default().options(dir.path().to_path_buf()),
            crate::store::SegmentIdent::new("d".into(), "b".into()),
            crate::clock::Anchor::now(),
        )
        .unwrap();
        let s = lock_state(dir.path(), proc_root).unwrap();
        assert_eq!(s.state, DaemonState::Running);
        assert_eq!(s.pid, Some(std::process::id()));
        assert!(s.flock_seen);
        let now_us = crate::clock::wall_unix_us();
        let started = s.started_unix_us.unwrap();
        assert!(
            started <= now_us && now_us - started < 600_000_000,
            "{started}"
        );
        drop(writer);
        let s = lock_state(dir.path(), proc_root).unwrap();
        assert_eq!(s.state, DaemonState::Stopped);
        assert_eq!(s.pid, Some(std::process::id()), "the last pid written");
    }

    #[test]
    fn without_proc_locks_a_live_edgewatt_pid_counts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), "4242\n").unwrap();
        let proc_root = tempfile::tempdir().unwrap();
        let s = lock_state(dir.path(), proc_root.path()).unwrap();
        assert_eq!(
            (s.state, s.pid, s.flock_seen),
            (DaemonState::Stopped, Some(4242), false)
        );
        std::fs::create_dir(proc_root.path().join("4242")).unwrap();
        std::fs::write(proc_root.path().join("4242/comm"), "edgewatt\n").unwrap();
        let s = lock_state(dir.path(), proc_root.path()).unwrap();
        assert_eq!(s.state, DaemonState::Running);
        std::fs::write(proc_root.path().join("4242/comm"), "bash\n").unwrap();
        let s = lock_state(dir.path(), proc_root.path()).unwrap();
        assert_eq!(
            s.state,
            DaemonState::Stopped,
            "a reused pid is not the daemon"
        );
    }
}
