//! Configuration: one TOML file, defaults in one place ([`Config::default`]).
//!
//! Unknown keys and bad values are errors naming `file:line:column`. A missing
//! *default* file means defaults; a missing *explicit* file (`--config`) is an error.
//! Flags given on the command line override the file (see `cli`).

use std::path::Path;
use std::path::PathBuf;

use serde::Deserialize;
use serde::Deserializer;
use serde::Serialize;
use thiserror::Error;

use crate::derive::energy::MinCoverage;
use crate::sampler::Roots;
use crate::sampler::SamplerOptions;
use crate::store::StoreOptions;
pub(crate) use position::key_position;
pub(crate) use position::line_column;
pub(crate) use position::toml_message;

/// Where `edgewatt` looks for its config when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/edgewatt/edgewatt.toml";
/// State directory when neither the config, `--state-dir` nor systemd's `STATE_DIRECTORY` says.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/edgewatt";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where segments, the lock and the state live. Defaults to systemd's
    /// `STATE_DIRECTORY`, else /var/lib/edgewatt.
    pub state_dir: PathBuf,
    /// Overrides the device id written in segment headers (else an app-specific hash of
    /// the device-tree serial or /etc/machine-id: `sampler::device_id`).
    pub device_id: Option<String>,
    pub sampler: SamplerConfig,
    pub store: StoreConfig,
    pub clock: ClockConfig,
    /// Plan files (TOML) the daemon runs unattended, each when its `[when]` says.
    pub plans: Vec<PathBuf>,
    /// Power sources (`[power]`, `[power.ina219]`, …): see docs/POWER.md.
    pub power: crate::power::PowerConfig,
    pub energy: EnergyConfig,
    /// The Prometheus endpoint (`[metrics]`, off by default): README "Metrics".
    pub metrics: crate::metrics::MetricsConfig,
    /// Uploading sealed segments to S3-compatible storage (`[upload]`): see README.
    pub upload: crate::upload::UploadConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplerConfig {
    /// Ticks per second, 1–100.
    #[serde(deserialize_with = "rate_hz")]
    pub rate_hz: u32,
    pub proc_root: PathBuf,
    pub sys_root: PathBuf,
    /// How often the sampler's own CPU time is logged, seconds (≥ 1).
    #[serde(deserialize_with = "at_least_one")]
    pub cost_report_interval_s: u64,
    /// How often the firmware's `get_throttled` is read, ms (10–3600000): each read is a
    /// mailbox round trip to the firmware. Samples in between repeat the last reading;
    /// its sticky bits (16–19) keep what happened between reads.
    #[serde(deserialize_with = "throttled_ms")]
    pub throttled_interval_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// A segment is sealed and a new one started past this size, bytes (≥ 4096).
    #[serde(deserialize_with = "segment_bytes")]
    pub segment_max_bytes: u64,
    /// …or past this age, seconds (≥ 1).
    #[serde(deserialize_with = "at_least_one")]
    pub segment_max_age_s: u64,
    /// Samples are written and fdatasync'ed this often, ms (100–600000): a crash loses
    /// at most this much.
    #[serde(deserialize_with = "fsync_ms")]
    pub fsync_interval_ms: u64,
    /// A self-contained (key) sample block is written at least this often, seconds (≥ 1);
    /// blocks in between continue the previous one, which keeps them small. A corrupt
    /// frame makes the samples up to the next key block unreadable: at most this long plus
    /// one fsync interval. 20 s keeps the 10 Hz Pi 5 layout under 16 bytes/sample
    /// (60 s: 15.3, 20 s: 15.8, 15 s: 16.1, 5 s: 18.2; `cargo bench --bench codec`).
    #[serde(deserialize_with = "at_least_one")]
    pub key_block_interval_s: u64,
    /// Oldest sealed segments are deleted while all segments exceed this, bytes.
    #[serde(deserialize_with = "segment_bytes")]
    pub retain_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockConfig {
    /// A wall-clock jump larger than this against the monotonic clock is logged as a
    /// clock step and re-anchors, ms (≥ 1).
    #[serde(deserialize_with = "at_least_one")]
    pub step_threshold_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnergyConfig {
    /// A measured energy figure whose window — or, for a net figure, whose idle baseline —
    /// valid power readings cover less than this share of is not trusted: it is shown as
    /// `-` with the reason and left out of averages, % (0–100).
    #[serde(deserialize_with = "percent")]
    pub min_coverage_pct: u32,
}

impl Default for EnergyConfig {
    fn default() -> Self {
        Self {
            min_coverage_pct: MinCoverage::DEFAULT_PCT,
        }
    }
}

impl EnergyConfig {
    /// The threshold as the energy figures check it.
    #[must_use]
    pub const fn min_coverage(&self) -> MinCoverage {
        MinCoverage::from_pct(self.min_coverage_pct)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            state_dir: std::env::var_os("STATE_DIRECTORY")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR)),
            device_id: None,
            plans: Vec::new(),
            sampler: SamplerConfig::default(),
            store: StoreConfig::default(),
            clock: ClockConfig::default(),
            power: crate::power::PowerConfig::default(),
            energy: EnergyConfig::default(),
            metrics: crate::metrics::MetricsConfig::default(),
            upload: crate::upload::UploadConfig::default(),
        }
    }
}

impl Default for SamplerConfig {
    fn default() -> Self {
        Self {
            rate_hz: 10,
            proc_root: PathBuf::from("/proc"),
            sys_root: PathBuf::from("/sys"),
            cost_report_interval_s: 60,
            throttled_interval_ms: 1000,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            segment_max_bytes: 8 << 20,
            segment_max_age_s: 3600,
            fsync_interval_ms: 5000,
            key_block_interval_s: 20,
            retain_bytes: 1 << 30,
        }
    }
}

impl Default for ClockConfig {
    fn default() -> Self {
        Self {
            step_threshold_ms: 500,
        }
    }
}

impl SamplerConfig {
    #[must_use]
    pub const fn interval_us(&self) -> u64 {
        1_000_000 / self.rate_hz as u64
    }

    /// Where /proc and /sys are.
    #[must_use]
    pub fn roots(&self) -> Roots {
        Roots::new(&self.proc_root, &self.sys_root)
    }

    /// The sampler's options: its cost report interval and the `get_throttled` period (page
    /// size: this machine's).
    #[must_use]
    pub fn options(&self) -> SamplerOptions {
        SamplerOptions {
            cost_every_us: self.cost_report_interval_s.saturating_mul(1_000_000),
            throttled_interval_us: self.throttled_interval_ms.saturating_mul(1000),
            ..SamplerOptions::default()
        }
    }
}

impl StoreConfig {
    /// How to write the log into `dir`: these limits, and at most
    /// [`MAX_PENDING_BYTES`](crate::store::MAX_PENDING_BYTES) queued while writes fail.
    #[must_use]
    pub fn options(&self, dir: PathBuf) -> StoreOptions {
        StoreOptions {
            dir,
            segment_max_bytes: self.segment_max_bytes,
            segment_max_age_s: self.segment_max_age_s,
            fsync_interval_ms: self.fsync_interval_ms,
            retain_bytes: self.retain_bytes,
            max_pending_bytes: crate::store::MAX_PENDING_BYTES,
            retention_hold: crate::store::RetentionHold::default(),
        }
    }
}

impl Config {
    /// How the daemon writes the log: into `state_dir`, as `[store]` says.
    #[must_use]
    pub fn store_options(&self) -> StoreOptions {
        self.store.options(self.state_dir.clone())
    }
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source} (fix the path or drop --config to use defaults)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{what} {value} is out of range: {expected}")]
    OutOfRange {
        what: &'static str,
        value: u64,
        expected: &'static str,
    },
}

fn bounded<'de, D: Deserializer<'de>>(d: D, lo: u64, hi: u64, unit: &str) -> Result<u64, D::Error> {
    let v = u64::deserialize(d)?;
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(format!(
            "{v} is out of range: expected {lo}–{hi} {unit}"
        )))
    }
}

fn rate_hz<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    bounded(d, 1, 100, "Hz").map(|v| v as u32)
}

fn at_least_one<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    bounded(d, 1, u64::from(u32::MAX), "(whole number ≥ 1)")
}

fn segment_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    bounded(d, 4096, u64::MAX, "bytes")
}

fn throttled_ms<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    bounded(d, 10, 3_600_000, "ms")
}

fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    bounded(d, 0, 100, "%").map(|v| v as u32)
}

fn fsync_ms<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    bounded(d, 100, 600_000, "ms")
}

impl Config {
    /// Parses config text and checks values that depend on each other (the INA219
    /// calibration, the replay path); `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let cfg: Self = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_column(text, s.start));
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message: toml_message(text, &e),
            }
        })?;
        if let Err(bad) = cfg.power.check() {
            let keys: Vec<&str> = std::iter::once("power").chain(bad.key.split('.')).collect();
            let (line, column) = key_position(text, &keys);
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message: bad.to_string(),
            });
        }
        if let Err(bad) = cfg.upload.check() {
            let (line, column) = key_position(text, &["upload", bad.key]);
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message: bad.to_string(),
            });
        }
        Ok(cfg)
    }

    /// Loads `explicit` (must exist), else [`DEFAULT_CONFIG_PATH`] if it exists, else defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        let (path, must_exist) = match explicit {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_PATH), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, &path),
            Err(e) if !must_exist && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Self::default())
            }
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// Applies a `--rate-hz` flag with the same bounds as the file.
    pub fn set_rate_hz(&mut self, rate_hz: u32) -> Result<(), ConfigError> {
        if !(1..=100).contains(&rate_hz) {
            return Err(ConfigError::OutOfRange {
                what: "--rate-hz",
                value: u64::from(rate_hz),
                expected: "1–100 Hz",
            });
        }
        self.sampler.rate_hz = rate_hz;
        Ok(())
    }

    /// The effective configuration as TOML (what `config check` prints and the log keeps).
    #[must_use]
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("config always serializes")
    }
}

mod position;
#[cfg(test)]
mod tests;
