//! Placing one object: HEAD, then a conditional PUT or a resumable multipart upload.

use std::fs::File;
use std::os::unix::fs::FileExt;

use sha2::Digest;
use sha2::Sha256;

use super::super::hex;
use super::super::manifest::Acked;
use super::super::manifest::Manifest;
use super::super::manifest::Multipart;
use super::super::objects::Object;
use super::super::objects::Source;
use super::super::s3::Payload;
use super::super::s3::S3Error;
use super::super::s3::Written;
use super::super::sha256_copy;
use super::super::UploadError;
use super::Uploader;

/// An object's bytes (or where they are) with their SHA-256.
pub(super) struct Data {
    pub sha256: String,
    len: u64,
    source: Source,
}

impl Data {
    /// Hashes the object (a file is read in 1 MiB pieces, not kept).
    pub fn read(object: &Object) -> Result<Self, UploadError> {
        match &object.source {
            Source::Bytes(b) => Ok(Self {
                sha256: hex(&Sha256::digest(b)),
                len: b.len() as u64,
                source: object.source.clone(),
            }),
            Source::File(path) => {
                let io = |source| UploadError::Segment {
                    path: path.clone(),
                    source,
                };
                let f = File::open(path).map_err(io)?;
                let (sha256, len) = sha256_copy(f, std::io::sink()).map_err(io)?;
                Ok(Self {
                    sha256,
                    len,
                    source: object.source.clone(),
                })
            }
        }
    }

    pub const fn len(&self) -> u64 {
        self.len
    }

    /// `len` bytes from `offset`.
    fn range(&self, offset: u64, len: u64) -> Result<Vec<u8>, UploadError> {
        match &self.source {
            Source::Bytes(b) => Ok(b[offset as usize..(offset + len) as usize].to_vec()),
            Source::File(path) => {
                let io = |source| UploadError::Segment {
                    path: path.clone(),
                    source,
                };
                let f = File::open(path).map_err(io)?;
                let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
                f.read_exact_at(&mut buf, offset).map_err(io)?;
                Ok(buf)
            }
        }
    }
}

/// `dir/name.ext` → `dir/name.<first 16 hex of sha256>.ext`: where an object goes when its
/// key holds another one.
#[must_use]
pub fn alternate_key(key: &str, sha256: &str) -> String {
    let tag = &sha256[..16.min(sha256.len())];
    let name_start = key.rfind('/').map_or(0, |i| i + 1);
    match key[name_start..].find('.') {
        Some(dot) => {
            let at = name_start + dot;
            format!("{}.{tag}{}", &key[..at], &key[at..])
        }
        None => format!("{key}.{tag}"),
    }
}

fn acked(key: &str, data: &Data, etag: String, sent: bool) -> Acked {
    Acked {
        key: key.to_owned(),
        size: data.len,
        sha256: data.sha256.clone(),
        etag,
        acked_unix_s: jiff::Timestamp::now().as_second(),
        sent,
    }
}

impl Uploader {
    /// Puts `object` at its key, or beside it when the key holds another object.
    pub(super) fn place(
        &mut self,
        object: &Object,
        data: &Data,
        manifest: &mut Manifest,
    ) -> Result<Acked, UploadError> {
        for key in [object.key.clone(), alternate_key(&object.key, &data.sha256)] {
            if let Some(a) = self.place_at(&key, object, data, manifest)? {
                if key != object.key {
                    log::warn!(
                        "{} holds another object: this one went to {key}",
                        object.key
                    );
                }
                return Ok(a);
            }
        }
        Err(UploadError::Conflict {
            key: object.key.clone(),
        })
    }

    /// `None` when `key` holds another object.
    fn place_at(
        &mut self,
        key: &str,
        object: &Object,
        data: &Data,
        manifest: &mut Manifest,
    ) -> Result<Option<Acked>, UploadError> {
        // Twice: a write can find the key taken after HEAD found it free (another writer,
        // or a completion whose answer was lost); HEAD then tells whose object it is.
        for _ in 0..2 {
            match self.retry(|c, _, _| c.head(key))? {
                Some(h) if h.sha256.as_deref() == Some(data.sha256.as_str()) => {
                    return Ok(Some(acked(key, data, h.etag, false)));
                }
                Some(_) => return Ok(None),
                None => {}
            }
            let written = if data.len > self.cfg.multipart_threshold_bytes {
                self.multipart(key, object, data, manifest)?
            } else {
                // The whole object: its SHA-256 is the one just computed.
                let body = data.range(0, data.len)?;
                let payload = Payload::with_sha256(&body, data.sha256.clone());
                let ct = object.content_type;
                self.retry(|c, limit, stop| c.put(key, ct, &payload, (limit, stop)))?
            };
            if let Written::Created { etag } = written {
                return Ok(Some(acked(key, data, etag, true)));
            }
        }
        Ok(None)
    }

    /// A multipart upload of `data` to `key`, resumed from the manifest when it holds one
    /// for the same content; every acknowledged part is saved before the next is sent.
    fn multipart(
        &mut self,
        key: &str,
        object: &Object,
        data: &Data,
        manifest: &mut Manifest,
    ) -> Result<Written, UploadError> {
        let part_size = self.cfg.part_size_bytes;
        let mut mp = self.multipart_entry(key, object, data, manifest)?;
        let count = data.len.div_ceil(part_size);
        for n in (mp.parts.len() as u64 + 1)..=count {
            let offset = (n - 1) * part_size;
            let body = data.range(offset, part_size.min(data.len - offset))?;
            let payload = Payload::new(&body);
            let (id, number) = (mp.upload_id.clone(), n as u32);
            let sent = self
                .retry(|c, limit, stop| c.upload_part(key, &id, number, &payload, (limit, stop)));
            let etag = match sent {
                Ok(etag) => etag,
                Err(S3Error::NoSuchUpload { .. }) => {
                    // Expired on the server: start again from HEAD.
                    manifest.multipart.remove(key);
                    manifest.save(&self.state_dir)?;
                    return Ok(Written::Exists);
                }
                Err(e) => return Err(e.into()),
            };
            mp.parts.push((number, etag));
            manifest.multipart.insert(key.to_owned(), mp.clone());
            manifest.save(&self.state_dir)?;
        }
        let id = mp.upload_id.clone();
        let written = match self.retry(|c, _, _| c.complete_multipart(key, &id, &mp.parts)) {
            Ok(w) => w,
            // Completed by an earlier attempt whose answer was lost: HEAD will tell.
            Err(S3Error::NoSuchUpload { .. }) => Written::Exists,
            Err(e) => return Err(e.into()),
        };
        if written == Written::Exists {
            let _ = self.client.abort_multipart(key, &id);
        }
        manifest.multipart.remove(key);
        manifest.save(&self.state_dir)?;
        Ok(written)
    }

    /// The manifest's multipart upload for this content, or a new one (an entry for other
    /// content is aborted).
    fn multipart_entry(
        &mut self,
        key: &str,
        object: &Object,
        data: &Data,
        manifest: &mut Manifest,
    ) -> Result<Multipart, UploadError> {
        let part_size = self.cfg.part_size_bytes;
        if let Some(mp) = manifest.multipart.get(key) {
            if mp.sha256 == data.sha256 && mp.size == data.len && mp.part_size == part_size {
                log::info!(
                    "resuming the multipart upload of {key}: {} of {} parts acknowledged",
                    mp.parts.len(),
                    data.len.div_ceil(part_size)
                );
                return Ok(mp.clone());
            }
            let _ = self.client.abort_multipart(key, &mp.upload_id);
        }
        let (ct, sha) = (object.content_type, data.sha256.clone());
        let upload_id = self.retry(|c, _, _| c.create_multipart(key, ct, &sha))?;
        let mp = Multipart {
            upload_id,
            size: data.len,
            sha256: data.sha256.clone(),
            part_size,
            parts: Vec::new(),
        };
        manifest.multipart.insert(key.to_owned(), mp.clone());
        manifest.save(&self.state_dir)?;
        Ok(mp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alternate_key_carries_the_checksum_before_the_extensions() {
        let sha = "0123456789abcdef0123";
        assert_eq!(
            alternate_key("p/device=a/date=d/00000000000000000042.ewlog", sha),
            "p/device=a/date=d/00000000000000000042.0123456789abcdef.ewlog"
        );
        assert_eq!(
            alternate_key("a.b/c.runs.parquet", sha),
            "a.b/c.0123456789abcdef.runs.parquet"
        );
        assert_eq!(alternate_key("a.b/c", sha), "a.b/c.0123456789abcdef");
    }

    #[test]
    fn data_hashes_files_and_reads_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let object = Object {
            key: "k".into(),
            content_type: "x",
            source: Source::File(path),
        };
        let d = Data::read(&object).unwrap();
        assert_eq!(d.len(), 3_000_000);
        assert_eq!(d.sha256, hex(&Sha256::digest(&bytes)));
        assert_eq!(
            d.range(1_500_000, 10).unwrap(),
            &bytes[1_500_000..1_500_010]
        );
        let mem = Object {
            source: Source::Bytes(bytes.clone()),
            ..object
        };
        assert_eq!(Data::read(&mem).unwrap().sha256, d.sha256);
    }
}
