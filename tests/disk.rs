//! The daemon on a really slow and on a really full disk: a small ext4 filesystem in an
//! image file on a loop device, mounted only in the private mount namespace of the
//! processes a test starts (`unshare -m`), so nothing leaks into the machine's mounts.
//!
//! - Slow: the daemon runs in a blkio cgroup (v1 `blkio.throttle.write_iops_device`) that
//!   lets it do 2 writes a second to the loop device, so each `fdatasync` takes about
//!   half a second — far longer than a tick. The sampling loop must not notice.
//! - Full: the filesystem is filled up before the daemon starts on it: it can neither
//!   repair the segment the previous (killed) daemon left open nor open its own; it must
//!   sample anyway, and once there is room again, nothing sampled meanwhile is lost.
//!
//! Loop devices, mounts and cgroups need root (as on CI). Elsewhere the tests fail saying
//! so; set `EDGEWATT_SKIP_LOOP_TEST=1` to skip them explicitly.

use std::path::Path;
use std::path::PathBuf;
use std::process::Child;
use std::process::Command;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::common::edgewatt;
use crate::common::missed_ticks;
use crate::common::signal;
use crate::common::Ready;
use crate::common::StderrLines;

fn skip() -> bool {
    if std::env::var_os("EDGEWATT_SKIP_LOOP_TEST").is_some() {
        eprintln!("EDGEWATT_SKIP_LOOP_TEST is set: skipped");
        return true;
    }
    false
}

fn sh(script: &str) -> Result<String, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .map_err(|e| format!("sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{script}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// An ext4 image on a loop device; the mount point exists everywhere but the filesystem
/// is mounted only by [`LoopFs::command`].
struct LoopFs {
    dir: tempfile::TempDir,
    device: String,
}

impl LoopFs {
    fn new(size_mib: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join("fs.img");
        std::fs::create_dir(dir.path().join("mnt")).unwrap();
        let setup = || -> Result<String, String> {
            sh(&format!("truncate -s {size_mib}M '{}'", image.display()))?;
            let device = sh(&format!("losetup --find --show '{}'", image.display()))?;
            // No blocks reserved for root: the test runs as root and must see it full.
            sh(&format!("mkfs.ext4 -q -m 0 {device}")).map(|_| device)
        };
        let device = setup().unwrap_or_else(|e| {
            panic!(
                "cannot make a loop-mounted filesystem ({e}): this test needs root, \
                 losetup, mkfs.ext4 and unshare (run as root, or set \
                 EDGEWATT_SKIP_LOOP_TEST=1 to skip it)"
            )
        });
        Self { dir, device }
    }

    fn mnt(&self) -> PathBuf {
        self.dir.path().join("mnt")
    }

    /// `sh -c "<mount>; SCRIPT" edgewatt ARGS…` in a new mount namespace: `$0` is the
    /// edgewatt binary, `"$@"` the args.
    fn command(&self, script: &str, args: &[&str]) -> Command {
        let mut c = Command::new("unshare");
        c.args(["-m", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount {} '{}' || exit 97; {script}",
                self.device,
                self.mnt().display()
            ))
            .arg(edgewatt().get_program())
            .args(args)
            .env("RUST_LOG", "info");
        c
    }

    /// A copy of the state directory, read from the filesystem once its daemon is gone.
    fn copy_out(&self, to: &Path) -> PathBuf {
        let out = self
            .command(
                &format!("cp -a '{}/state' '{}'", self.mnt().display(), to.display()),
                &[],
            )
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        to.join("state")
    }
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        let _ = sh(&format!("losetup -d {}", self.device));
    }
}

/// A v1 blkio cgroup limiting writes to one device.
struct Throttle(PathBuf);

impl Throttle {
    fn new(device: &str, write_iops: u32) -> Self {
        let dir = Path::new("/sys/fs/cgroup/blkio")
            .join(format!("edgewatt-slow-disk-{}", std::process::id()));
        let rdev = sh(&format!("stat -c '%t:%T' {device}")).unwrap();
        let (major, minor) = rdev.split_once(':').unwrap();
        let dev = format!(
            "{}:{}",
            u32::from_str_radix(major, 16).unwrap(),
            u32::from_str_radix(minor, 16).unwrap()
        );
        std::fs::create_dir_all(&dir)
            .and_then(|()| {
                std::fs::write(
                    dir.join("blkio.throttle.write_iops_device"),
                    format!("{dev} {write_iops}"),
                )
            })
            .unwrap_or_else(|e| {
                panic!(
                    "cannot make the blkio cgroup {} ({e}): this test needs root and the v1 \
                     blkio controller (or set EDGEWATT_SKIP_LOOP_TEST=1 to skip it)",
                    dir.display()
                )
            });
        Self(dir)
    }

    /// Shell that moves itself (and so what it execs) into the cgroup.
    fn join(&self) -> String {
        format!("echo $$ > '{}/cgroup.procs' || exit 98", self.0.display())
    }
}

impl Drop for Throttle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Every record of a state directory.
fn records(state: &Path) -> Vec<Value> {
    crate::common::dump(state)
}

/// The tick numbers of the samples have no hole the late-tick events do not explain.
fn assert_no_sample_lost(records: &[Value]) {
    let ticks: Vec<u64> = records
        .iter()
        .filter(|r| r["type"] == "sample")
        .map(|r| r["tick"].as_u64().unwrap())
        .collect();
    assert_eq!(ticks.first(), Some(&0), "the first tick is there");
    let holes: u64 = ticks.windows(2).map(|w| w[1] - w[0] - 1).sum();
    assert_eq!(holes, missed_ticks(records), "every tick sampled is logged");
}

mod full;
mod slow;

fn spawn_piped(ready: &Ready, cmd: &mut Command) -> Child {
    ready.spawn(cmd.stderr(Stdio::piped()))
}

fn stop(child: &mut Child) {
    signal(child.id(), libc::SIGTERM);
    let status = child.wait().unwrap();
    assert!(status.success(), "the daemon stops cleanly: {status}");
}
