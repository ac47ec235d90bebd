//! RAPL package energy counters (`/sys/class/powercap/intel-rapl:N/energy_uj`) on x86
//! development machines. Power is the counter difference over the poll interval, summed
//! over packages, timestamped at the middle of the interval. A counter that went backwards
//! wrapped at `max_energy_range_uj`. Measures CPU package (and DRAM on some parts), not the
//! wall socket.

use std::path::Path;
use std::path::PathBuf;

use serde::Deserialize;
use serde::Serialize;

use super::config::check_interval_ms;
use super::registry::Detect;
use super::registry::SourceKind;
use super::PowerError;
use super::PowerReading;
use super::PowerSource;
use super::SourceId;

const NAME: &str = SourceId::Rapl.name();

/// RAPL in the power registry.
pub const KIND: SourceKind = SourceKind {
    id: SourceId::Rapl,
    detect: Detect::Probe,
    measures: "CPU package energy counters (x86 development machines)",
    misses: "everything outside the package; not wall power",
    open: |cfg| RaplSource::open(&cfg.rapl.root, cfg.rapl.interval_ms).map(|s| Box::new(s) as _),
    check: |cfg, _| check_interval_ms("rapl.interval_ms", cfg.rapl.interval_ms),
    file_key: None,
};

/// `[power.rapl]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RaplConfig {
    /// The powercap directory holding the `intel-rapl:N` zones.
    pub root: PathBuf,
    pub interval_ms: u64,
}

impl Default for RaplConfig {
    fn default() -> Self {
        Self {
            root: PathBuf::from("/sys/class/powercap"),
            interval_ms: 100,
        }
    }
}

#[derive(Debug, Clone)]
struct Zone {
    name: String,
    energy_path: PathBuf,
    max_range_uj: u64,
}

/// RAPL as a [`PowerSource`].
#[derive(Debug, Clone)]
pub struct RaplSource {
    root: PathBuf,
    zones: Vec<Zone>,
    interval_us: u64,
    last: Option<(u64, Vec<u64>)>,
    text: String,
}

fn read_u64(path: &Path, text: &mut String) -> Result<u64, PowerError> {
    text.clear();
    let io = |source| PowerError::Io {
        path: path.display().to_string(),
        source,
    };
    *text = std::fs::read_to_string(path).map_err(io)?;
    text.trim().parse().map_err(|_| PowerError::Parse {
        source_name: NAME,
        line: 1,
        text: text.trim().to_string(),
        message: format!("{} is not an unsigned integer", path.display()),
    })
}

/// Energy counted between two readings of a counter that wraps after `max_range_uj`.
#[must_use]
pub const fn counter_delta(prev: u64, cur: u64, max_range_uj: u64) -> u64 {
    if cur >= prev {
        cur - prev
    } else {
        max_range_uj - prev + cur
    }
}

impl RaplSource {
    /// Finds the package zones (`intel-rapl:N`, not their `:N:M` subzones) under `root` and
    /// checks their counters can be read (they are root-only on most kernels).
    pub fn open(root: &Path, interval_ms: u64) -> Result<Self, PowerError> {
        let absent = |message: String| PowerError::Absent {
            source_name: NAME,
            location: root.display().to_string(),
            message,
        };
        let entries = std::fs::read_dir(root).map_err(|e| absent(e.to_string()))?;
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_prefix("intel-rapl:"))
                    .is_some_and(|rest| !rest.contains(':'))
            })
            .collect();
        dirs.sort();
        let mut text = String::new();
        let mut zones = Vec::new();
        for dir in dirs {
            let name = std::fs::read_to_string(dir.join("name"))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| dir.display().to_string());
            let max_range_uj = read_u64(&dir.join("max_energy_range_uj"), &mut text)?;
            let energy_path = dir.join("energy_uj");
            read_u64(&energy_path, &mut text).map_err(|e| {
                absent(format!(
                    "{e}; the counters are readable by root only on most kernels"
                ))
            })?;
            zones.push(Zone {
                name,
                energy_path,
                max_range_uj,
            });
        }
        if zones.is_empty() {
            return Err(absent("no intel-rapl:N package zones".into()));
        }
        Ok(Self {
            root: root.to_path_buf(),
            zones,
            interval_us: interval_ms.max(1) * 1_000,
            last: None,
            text,
        })
    }
}

impl PowerSource for RaplSource {
    fn id(&self) -> SourceId {
        SourceId::Rapl
    }

    fn label(&self) -> String {
        let names: Vec<&str> = self.zones.iter().map(|z| z.name.as_str()).collect();
        format!(
            "rapl {} [{}] every {}ms: CPU package energy counters, not wall power",
            self.root.display(),
            names.join(","),
            self.interval_us / 1_000
        )
    }

    fn period_us(&self) -> u64 {
        self.interval_us
    }

    fn poll(&mut self, now_us: u64) -> Result<Option<PowerReading>, PowerError> {
        let mut counters = Vec::with_capacity(self.zones.len());
        for z in &self.zones {
            counters.push(read_u64(&z.energy_path, &mut self.text)?);
        }
        let Some((prev_us, prev)) = self.last.replace((now_us, counters.clone())) else {
            return Ok(None);
        };
        let dt_us = now_us.saturating_sub(prev_us);
        if dt_us == 0 {
            return Ok(None);
        }
        let energy_uj: u64 = self
            .zones
            .iter()
            .zip(prev.iter().zip(&counters))
            .map(|(z, (&p, &c))| counter_delta(p, c, z.max_range_uj))
            .sum();
        let power_uw = u128::from(energy_uj) * 1_000_000 / u128::from(dt_us);
        Ok(Some(PowerReading::power_only(
            prev_us + dt_us / 2,
            SourceId::Rapl,
            i64::try_from(power_uw).unwrap_or(i64::MAX),
        )))
    }
}
