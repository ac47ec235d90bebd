//! `--source` of `report` and `export`: a fleet's uploaded segments, from the bucket
//! (fetched into a local mirror first) or from a directory laid out as the bucket, one
//! group of segments per device.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::rows::Source;
use crate::config::Config;
use crate::logread::LogSource;
use crate::upload::mirror;

#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Read a fleet's uploaded segments instead of state directories: `s3://BUCKET[/PREFIX]`
    /// (at the config's [upload] endpoint, with its credentials), or a directory laid out
    /// as the bucket (`…/device=<id>/date=<day>/*.ewlog`). Segments are grouped by device.
    #[arg(long, value_name = "SRC", conflicts_with = "dirs")]
    pub source: Option<String>,
    /// Where an s3:// source is fetched to (laid out as the bucket); a segment the mirror
    /// holds at the listed size and ETag is not fetched again [default:
    /// $XDG_CACHE_HOME/edgewatt/mirror/<bucket>, else ~/.cache/…].
    #[arg(long, value_name = "DIR", requires = "source")]
    pub mirror: Option<PathBuf>,
}

/// A fleet's segments: one group per device.
pub struct Fleet {
    /// `device=<id>` key level and its segment files, in seq order.
    pub devices: Vec<(String, Vec<PathBuf>)>,
    /// The directory laid out as the bucket (the mirror's copy of an s3:// prefix), its
    /// canonical path.
    pub root: PathBuf,
    /// The source as named, for the report's header.
    pub name: String,
}

impl Fleet {
    /// All devices as one source, each read as its own state directory.
    #[must_use]
    pub fn source(&self) -> LogSource {
        LogSource::Groups(self.devices.iter().map(|(_, f)| f.clone()).collect())
    }

    /// Each device as a source of rows of its own, with its name.
    #[must_use]
    pub fn each(&self) -> Vec<(String, Source)> {
        self.devices
            .iter()
            .map(|(device, files)| {
                (
                    format!("{} device={device}", self.name),
                    Source::Group {
                        key: self.root.join(format!("device={device}")),
                        files: files.clone(),
                    },
                )
            })
            .collect()
    }
}

fn default_mirror(bucket: &str) -> anyhow::Result<PathBuf> {
    let cache = crate::cost::cache::user_cache_dir()
        .context("no $XDG_CACHE_HOME or $HOME for the mirror: name one with --mirror DIR")?;
    Ok(cache.join("mirror").join(bucket))
}

/// `s3://bucket/prefix` → (bucket, prefix).
fn parse_s3(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then(|| (bucket.to_owned(), prefix.trim_matches('/').to_owned()))
}

impl FleetArgs {
    /// The fleet named by `--source` (fetching what the mirror lacks), or `None` without it.
    pub fn fleet(&self, cfg: &Config) -> anyhow::Result<Option<Fleet>> {
        let Some(src) = &self.source else {
            return Ok(None);
        };
        let root = if src.starts_with("s3://") {
            self.fetch(cfg, src)?
        } else {
            PathBuf::from(src)
        };
        let devices = mirror::device_groups(&root)?;
        anyhow::ensure!(
            !devices.is_empty(),
            "{src}: no segments under {} (a bucket's layout is \
             <prefix>/device=<id>/date=<yyyy-mm-dd>/<seq>.ewlog): check the source and prefix",
            root.display()
        );
        Ok(Some(Fleet {
            devices,
            root: std::fs::canonicalize(&root).unwrap_or(root),
            name: src.clone(),
        }))
    }

    /// Fetches the bucket's segments into the mirror; returns the mirror's copy of the prefix.
    fn fetch(&self, cfg: &Config, url: &str) -> anyhow::Result<PathBuf> {
        let (bucket, prefix) =
            parse_s3(url).with_context(|| format!("--source {url}: not s3://BUCKET[/PREFIX]"))?;
        anyhow::ensure!(
            !cfg.upload.endpoint.is_empty(),
            "--source {url}: the config has no [upload] endpoint: set endpoint (and the \
             credentials) as on the devices"
        );
        let mut upload = cfg.upload.clone();
        upload.bucket.clone_from(&bucket);
        let client = crate::upload::connect(&upload)?;
        let dir = match &self.mirror {
            Some(d) => d.clone(),
            None => default_mirror(&bucket)?,
        };
        let synced = mirror::sync(&client, &prefix, &dir)
            .with_context(|| format!("reading s3://{bucket}/{prefix} at {}", upload.endpoint))?;
        eprintln!(
            "edgewatt: {url}: fetched {} segments ({} bytes), {} already in {}",
            synced.fetched,
            synced.fetched_bytes,
            synced.cached,
            dir.display()
        );
        Ok(if prefix.is_empty() {
            dir
        } else {
            dir.join(&prefix)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_split_into_bucket_and_prefix() {
        let p = |u| parse_s3(u);
        assert_eq!(p("s3://b/fleet/a/"), Some(("b".into(), "fleet/a".into())));
        assert_eq!(p("s3://b"), Some(("b".into(), String::new())));
        assert_eq!(p("s3:///x"), None);
        assert_eq!(p("/local/dir"), None);
    }
}
