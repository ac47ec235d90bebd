//! A bucket read back: its segments fetched into a local mirror laid out as the bucket
//! (`<dir>/<prefix>/device=<device>/date=<day>/<segment>`), and a mirror's segments
//! grouped by device, for `report --source` and `export --source`.
//!
//! A segment already in the mirror at the size and ETag the listing gives, and still with
//! the SHA-256 it was fetched with, is not fetched again (`.edgewatt-mirror.json` in the
//! mirror records the ETag and SHA-256 of each fetched key); every fetched object is
//! checked against the SHA-256 it was uploaded with, and lands under its name only once
//! complete.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Component;
use std::path::Path;
use std::path::PathBuf;

use serde::Deserialize;
use serde::Serialize;

use super::s3::Client;
use super::UploadError;
use crate::store::SEALED_SUFFIX;

/// The mirror's record of what it fetched.
pub const INDEX_FILE: &str = ".edgewatt-mirror.json";

/// What a [`sync`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synced {
    /// Segments fetched now.
    pub fetched: usize,
    /// Segments the mirror had already.
    pub cached: usize,
    pub fetched_bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Fetched {
    size: u64,
    etag: String,
    sha256: String,
}

/// SHA-256 (hex) of the file at `path`, `None` if it cannot be read.
fn file_sha256(path: &Path) -> Option<String> {
    let f = std::fs::File::open(path).ok()?;
    super::sha256_copy(f, std::io::sink())
        .ok()
        .map(|(sha256, _)| sha256)
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> UploadError + '_ {
    move |source| UploadError::Mirror {
        path: path.to_path_buf(),
        source,
    }
}

/// Where `key` goes under `dir`; `None` for a key that would leave it (`..`, absolute).
fn local_path(dir: &Path, key: &str) -> Option<PathBuf> {
    let rel = Path::new(key);
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| dir.join(rel))
}

fn load_index(dir: &Path) -> BTreeMap<String, Fetched> {
    std::fs::read_to_string(dir.join(INDEX_FILE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn save_index(dir: &Path, index: &BTreeMap<String, Fetched>) -> Result<(), UploadError> {
    let path = dir.join(INDEX_FILE);
    let text = serde_json::to_vec_pretty(index).expect("a map of strings serializes");
    crate::store::replace_file(&path, |f| f.write_all(&text)).map_err(|e| UploadError::Mirror {
        path: path.clone(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// Fetches every segment under `prefix` in `client`'s bucket into `dir` that it does not
/// hold yet.
pub fn sync(client: &Client, prefix: &str, dir: &Path) -> Result<Synced, UploadError> {
    let list_prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{}/", prefix.trim_end_matches('/'))
    };
    let listed = client.list(&list_prefix)?;
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let mut index = load_index(dir);
    let mut out = Synced::default();
    for obj in listed.iter().filter(|o| o.key.ends_with(SEALED_SUFFIX)) {
        let Some(path) = local_path(dir, &obj.key) else {
            log::warn!("{}: not a relative key, left out of the mirror", obj.key);
            continue;
        };
        let have = std::fs::metadata(&path).map(|m| m.len()).ok();
        let known = index.get(&obj.key).filter(|k| k.etag == obj.etag);
        if have == Some(obj.size)
            && known.is_some_and(|k| file_sha256(&path).as_ref() == Some(&k.sha256))
        {
            out.cached += 1;
            continue;
        }
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(io_error(parent))?;
        let part = path.with_extension("ewlog.part");
        let mut file = std::fs::File::create(&part).map_err(io_error(&part))?;
        let got = client.get(&obj.key, &mut file)?;
        file.sync_all().map_err(io_error(&part))?;
        std::fs::rename(&part, &path).map_err(io_error(&path))?;
        index.insert(
            obj.key.clone(),
            Fetched {
                size: got.size,
                etag: got.etag,
                sha256: got.sha256,
            },
        );
        save_index(dir, &index)?;
        out.fetched += 1;
        out.fetched_bytes += got.size;
    }
    Ok(out)
}

/// The segments under `root` (a mirror, or any directory laid out as the bucket), grouped
/// by the `device=` level of their keys, each group in seq order (the order its device
/// wrote them, across date partitions). Devices in name order.
pub fn device_groups(root: &Path) -> Result<Vec<(String, Vec<PathBuf>)>, UploadError> {
    let mut groups: BTreeMap<String, Vec<(u64, PathBuf)>> = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io_error(&dir))? {
            let path = entry.map_err(io_error(&dir))?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !name.ends_with(SEALED_SUFFIX) {
                continue;
            }
            let level = |p: Option<&Path>, key: &str| {
                p.and_then(Path::file_name)
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_prefix(key))
                    .map(str::to_owned)
            };
            let date_dir = path.parent();
            let (Some(_), Some(device)) = (
                level(date_dir, "date="),
                level(date_dir.and_then(Path::parent), "device="),
            ) else {
                continue;
            };
            let seq = name.split('.').next().and_then(|s| s.parse().ok());
            groups
                .entry(device)
                .or_default()
                .push((seq.unwrap_or(u64::MAX), path));
        }
    }
    Ok(groups
        .into_iter()
        .map(|(device, mut files)| {
            files.sort();
            (device, files.into_iter().map(|(_, p)| p).collect())
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_leave_the_mirror_are_refused() {
        let dir = Path::new("/m");
        assert_eq!(
            local_path(dir, "p/device=a/date=2026-01-01/1.ewlog"),
            Some(PathBuf::from("/m/p/device=a/date=2026-01-01/1.ewlog"))
        );
        assert_eq!(local_path(dir, "p/../../etc/x.ewlog"), None);
        assert_eq!(local_path(dir, "/etc/x.ewlog"), None);
    }

    #[test]
    fn segments_group_by_device_across_dates_in_seq_order() {
        let tmp = tempfile::tempdir().unwrap();
        let put = |rel: &str| {
            let p = tmp.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"x").unwrap();
        };
        put("f/device=b/date=2026-01-02/00000000000000000010.ewlog");
        put("f/device=b/date=2026-01-01/00000000000000000002.ewlog");
        put("f/device=b/date=2026-01-01/00000000000000000002.runs.parquet");
        put("f/device=a/date=2026-01-01/00000000000000000000.ewlog");
        put("f/elsewhere/00000000000000000005.ewlog");
        let groups = device_groups(tmp.path()).unwrap();
        let names: Vec<(String, Vec<String>)> = groups
            .iter()
            .map(|(d, files)| {
                let rel = files
                    .iter()
                    .map(|f| f.strip_prefix(tmp.path()).unwrap().display().to_string())
                    .collect();
                (d.clone(), rel)
            })
            .collect();
        assert_eq!(
            names,
            [
                (
                    "a".to_owned(),
                    vec!["f/device=a/date=2026-01-01/00000000000000000000.ewlog".to_owned()]
                ),
                (
                    "b".to_owned(),
                    vec![
                        "f/device=b/date=2026-01-01/00000000000000000002.ewlog".to_owned(),
                        "f/device=b/date=2026-01-02/00000000000000000010.ewlog".to_owned()
                    ]
                ),
            ]
        );
        let missing = device_groups(&tmp.path().join("nope")).unwrap_err();
        assert!(missing.to_string().contains("nope"), "{missing}");
    }
}
