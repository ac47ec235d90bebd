//! The state directory's lock: one writer per directory, held by an exclusive `flock`.

use std::fs;
use std::fs::File;
use std::io::Read;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::recover::check_options;
use super::StoreError;
use super::StoreOptions;
use super::LOCK_FILE;

/// How long a lock that names this process as its holder is tried again.
const OWN_PID_WAIT_MS: u64 = 2_000;

/// Checks the options, creates the state directory if missing and locks it.
pub(crate) fn lock(opts: &StoreOptions) -> Result<File, StoreError> {
    check_options(opts)?;
    fs::create_dir_all(&opts.dir).map_err(|source| StoreError::DirUnusable {
        dir: opts.dir.clone(),
        source,
    })?;
    lock_dir(&opts.dir)
}

/// Takes the exclusive `flock` on `<dir>/LOCK` and writes our pid into it (if the disk
/// has room: the pid only names the holder in the other daemon's error; a full disk must
/// not keep the daemon from starting).
pub(crate) fn lock_dir(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK_FILE);
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|source| StoreError::DirUnusable {
            dir: dir.to_path_buf(),
            source,
        })?;
    // A lock whose holder is this process may be a copy of one of its descriptors that a
    // child, just forked by another thread, keeps until it execs (which closes it): that
    // lasts a moment, so it is tried again for up to `OWN_PID_WAIT_MS`.
    let started = std::time::Instant::now();
    loop {
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(StoreError::io("lock", path, err));
        }
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let _ = std::io::Seek::rewind(&mut file);
        let holder = match holder.trim() {
            "" => "unknown".to_owned(),
            pid => pid.to_owned(),
        };
        let ours = holder == std::process::id().to_string();
        if !ours || started.elapsed() >= std::time::Duration::from_millis(OWN_PID_WAIT_MS) {
            return Err(StoreError::Locked {
                dir: dir.to_path_buf(),
                holder,
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = file
        .set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()));
    Ok(file)
}

#[cfg(test)]
mod tests {
    use std::os::fd::FromRawFd as _;

    use super::*;

    #[test]
    fn a_lock_held_a_moment_longer_by_a_copy_of_our_descriptor_is_waited_for() {
        let tmp = tempfile::tempdir().unwrap();
        let held = lock_dir(tmp.path()).unwrap();
        // A copy of the descriptor, as a child forked by another thread has until it execs.
        // SAFETY: dup of a descriptor we own; the copy is owned by `copy` alone.
        let copy = unsafe { File::from_raw_fd(libc::dup(held.as_raw_fd())) };
        drop(held);
        let (tx, rx) = std::sync::mpsc::channel();
        let closer = std::thread::spawn(move || {
            // A moment after the lock is asked for again, the copy goes (the moment only
            // makes it likely that the first try meets the copy; the lock must be taken
            // whenever the copy goes, within the wait).
            rx.recv().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(copy);
        });
        let dir = tmp.path().to_path_buf();
        let taker = std::thread::spawn(move || {
            let probe = File::open(dir.join(LOCK_FILE)).unwrap();
            // SAFETY: flock on a fresh descriptor of our own.
            let busy = unsafe { libc::flock(probe.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            assert_ne!(busy, 0, "the copy still holds the lock");
            tx.send(()).unwrap();
            lock_dir(&dir)
        });
        assert!(taker.join().unwrap().is_ok());
        closer.join().unwrap();
    }
}
