//! One tick's raw readings, and the layout that says what each reading is.
//!
//! Every value is a raw counter or gauge in the integer unit the kernel reports:
//! CPU time in USER_HZ ticks, memory in kB (KiB, as /proc says "kB"), temperature in
//! milli-degrees Celsius, frequency in kHz. Rates and utilisation are derived later.

use serde::Deserialize;
use serde::Serialize;

/// Cumulative CPU time of one `/proc/stat` line, in USER_HZ ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuTicks {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
}

impl CpuTicks {
    pub const FIELDS: usize = 8;

    /// Ticks spent doing work: everything but idle and iowait.
    #[must_use]
    pub const fn busy(&self) -> u64 {
        self.user + self.nice + self.system + self.irq + self.softirq + self.steal
    }

    /// All ticks, busy or not.
    #[must_use]
    pub const fn total(&self) -> u64 {
        self.busy() + self.idle + self.iowait
    }

    #[must_use]
    pub const fn to_array(&self) -> [u64; Self::FIELDS] {
        [
            self.user,
            self.nice,
            self.system,
            self.idle,
            self.iowait,
            self.irq,
            self.softirq,
            self.steal,
        ]
    }

    #[must_use]
    pub const fn from_array(a: [u64; Self::FIELDS]) -> Self {
        Self {
            user: a[0],
            nice: a[1],
            system: a[2],
            idle: a[3],
            iowait: a[4],
            irq: a[5],
            softirq: a[6],
            steal: a[7],
        }
    }
}

/// System memory from `/proc/meminfo`, in kB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemKb {
    pub total: u64,
    pub available: u64,
    pub free: u64,
    pub cached: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

impl MemKb {
    pub const FIELDS: usize = 6;

    /// Memory in use as the kernel sees it: MemTotal − MemAvailable.
    #[must_use]
    pub const fn used(&self) -> u64 {
        self.total.saturating_sub(self.available)
    }

    #[must_use]
    pub const fn swap_used(&self) -> u64 {
        self.swap_total.saturating_sub(self.swap_free)
    }

    #[must_use]
    pub const fn to_array(&self) -> [u64; Self::FIELDS] {
        [
            self.total,
            self.available,
            self.free,
            self.cached,
            self.swap_total,
            self.swap_free,
        ]
    }

    #[must_use]
    pub const fn from_array(a: [u64; Self::FIELDS]) -> Self {
        Self {
            total: a[0],
            available: a[1],
            free: a[2],
            cached: a[3],
            swap_total: a[4],
            swap_free: a[5],
        }
    }
}

/// One tracked process from `/proc/PID/stat` and `/proc/PID/statm`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcCounters {
    pub utime_ticks: u64,
    pub stime_ticks: u64,
    pub rss_kb: u64,
    pub minflt: u64,
    pub majflt: u64,
}

impl ProcCounters {
    pub const FIELDS: usize = 5;

    #[must_use]
    pub const fn to_array(&self) -> [u64; Self::FIELDS] {
        [
            self.utime_ticks,
            self.stime_ticks,
            self.rss_kb,
            self.minflt,
            self.majflt,
        ]
    }

    #[must_use]
    pub const fn from_array(a: [u64; Self::FIELDS]) -> Self {
        Self {
            utime_ticks: a[0],
            stime_ticks: a[1],
            rss_kb: a[2],
            minflt: a[3],
            majflt: a[4],
        }
    }
}

/// What a tracked process is to edgewatt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcRole {
    /// The edgewatt daemon itself.
    Daemon,
    /// The supervised llama.cpp worker.
    Worker,
    /// Any other process, by name.
    Other(String),
}

impl ProcRole {
    /// `daemon`, `worker`, or the name: the `role` of `ProcStart`/`ProcExit` events.
    #[must_use]
    pub fn label(&self) -> &str {
        match self {
            Self::Daemon => "daemon",
            Self::Worker => "worker",
            Self::Other(name) => name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedProc {
    pub pid: u32,
    pub role: ProcRole,
}

/// What the readings of one tick are: the same for every sample of a block.
///
/// `cpus` counts `/proc/stat` lines: index 0 is the aggregate `cpu` line, then `cpu0`…
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleLayout {
    /// Number of `/proc/stat` cpu lines read (aggregate + per core).
    pub cpus: u16,
    /// Tracked processes, in the order of [`Sample::procs`].
    pub procs: Vec<TrackedProc>,
    /// Thermal zone names (e.g. `thermal_zone0:cpu-thermal`), in the order of [`Sample::temps_mc`].
    pub thermal_zones: Vec<String>,
    /// cpufreq policy names (e.g. `policy0`), in the order of [`Sample::freqs_khz`].
    pub cpufreq: Vec<String>,
    /// Whether the firmware's `get_throttled` file is read.
    pub throttled: bool,
}

impl SampleLayout {
    /// Number of readings that may each be valid or missing in a sample: cpu, mem,
    /// each proc, each thermal zone, each cpufreq policy, throttled.
    #[must_use]
    pub fn groups(&self) -> usize {
        2 + self.procs.len() + self.thermal_zones.len() + self.cpufreq.len() + 1
    }
}

/// One tick's raw readings.
///
/// `valid` has one bit per reading group in [`SampleLayout::groups`] order; a missing
/// reading keeps its slot (filled with the previous value) with its bit cleared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Index of the scheduled tick since the sampler started.
    pub tick: u64,
    /// CLOCK_MONOTONIC when the tick's reads began, µs.
    pub mono_us: u64,
    pub cpu: Readings<CpuTicks, 5>,
    pub mem: MemKb,
    pub procs: Readings<ProcCounters, 2>,
    pub temps_mc: Readings<i64, 2>,
    pub freqs_khz: Readings<u64, 2>,
    /// Raw `get_throttled` bits (0 when absent; see `valid`).
    pub throttled: u64,
    pub valid: u64,
}

/// The readings of one kind in a sample, kept inline up to `N` (a Raspberry Pi 5's
/// aggregate and four cores; daemon and worker; its thermal zones and cpufreq policies), so
/// a decoded sample costs no allocation there. Serialized as a sequence, like a `Vec`.
pub type Readings<T, const N: usize> = smallvec::SmallVec<[T; N]>;

/// Bit positions of the reading groups in [`Sample::valid`].
pub mod group {
    pub const CPU: u32 = 0;
    pub const MEM: u32 = 1;
    /// First proc; proc `i` is `PROC0 + i`.
    pub const PROC0: u32 = 2;
}

impl Sample {
    /// An all-invalid sample of the given layout, ready to be filled.
    #[must_use]
    pub fn empty(layout: &SampleLayout) -> Self {
        Self {
            tick: 0,
            mono_us: 0,
            cpu: smallvec::smallvec![CpuTicks::default(); usize::from(layout.cpus)],
            mem: MemKb::default(),
            procs: smallvec::smallvec![ProcCounters::default(); layout.procs.len()],
            temps_mc: smallvec::smallvec![0; layout.thermal_zones.len()],
            freqs_khz: smallvec::smallvec![0; layout.cpufreq.len()],
            throttled: 0,
            valid: 0,
        }
    }

    #[must_use]
    pub const fn is_valid(&self, bit: u32) -> bool {
        bit < 64 && self.valid & (1 << bit) != 0
    }

    pub fn set_valid(&mut self, bit: u32, ok: bool) {
        if bit < 64 {
            if ok {
                self.valid |= 1 << bit;
            } else {
                self.valid &= !(1 << bit);
            }
        }
    }
}

impl SampleLayout {
    /// Largest number of reading groups a layout may have (bits of [`Sample::valid`]).
    pub const MAX_GROUPS: usize = 64;

    #[must_use]
    pub fn proc_bit(&self, i: usize) -> u32 {
        (2 + i) as u32
    }

    #[must_use]
    pub fn temp_bit(&self, i: usize) -> u32 {
        (2 + self.procs.len() + i) as u32
    }

    #[must_use]
    pub fn freq_bit(&self, i: usize) -> u32 {
        (2 + self.procs.len() + self.thermal_zones.len() + i) as u32
    }

    #[must_use]
    pub fn throttled_bit(&self) -> u32 {
        (2 + self.procs.len() + self.thermal_zones.len() + self.cpufreq.len()) as u32
    }

    /// Whether `sample` has exactly the shape this layout describes.
    #[must_use]
    pub fn fits(&self, sample: &Sample) -> bool {
        sample.cpu.len() == usize::from(self.cpus)
            && sample.procs.len() == self.procs.len()
            && sample.temps_mc.len() == self.thermal_zones.len()
            && sample.freqs_khz.len() == self.cpufreq.len()
    }
}
