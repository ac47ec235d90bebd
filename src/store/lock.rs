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
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "unknown".to_owned(),
                pid => pid.to_owned(),
            };
            return Err(StoreError::Locked {
                dir: dir.to_path_buf(),
                holder,
            });
        }
        return Err(StoreError::io("lock", path, err));
    }
    let _ = file
        .set_len(0)
        .and_then(|()| writeln!(file, "{}", std::process::id()));
    Ok(file)
}
