//! What this machine has: thermal zones, cpufreq policies and the firmware's
//! `get_throttled` file. Discovery runs once, when the sampler is built.

use std::fs;
use std::io;
use std::path::Path;
use std::path::PathBuf;

use super::roots::Roots;

/// One discovered sysfs reading: its layout name and the file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
}

/// A source the machine does not have; reported once so a user knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Absent {
    pub(crate) source: String,
    pub(crate) message: String,
}

#[derive(Debug, Default)]
pub(crate) struct Discovered {
    pub(crate) zones: Vec<Found>,
    pub(crate) policies: Vec<Found>,
    pub(crate) throttled: Option<PathBuf>,
    pub(crate) absent: Vec<Absent>,
}

/// Entries `dir/<prefix>N` (N a decimal number), sorted by N.
fn numbered(dir: &Path, prefix: &str) -> io::Result<Vec<(u32, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(n) = name
            .to_str()
            .and_then(|s| s.strip_prefix(prefix))
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        out.push((n, entry.path()));
    }
    out.sort_unstable_by_key(|(n, _)| *n);
    Ok(out)
}

/// Entries of `dir/<prefix>N` that have a `file`, or why there are none.
fn numbered_with(dir: &Path, prefix: &str, file: &str) -> Result<Vec<(u32, PathBuf)>, String> {
    match numbered(dir, prefix) {
        Ok(v) => {
            let v: Vec<_> = v
                .into_iter()
                .map(|(n, d)| (n, d.join(file)))
                .filter(|(_, f)| f.exists())
                .collect();
            if v.is_empty() {
                Err(format!("no {prefix}N/{file} under {}", dir.display()))
            } else {
                Ok(v)
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err(format!("{} does not exist", dir.display()))
        }
        Err(e) => Err(format!("cannot list {}: {e}", dir.display())),
    }
}

pub(crate) fn discover(roots: &Roots) -> Discovered {
    let mut d = Discovered::default();
    let thermal = roots.thermal_dir();
    match numbered_with(&thermal, "thermal_zone", "temp") {
        Ok(v) => {
            d.zones = v
                .into_iter()
                .map(|(n, temp)| {
                    let kind = temp
                        .parent()
                        .and_then(|z| fs::read(z.join("type")).ok())
                        .and_then(|b| super::file::trimmed(&b).map(str::to_owned))
                        .filter(|s| !s.is_empty());
                    let name = match kind {
                        Some(k) => format!("thermal_zone{n}:{k}"),
                        None => format!("thermal_zone{n}"),
                    };
                    Found { name, path: temp }
                })
                .collect();
        }
        Err(why) => d.absent.push(Absent {
            source: "thermal".to_owned(),
            message: format!("{why}: temperature will not be recorded"),
        }),
    }
    match numbered_with(&roots.cpufreq_dir(), "policy", "scaling_cur_freq") {
        Ok(v) => {
            d.policies = v
                .into_iter()
                .map(|(n, path)| Found {
                    name: format!("policy{n}"),
                    path,
                })
                .collect();
        }
        Err(why) => d.absent.push(Absent {
            source: "cpufreq".to_owned(),
            message: format!("{why}: CPU frequency will not be recorded"),
        }),
    }
    let candidates = roots.throttled_candidates();
    d.throttled = candidates.iter().find(|p| p.exists()).cloned();
    if d.throttled.is_none() {
        d.absent.push(Absent {
            source: "get_throttled".to_owned(),
            message: format!(
                "neither {} nor {} exists (not a Raspberry Pi?): throttling and under-voltage \
                 flags will not be recorded",
                candidates[0].display(),
                candidates[1].display()
            ),
        });
    }
    d
}
