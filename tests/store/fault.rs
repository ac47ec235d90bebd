//! A write error must not lose frames: with RLIMIT_FSIZE (SIGXFSZ ignored) a real file
//! refuses to grow (EFBIG, after a short write), as a full disk would. The limit is per
//! process, so the test re-runs itself in a child process that sets it.

use std::fs;
use std::path::Path;
use std::process::Command;

use edgewatt::record::Frame;
use edgewatt::record::SealReason;
use edgewatt::store::list_segments;
use edgewatt::store::FrameEncoder;
use edgewatt::store::StoreError;
use edgewatt::store::Writer;

use super::*;

const CHILD_ENV: &str = "EDGEWATT_FAULT_CHILD_DIR";
const TEST_NAME: &str = "store::fault::a_failed_write_keeps_frames_and_retries";

fn set_fsize_limit(bytes: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a valid, writable rlimit struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut lim), 0);
        lim.rlim_cur = bytes.min(lim.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
    }
}

fn event_frame_len(seq: u64) -> u64 {
    let mut enc = FrameEncoder::new();
    let frame = Frame {
        seq,
        record: event(seq),
    };
    enc.encode(&frame).unwrap().len() as u64
}

/// Runs in the child: the file may hold the header, two events and half of a third; the
/// queue holds two frames.
fn child(dir: &Path) {
    // SAFETY: ignoring a signal; EFBIG is then returned by write.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let e = event_frame_len(0);
    let mut o = opts(dir);
    o.max_pending_bytes = 2 * e as usize + 1;
    let (mut w, _) = Writer::open(o, ident(), anchor(0)).unwrap();
    let header = w.segment_len_bytes();
    set_fsize_limit(header + 2 * e + e / 2);
    assert_eq!(w.append(&event(0)).unwrap(), 0);
    assert_eq!(w.append(&event(1)).unwrap(), 1);
    let err = w.append(&event(2)).unwrap_err();
    match &err {
        StoreError::WriteFailed {
            source,
            pending_frames: 1,
            pending_bytes,
            ..
        } => {
            assert_eq!(source.raw_os_error(), Some(libc::EFBIG));
            assert_eq!(*pending_bytes, e);
        }
        other => panic!("expected WriteFailed, got {other:?}"),
    }
    assert!(err.to_string().contains(".ewlog.open"), "{err}");
    // The short write was cut back: the file ends after the last whole frame.
    let len = fs::metadata(w.active_path()).unwrap().len();
    assert_eq!(
        (len, w.segment_len_bytes()),
        (header + 2 * e, header + 2 * e)
    );
    assert!(matches!(
        w.append(&event(3)),
        Err(StoreError::WriteFailed {
            pending_frames: 2,
            ..
        })
    ));
    assert!(matches!(
        w.sync(),
        Err(StoreError::WriteFailed {
            pending_frames: 2,
            ..
        })
    ));
    // A third queued frame does not fit: the oldest (seq 2) goes.
    assert!(matches!(
        w.append(&event(4)),
        Err(StoreError::QueueFull {
            dropped_frames: 1,
            ..
        })
    ));
    assert_eq!((w.pending_frames(), w.dropped_frames()), (2, 1));
    set_fsize_limit(u64::MAX); // the disk has room again
    assert_eq!(w.append(&event(5)).unwrap(), 5);
    assert_eq!((w.pending_frames(), w.pending_bytes()), (0, 0));
    w.sync().unwrap();
    w.close(SealReason::Shutdown, 7).unwrap();
}

#[test]
fn a_failed_write_keeps_frames_and_retries() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD_ENV, tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let segs = list_segments(tmp.path()).unwrap();
    assert_eq!(segs.len(), 1);
    let got = frames(&segs[0].path);
    let seqs: Vec<u64> = got.iter().map(|f| f.seq).collect();
    assert_eq!(
        seqs,
        [0, 1, 3, 4, 5, 6],
        "every kept frame written once, in order; the dropped one leaves a gap"
    );
    for f in &got[..5] {
        assert_eq!(f.record, event(f.seq));
    }
    assert_eq!(got[5].record, seal_of(SealReason::Shutdown, 5, 7));
}

fn seal_of(reason: SealReason, frames: u64, mono_us: u64) -> edgewatt::record::Record {
    edgewatt::record::Record::Seal(edgewatt::record::Seal {
        reason,
        frames,
        dropped_bytes: 0,
        mono_us,
    })
}
