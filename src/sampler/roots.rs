//! Where /proc and /sys are: every path the sampler reads is built from these roots.

use std::path::Path;
use std::path::PathBuf;

/// Roots of the proc and sys filesystems (default: the configuration's, `/proc` and `/sys`).
///
/// Tests and fixtures point these at fake trees; nothing in the sampler opens a
/// hard-coded absolute path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    pub proc_root: PathBuf,
    pub sys_root: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        crate::config::SamplerConfig::default().roots()
    }
}

impl Roots {
    #[must_use]
    pub fn new(proc_root: impl Into<PathBuf>, sys_root: impl Into<PathBuf>) -> Self {
        Self {
            proc_root: proc_root.into(),
            sys_root: sys_root.into(),
        }
    }

    /// `dir/proc` and `dir/sys`: the shape of a fixture tree.
    #[must_use]
    pub fn under(dir: &Path) -> Self {
        Self::new(dir.join("proc"), dir.join("sys"))
    }

    #[must_use]
    pub fn proc(&self, rel: &str) -> PathBuf {
        self.proc_root.join(rel)
    }

    #[must_use]
    pub fn sys(&self, rel: &str) -> PathBuf {
        self.sys_root.join(rel)
    }

    /// `/proc/PID`.
    #[must_use]
    pub fn pid_dir(&self, pid: u32) -> PathBuf {
        self.proc_root.join(pid.to_string())
    }

    /// Directory holding `thermal_zone*`.
    #[must_use]
    pub fn thermal_dir(&self) -> PathBuf {
        self.sys("class/thermal")
    }

    /// Directory holding cpufreq `policy*`.
    #[must_use]
    pub fn cpufreq_dir(&self) -> PathBuf {
        self.sys("devices/system/cpu/cpufreq")
    }

    /// Candidate paths of the Raspberry Pi firmware's `get_throttled`, newest layout first
    /// (Pi 5 kernels, then older boards).
    #[must_use]
    pub fn throttled_candidates(&self) -> [PathBuf; 2] {
        [
            self.sys("devices/platform/soc@107c000000/soc@107c000000:firmware/get_throttled"),
            self.sys("devices/platform/soc/soc:firmware/get_throttled"),
        ]
    }
}
