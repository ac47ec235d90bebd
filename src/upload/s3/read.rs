//! Reading a bucket back: ListObjectsV2 (every page) and GET of one object into a file,
//! its bytes checked against the SHA-256 the uploader stored in its metadata.

use std::io::Read;
use std::io::Write;

use super::super::sha256_copy;
use super::error::S3Error;
use super::request::header;
use super::request::Call;
use super::xml;
use super::Client;
use super::META_SHA256;

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    /// As the server quotes it (with its `"`).
    pub etag: String,
}

/// What a GET wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Got {
    pub size: u64,
    pub etag: String,
    pub sha256: String,
}

impl Client {
    /// Every object whose key starts with `prefix`, in key order.
    pub fn list(&self, prefix: &str) -> Result<Vec<Listed>, S3Error> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("list-type", "2"), ("prefix", prefix)];
            if let Some(t) = &token {
                query.push(("continuation-token", t.as_str()));
            }
            let call = Call::new("ListObjectsV2", "GET", None, &query);
            let reply = self.send(call, None, None)?;
            if reply.status != 200 {
                let target = format!("{}/{prefix}", self.bucket);
                let ctx = self.context();
                let op = "ListObjectsV2";
                return Err(S3Error::from_reply(
                    op,
                    &target,
                    reply.status,
                    &reply.body,
                    &ctx,
                ));
            }
            for item in xml::elements(&reply.body, "Contents") {
                let listed = (|| {
                    Some(Listed {
                        key: xml::text(item, "Key")?,
                        size: xml::text(item, "Size")?.parse().ok()?,
                        etag: xml::text(item, "ETag").unwrap_or_default(),
                    })
                })();
                out.push(listed.ok_or_else(|| S3Error::Protocol {
                    op: "ListObjectsV2",
                    target: self.bucket.clone(),
                    why: "an entry without a key or size".to_owned(),
                })?);
            }
            token = xml::text(&reply.body, "NextContinuationToken");
            if xml::text(&reply.body, "IsTruncated").as_deref() != Some("true") || token.is_none() {
                return Ok(out);
            }
        }
    }

    /// GETs `key` into `out`. The bytes must hash to the SHA-256 in the object's metadata
    /// when it has one (every object edgewatt uploads does).
    pub fn get(&self, key: &str, out: &mut dyn Write) -> Result<Got, S3Error> {
        let call = Call::new("GetObject", "GET", Some(key), &[]);
        let mut response = self.send_raw(call, None, None)?;
        let status = response.status().as_u16();
        let etag = header(&response, "etag").unwrap_or_default();
        let meta_sha256 = header(&response, META_SHA256);
        let body = response.body_mut().with_config().limit(u64::MAX).reader();
        if status != 200 {
            let mut text = String::new();
            let _ = body.take(1 << 20).read_to_string(&mut text);
            return Err(S3Error::from_reply(
                "GetObject",
                key,
                status,
                &text,
                &self.context(),
            ));
        }
        let network = |e: std::io::Error| S3Error::Network {
            op: "GetObject",
            target: key.to_owned(),
            endpoint: self.endpoint_text.clone(),
            message: e.to_string(),
        };
        let (sha256, size) = sha256_copy(body, out).map_err(network)?;
        if meta_sha256.as_ref().is_some_and(|m| *m != sha256) {
            return Err(S3Error::Protocol {
                op: "GetObject",
                target: key.to_owned(),
                why: format!(
                    "the bytes hash to {sha256}, not to the {META_SHA256} the object was \
                     stored with: damaged on the way or on the server; try again"
                ),
            });
        }
        Ok(Got { size, etag, sha256 })
    }
}
