//! Sampler against fixture trees: tests/fixtures/{pi5,x86,broken}, and copies of them in
//! tempdirs that tests mutate between reads.

mod exits;
mod faults;
mod identity;
mod readings;
mod throttled;

use std::fs;
use std::path::Path;
use std::path::PathBuf;

use edgewatt::sampler::Notice;
use edgewatt::sampler::NoticeKind;
use edgewatt::sampler::ProcRole;
use edgewatt::sampler::Roots;
use edgewatt::sampler::Sampler;
use edgewatt::sampler::SamplerOptions;
use edgewatt::sampler::TrackedProc;

/// Pi OS's Pi 5 kernel uses 16 KiB pages.
pub const PI5_PAGE: u64 = 16_384;
pub const X86_PAGE: u64 = 4_096;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// A writable copy of a fixture.
pub fn scratch(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture(name), dir.path());
    dir
}

pub fn daemon(pid: u32) -> TrackedProc {
    TrackedProc {
        pid,
        role: ProcRole::Daemon,
    }
}

pub fn opts(page_size: u64) -> SamplerOptions {
    SamplerOptions {
        page_size,
        error_repeat_us: 60_000_000,
        cost_every_us: 60_000_000,
        throttled_interval_us: 1_000_000,
    }
}

pub fn sampler(root: &Path, procs: Vec<TrackedProc>, page_size: u64) -> Sampler {
    Sampler::with_options(Roots::under(root), procs, opts(page_size)).unwrap()
}

/// Drained events, without `SamplerCost` (its CPU time is real, not scripted).
pub fn events(s: &mut Sampler) -> Vec<Notice> {
    s.drain_notices()
        .filter(|e| !matches!(e.kind, NoticeKind::SamplerCost { .. }))
        .collect()
}

/// Overwrites a file in place (same inode), as the kernel's files change under a kept fd.
pub fn put(root: &Path, rel: &str, content: &str) {
    fs::write(root.join(rel), content).unwrap();
}
