//! What goes to the bucket for one sealed segment, under which keys.
//!
//! Keys are `<prefix>/device=<device>/date=<yyyy-mm-dd>/<segment file name>`: Hive-style
//! partitions, so DuckDB, Spark or Athena prune by device and date. The date is the UTC
//! day the segment started (its header's wall anchor). [`objects_for_segment`] is the one
//! place that decides the objects of a segment.

use std::path::Path;
use std::path::PathBuf;

use crate::store::SegmentReader;

use super::UploadError;

pub mod derived;

/// Content type of a segment file.
pub const SEGMENT_CONTENT_TYPE: &str = "application/vnd.edgewatt.ewlog";

/// Where an object's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file, read when it is sent (in parts when large).
    File(PathBuf),
    /// Bytes made for the upload (e.g. an export of the segment).
    Bytes(Vec<u8>),
}

/// One object to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    pub content_type: &'static str,
    pub source: Source,
}

/// A sealed segment with what its header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub path: PathBuf,
    /// File name (`<first_seq>.ewlog`): the manifest's key.
    pub name: String,
    pub len_bytes: u64,
    /// The header's device id, else the daemon's.
    pub device_id: String,
    /// UTC day of the header's wall anchor (else of the file's modification time).
    pub date: String,
}

impl Segment {
    /// Reads the header of the sealed segment at `path`. `device_id` is used when the
    /// header is damaged.
    pub fn open(path: &Path, device_id: &str) -> Result<Self, UploadError> {
        let io = |source| UploadError::Segment {
            path: path.to_path_buf(),
            source,
        };
        // A segment whose header cannot be read (damaged, or of a newer edgewatt) is
        // uploaded all the same, under this device and its file's day.
        let header = match SegmentReader::open(path) {
            Ok(reader) => reader.header().cloned(),
            Err(e) => {
                log::warn!("{e}; uploaded under device {device_id:?} and the file's date");
                None
            }
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        let (device, wall_us) = match header {
            Some(h) => (h.device_id, h.anchor.wall_unix_us),
            None => {
                let mtime = meta.modified().map_err(io)?;
                let s = mtime
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
                (device_id.to_owned(), s)
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            name: file_name(path),
            len_bytes: meta.len(),
            device_id: device,
            date: utc_day(wall_us),
        })
    }

    /// `<prefix>/device=<device>/date=<date>/`: the partition of this segment's objects.
    #[must_use]
    pub fn partition(&self, prefix: &str) -> String {
        let lead = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        format!(
            "{lead}device={}/date={}/",
            key_safe(&self.device_id),
            self.date
        )
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `yyyy-mm-dd` (UTC) of a Unix time in µs.
#[must_use]
pub fn utc_day(wall_unix_us: i64) -> String {
    jiff::Timestamp::from_microsecond(wall_unix_us)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%d")
        .to_string()
}

/// A device id as one key level: letters, digits, `.`, `_`, `-` stay, the rest is `_`.
#[must_use]
pub fn key_safe(s: &str) -> String {
    let safe: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() || safe.chars().all(|c| c == '.') {
        "unknown".to_owned()
    } else {
        safe
    }
}

/// Every object uploaded for `seg`: the segment file itself, then what is derived from it
/// (`derived_objects`). A segment counts as uploaded when all of them are acknowledged.
pub fn objects_for_segment(seg: &Segment, prefix: &str) -> Result<Vec<Object>, UploadError> {
    let partition = seg.partition(prefix);
    let mut out = vec![Object {
        key: format!("{partition}{}", seg.name),
        content_type: SEGMENT_CONTENT_TYPE,
        source: Source::File(seg.path.clone()),
    }];
    out.extend(derived_objects(seg, &partition)?);
    Ok(out)
}

/// The Parquet export of the segment's runs and samples, uploaded next to it as
/// `<partition><first_seq>.runs.parquet` and `<partition><first_seq>.samples.parquet`
/// (content type `application/vnd.apache.parquet`), made by the one Parquet writer of
/// `edgewatt export`, deterministically (the same bytes on every call, so an export
/// acknowledged before a restart is recognised after it). [`derived`] says which rows and
/// what context.
fn derived_objects(seg: &Segment, partition: &str) -> Result<Vec<Object>, UploadError> {
    derived::parquet_objects(seg, partition)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(device: &str) -> Segment {
        Segment {
            path: PathBuf::from("/s/00000000000000000042.ewlog"),
            name: "00000000000000000042.ewlog".to_owned(),
            len_bytes: 10,
            device_id: device.to_owned(),
            date: utc_day(1_767_225_599_000_000),
        }
    }

    #[test]
    fn keys_are_hive_partitions_by_device_and_utc_day() {
        let s = seg("3f9a-pi5");
        assert_eq!(s.date, "2025-12-31");
        let objects = objects_for_segment(&s, "fleet/a").unwrap();
        assert_eq!(
            objects[0].key,
            "fleet/a/device=3f9a-pi5/date=2025-12-31/00000000000000000042.ewlog"
        );
        assert_eq!(objects[0].source, Source::File(s.path.clone()));
        let keys: Vec<&str> = objects[1..].iter().map(|o| o.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "fleet/a/device=3f9a-pi5/date=2025-12-31/00000000000000000042.runs.parquet",
                "fleet/a/device=3f9a-pi5/date=2025-12-31/00000000000000000042.samples.parquet"
            ]
        );
        assert_eq!(
            s.partition(""),
            "device=3f9a-pi5/date=2025-12-31/",
            "no prefix, no leading slash"
        );
    }

    #[test]
    fn device_ids_become_one_safe_key_level() {
        assert_eq!(key_safe("lab/pi=5 ü"), "lab_pi_5__");
        assert_eq!(key_safe(""), "unknown");
        assert_eq!(key_safe(".."), "unknown");
        assert_eq!(seg("a/b").partition("p"), "p/device=a_b/date=2025-12-31/");
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(-1), "1969-12-31");
    }
}
