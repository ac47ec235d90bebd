//! What to read: a segment file, a state directory, or several; listed in reading order.

use std::path::Path;
use std::path::PathBuf;

use super::LogError;
use crate::store::list_segments;
use crate::store::OPEN_SUFFIX;

/// A segment file, or state directories read one after the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    /// One segment file on its own (e.g. `dump --segment`, a replay trace).
    Segment(PathBuf),
    /// State directories, in this order (one for a device; one per device for a fleet).
    Dirs(Vec<PathBuf>),
    /// Groups of segment files, each read in the order given as if it were one state
    /// directory holding them (one device's segments gathered from a bucket's date
    /// partitions, or a segment and the one before it).
    Groups(Vec<Vec<PathBuf>>),
}

/// A segment file to read, found by listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRef {
    /// Index of its directory in [`LogSource::Dirs`]; `None` for a lone segment file.
    pub dir: Option<usize>,
    pub path: PathBuf,
    /// The seq of its first frame, from its name (`None` for a lone file named otherwise).
    pub first_seq: Option<u64>,
    /// Still being written (`.ewlog.open`), or left open by a crash.
    pub open: bool,
    pub len_bytes: u64,
}

impl LogSource {
    /// One segment file.
    #[must_use]
    pub fn segment(path: impl Into<PathBuf>) -> Self {
        Self::Segment(path.into())
    }

    /// One state directory.
    #[must_use]
    pub fn dir(dir: impl Into<PathBuf>) -> Self {
        Self::Dirs(vec![dir.into()])
    }

    /// Several state directories, read in this order.
    #[must_use]
    pub fn dirs(dirs: impl IntoIterator<Item = PathBuf>) -> Self {
        Self::Dirs(dirs.into_iter().collect())
    }

    /// The state directory of a [`SegmentRef::dir`] index (for a group: the directory of
    /// its first file).
    #[must_use]
    pub fn dir_path(&self, index: usize) -> Option<&Path> {
        match self {
            Self::Segment(_) => None,
            Self::Dirs(dirs) => dirs.get(index).map(PathBuf::as_path),
            Self::Groups(groups) => groups.get(index)?.first()?.parent(),
        }
    }

    /// Every segment to read, in reading order. Errors: a directory cannot be listed. A
    /// lone segment file is listed even if it does not exist (reading it then reports it
    /// as unreadable).
    pub fn segments(&self) -> Result<Vec<SegmentRef>, LogError> {
        match self {
            Self::Segment(path) => Ok(vec![file_ref(None, path)]),
            Self::Groups(groups) => Ok(groups
                .iter()
                .enumerate()
                .flat_map(|(i, files)| files.iter().map(move |f| file_ref(Some(i), f)))
                .collect()),
            Self::Dirs(dirs) => {
                let mut out = Vec::new();
                for (i, dir) in dirs.iter().enumerate() {
                    let listed = list_segments(dir).map_err(|source| LogError::List {
                        dir: dir.clone(),
                        source,
                    })?;
                    out.extend(listed.into_iter().map(|s| SegmentRef {
                        dir: Some(i),
                        path: s.path,
                        first_seq: Some(s.first_seq),
                        open: s.open,
                        len_bytes: s.len_bytes,
                    }));
                }
                Ok(out)
            }
        }
    }
}

/// A segment file named on its own (listed even if it does not exist: reading it then
/// reports it as unreadable).
fn file_ref(dir: Option<usize>, path: &Path) -> SegmentRef {
    SegmentRef {
        dir,
        path: path.to_path_buf(),
        first_seq: path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split('.').next())
            .and_then(|n| n.parse().ok()),
        open: path.to_string_lossy().ends_with(OPEN_SUFFIX),
        len_bytes: std::fs::metadata(path).map_or(0, |m| m.len()),
    }
}

/// Leaves out the segments whose frames all have seqs below `min_seq`: those followed, in
/// the same directory, by a segment whose first seq is at most `min_seq`.
pub(super) fn drop_before(segments: &mut Vec<SegmentRef>, min_seq: u64) {
    let keep: Vec<bool> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            segments.get(i + 1).is_none_or(|next| {
                next.dir != s.dir || s.dir.is_none() || next.first_seq.is_none_or(|f| f > min_seq)
            })
        })
        .collect();
    let mut keep = keep.into_iter();
    segments.retain(|_| keep.next().unwrap_or(true));
}
