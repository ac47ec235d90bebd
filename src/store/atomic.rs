//! Small files in the state directory replaced whole: written to a temporary name that is
//! created exclusively (never following a link or reusing a file someone else made),
//! fsynced, then renamed over the target, so a reader sees the old content or the new one,
//! never a torn one, also after a power cut.

use std::fs;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::path::PathBuf;

use super::recover::sync_dir;
use super::StoreError;

/// Mode of a file made here: the service's user and group may read it, others not.
const FILE_MODE: u32 = 0o640;

/// Replaces `path` with the bytes `write` produces. The temporary file is
/// `.<name>.tmp`, beside it; one left by a crash is removed first.
pub fn replace_file(
    path: &Path,
    write: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> Result<(), StoreError> {
    replace(path, true, write)
}

/// [`replace_file`] for derived data that is made again when it is lost: renamed into
/// place without waiting for the disk (a reader must check what it reads; after a power
/// cut it may find the old content, or torn new content), through a temporary name of
/// its own (`.<name>.<pid>.<n>.<ns>.tmp`), so that writers at once do not disturb each other
/// (the last rename wins).
pub fn replace_derived_file(
    path: &Path,
    write: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> Result<(), StoreError> {
    replace(path, false, write)
}

fn replace(
    path: &Path,
    sync: bool,
    write: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> Result<(), StoreError> {
    // A rename replaces whatever has the name: a device (`-o /dev/null` as root once made
    // /dev/null a regular file), a pipe or a socket would be lost.
    if let Ok(meta) = fs::symlink_metadata(path) {
        let kind = meta.file_type();
        if !(kind.is_file() || kind.is_symlink()) {
            return Err(StoreError::io(
                "replace",
                path,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a regular file (a device, directory, pipe or socket): name a file",
                ),
            ));
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // A state file has one writer, whose crash may leave its temporary file; derived data
    // may be written by several processes at once, each through a name of its own.
    let tmp = if sync {
        let tmp = temporary_name(path, "");
        match fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("remove stale", &tmp, e)),
        }
        tmp
    } else {
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        temporary_name(path, &format!(".{}.{n}.{nanos}", std::process::id()))
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(&tmp)
        .map_err(|e| StoreError::io("create", &tmp, e))?;
    let written = write(&mut file).and_then(|()| file.flush()).and_then(|()| {
        if sync {
            file.sync_all()
        } else {
            Ok(())
        }
    });
    if let Err(e) = written {
        drop(file);
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::io("write", &tmp, e));
    }
    drop(file);
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::io("rename into place", path, e));
    }
    if sync {
        sync_dir(dir)
    } else {
        Ok(())
    }
}

/// `.<name><tag>.tmp` beside `path`.
fn temporary_name(path: &Path, tag: &str) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}{tag}.tmp"))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// A path that names a pipe (or a device: `-o /dev/null`) is refused, and left as it is.
    #[test]
    fn a_path_that_is_not_a_regular_file_is_refused_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = replace_file(&fifo, |f| f.write_all(b"x")).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        let e = replace_derived_file(dir.path(), |f| f.write_all(b"x")).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn the_file_is_replaced_whole_with_mode_0640_and_no_temporary_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("schedule.json");
        replace_file(&path, |f| f.write_all(b"one")).unwrap();
        // A temporary file a crash left behind is not in the way.
        fs::write(dir.path().join(".schedule.json.tmp"), b"torn").unwrap();
        replace_file(&path, |f| f.write_all(b"two")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & !0o640, 0, "no more than rw-r-----: {mode:o}");
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["schedule.json"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        replace_file(&path, |f| f.write_all(b"old")).unwrap();
        let err = replace_file(&path, |_| Err(std::io::Error::other("disk full"))).unwrap_err();
        assert!(err.to_string().contains(".state.tmp"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert!(!dir.path().join(".state.tmp").exists());
    }

    #[test]
    fn a_link_planted_at_the_temporary_name_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let path = dir.path().join("out");
        std::os::unix::fs::symlink(&victim, dir.path().join(".out.tmp")).unwrap();
        replace_file(&path, |f| f.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }
}
