//! The upload manifest, `upload-manifest.json` in the state directory: what the server
//! acknowledged (key, size, SHA-256, ETag) per segment, and the parts of multipart
//! uploads in flight. It is replaced whole after every acknowledgment
//! ([`crate::store::replace_file`]), so after a crash, a kill or a network loss nothing the
//! server acknowledged is sent again, and retention reads it to know what it may delete.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::path::PathBuf;

use serde::Deserialize;
use serde::Serialize;

use super::UploadError;

/// File name of the manifest in the state directory.
pub const MANIFEST_FILE: &str = "upload-manifest.json";
/// Manifest format version written; a newer one is refused rather than misread.
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    /// Sealed segments by file name.
    pub segments: BTreeMap<String, SegmentEntry>,
    /// Multipart uploads begun and not completed, by key.
    pub multipart: BTreeMap<String, Multipart>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// Size of the local file the acknowledgments are for.
    pub len_bytes: u64,
    /// Every object of the segment is acknowledged: retention may delete it.
    pub done: bool,
    pub objects: Vec<Acked>,
}

/// An object the server has: acknowledged for this content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acked {
    pub key: String,
    pub size: u64,
    pub sha256: String,
    pub etag: String,
    /// Wall time of the acknowledgment, Unix seconds.
    pub acked_unix_s: i64,
    /// Sent by this edgewatt (false: found on the server already, e.g. after the
    /// manifest was lost).
    pub sent: bool,
}

/// A multipart upload in flight: its id and the parts the server acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Multipart {
    pub upload_id: String,
    pub size: u64,
    pub sha256: String,
    pub part_size: u64,
    /// Part number (from 1) and ETag, in order.
    pub parts: Vec<(u32, String)>,
}

impl Manifest {
    #[must_use]
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(MANIFEST_FILE)
    }

    /// Reads the manifest of `state_dir`; none yet is an empty one. A manifest that does
    /// not parse is moved aside (`….corrupt`) and an empty one used: objects already on
    /// the server are then found by HEAD and not sent again.
    pub fn load(state_dir: &Path) -> Result<Self, UploadError> {
        let path = Self::path(state_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::empty()),
            Err(source) => return Err(UploadError::Manifest { path, source }),
        };
        match serde_json::from_str::<Self>(&text) {
            Ok(m) if m.version > MANIFEST_VERSION => Err(UploadError::ManifestVersion {
                path,
                version: m.version,
            }),
            Ok(m) => Ok(m),
            Err(e) => {
                let aside = path.with_extension("json.corrupt");
                log::error!(
                    "{}: {e}; moved to {} and started anew (objects on the server are \
                     found again by HEAD)",
                    path.display(),
                    aside.display()
                );
                std::fs::rename(&path, &aside)
                    .map_err(|source| UploadError::Manifest { path, source })?;
                Ok(Self::empty())
            }
        }
    }

    #[must_use]
    pub fn empty() -> Self {
        Self {
            version: MANIFEST_VERSION,
            ..Self::default()
        }
    }

    /// Replaces the file whole, durably.
    pub fn save(&self, state_dir: &Path) -> Result<(), UploadError> {
        let path = Self::path(state_dir);
        let json = serde_json::to_vec_pretty(self).expect("the manifest always serializes");
        crate::store::replace_file(&path, |f| f.write_all(&json))
            .map_err(|e| UploadError::ManifestWrite(Box::new(e)))
    }

    /// Whether `key` is acknowledged with this SHA-256 under segment `name`.
    #[must_use]
    pub fn acked(&self, name: &str, key: &str, sha256: &str) -> bool {
        self.segments
            .get(name)
            .is_some_and(|s| s.objects.iter().any(|o| o.key == key && o.sha256 == sha256))
    }

    /// Records an acknowledged object of segment `name` (`len_bytes` long locally).
    pub fn ack(&mut self, name: &str, len_bytes: u64, object: Acked) {
        let entry = self.segments.entry(name.to_owned()).or_default();
        if entry.len_bytes != len_bytes {
            *entry = SegmentEntry {
                len_bytes,
                ..SegmentEntry::default()
            };
        }
        entry.objects.retain(|o| o.key != object.key);
        entry.objects.push(object);
    }

    /// Segment file names whose every object is acknowledged, with their sizes.
    #[must_use]
    pub fn done(&self) -> BTreeMap<&str, u64> {
        self.segments
            .iter()
            .filter(|(_, s)| s.done)
            .map(|(n, s)| (n.as_str(), s.len_bytes))
            .collect()
    }

    /// Forgets segments that are no longer in the state directory (retention deleted
    /// them): only what may still be sent needs remembering.
    pub fn forget_missing(&mut self, present: &BTreeSet<String>) -> usize {
        let before = self.segments.len();
        self.segments.retain(|name, _| present.contains(name));
        before - self.segments.len()
    }
}

/// Whether retention may delete `segment` (a path in `state_dir`): only a sealed segment
/// the manifest has as done, at its current size, whose next segment is done too (its
/// Parquet export reads this one as context). Quarantined (`….ewlog.broken`)
/// segments are never uploaded, so they may go. A manifest that cannot be read holds
/// everything back.
#[must_use]
pub fn may_delete(state_dir: &Path, segment: &Path) -> bool {
    let Some(name) = segment.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.ends_with(crate::store::BROKEN_SUFFIX) {
        return true;
    }
    let Ok(text) = std::fs::read_to_string(Manifest::path(state_dir)) else {
        return false;
    };
    let Ok(manifest) = serde_json::from_str::<Manifest>(&text) else {
        return false;
    };
    let len = std::fs::metadata(segment).map(|m| m.len()).ok();
    let done = manifest.done();
    if done.get(name).is_none_or(|&l| Some(l) != len) {
        return false;
    }
    // The next segment's runs file is derived with this one as context
    // (objects::derived): it stays until that one is uploaded too.
    let Ok(listed) = crate::store::list_segments(state_dir) else {
        return false;
    };
    let Some(this) = listed
        .iter()
        .find(|s| s.path.file_name().and_then(|n| n.to_str()) == Some(name))
    else {
        return true;
    };
    listed
        .iter()
        .filter(|s| s.first_seq > this.first_seq)
        .min_by_key(|s| s.first_seq)
        .is_some_and(|next| {
            !next.open
                && next
                    .path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| done.contains_key(n))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acked(key: &str) -> Acked {
        Acked {
            key: key.to_owned(),
            size: 3,
            sha256: "ab".to_owned(),
            etag: "\"e\"".to_owned(),
            acked_unix_s: 1_700_000_000,
            sent: true,
        }
    }

    #[test]
    fn a_saved_manifest_loads_back_and_answers_for_retention() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), Manifest::empty());
        let seg = dir.path().join("00000000000000000007.ewlog");
        std::fs::write(&seg, b"abc").unwrap();
        let mut m = Manifest::empty();
        m.ack("00000000000000000007.ewlog", 3, acked("p/k"));
        assert!(m.acked("00000000000000000007.ewlog", "p/k", "ab"));
        assert!(!m.acked("00000000000000000007.ewlog", "p/k", "cd"));
        m.save(dir.path()).unwrap();
        assert!(!may_delete(dir.path(), &seg), "not done yet");
        m.segments
            .get_mut("00000000000000000007.ewlog")
            .unwrap()
            .done = true;
        m.save(dir.path()).unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), m);
        assert!(
            !may_delete(dir.path(), &seg),
            "the newest sealed: the next needs it"
        );
        let next = dir.path().join("00000000000000000009.ewlog");
        std::fs::write(&next, b"de").unwrap();
        assert!(
            !may_delete(dir.path(), &seg),
            "the next is not uploaded yet"
        );
        m.ack("00000000000000000009.ewlog", 2, acked("p/k9"));
        m.segments
            .get_mut("00000000000000000009.ewlog")
            .unwrap()
            .done = true;
        m.save(dir.path()).unwrap();
        assert!(may_delete(dir.path(), &seg));
        // Another size than acknowledged: not the same file.
        std::fs::write(&seg, b"abcd").unwrap();
        assert!(!may_delete(dir.path(), &seg));
        assert!(may_delete(
            dir.path(),
            &dir.path().join("00000000000000000001.ewlog.broken")
        ));
    }

    #[test]
    fn a_damaged_manifest_is_moved_aside_and_holds_everything_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(Manifest::path(dir.path()), b"{\"version\": 1, \"segm").unwrap();
        let seg = dir.path().join("00000000000000000000.ewlog");
        std::fs::write(&seg, b"x").unwrap();
        assert!(!may_delete(dir.path(), &seg));
        assert_eq!(Manifest::load(dir.path()).unwrap(), Manifest::empty());
        assert!(dir.path().join("upload-manifest.json.corrupt").exists());
    }

    #[test]
    fn a_newer_manifest_is_refused_and_missing_segments_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            Manifest::path(dir.path()),
            b"{\"version\": 9, \"segments\": {}, \"multipart\": {}}",
        )
        .unwrap();
        let msg = Manifest::load(dir.path()).unwrap_err().to_string();
        assert!(msg.contains("version 9"), "{msg}");
        let mut m = Manifest::empty();
        m.ack("a", 1, acked("k1"));
        m.ack("b", 1, acked("k2"));
        let present: BTreeSet<String> = ["b".to_owned()].into();
        assert_eq!(m.forget_missing(&present), 1);
        assert_eq!(m.segments.keys().collect::<Vec<_>>(), ["b"]);
    }
}
