//! A small blocking S3 client over `ureq`: the six requests the uploader makes (HEAD, PUT,
//! and the multipart create/part/complete/abort) and the two a fleet's reader makes (LIST
//! and GET, [`Client::list`], [`Client::get`]), signed with SigV4 in the header
//! ([`super::sigv4`]), every upload body read through the bandwidth limit.
//!
//! Each body is sent with its SHA-256 (signed) and its Content-MD5, so the server rejects
//! bytes damaged on the way; each object carries its SHA-256 as user metadata
//! (`x-amz-meta-edgewatt-sha256`), so a HEAD tells whether the object at a key is ours.

mod error;
mod read;
mod request;
pub mod xml;

use std::time::Duration;

use base64::Engine;
use md5::Md5;
use sha2::Digest;
use sha2::Sha256;

use error::ErrorContext;
pub use error::S3Error;
pub use read::Got;
pub use read::Listed;
use request::Call;
use request::Reply;

use super::config::Endpoint;
use super::config::UploadConfig;
use super::credentials::Credentials;
use super::hex;
use super::sigv4;
use super::throttle::RateLimit;
use super::throttle::Stop;

/// User metadata holding an object's SHA-256 (hex).
pub const META_SHA256: &str = "x-amz-meta-edgewatt-sha256";

/// A body with its digests.
pub struct Payload<'a> {
    pub data: &'a [u8],
    pub sha256: String,
    md5_b64: String,
}

impl<'a> Payload<'a> {
    #[must_use]
    pub fn new(data: &'a [u8]) -> Self {
        Self::with_sha256(data, hex(&Sha256::digest(data)))
    }

    /// A body whose SHA-256 (hex) is known already: only its MD5 is computed.
    #[must_use]
    pub fn with_sha256(data: &'a [u8], sha256: String) -> Self {
        Self {
            data,
            sha256,
            md5_b64: base64::engine::general_purpose::STANDARD.encode(Md5::digest(data)),
        }
    }
}

/// How a conditional write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Created {
        etag: String,
    },
    /// The key holds an object already (412 to `If-None-Match: *`).
    Exists,
}

/// What HEAD says about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub size: u64,
    pub etag: String,
    pub sha256: Option<String>,
}

/// The connection to one bucket.
pub struct Client {
    agent: ureq::Agent,
    endpoint: Endpoint,
    endpoint_text: String,
    bucket: String,
    region: String,
    path_style: bool,
    creds: Credentials,
    /// Cleared when the server answers that it does not implement `If-None-Match`.
    conditional: bool,
}

impl Client {
    /// A client for `cfg`'s bucket; `ca_pem` replaces the built-in roots when given.
    pub fn new(
        cfg: &UploadConfig,
        creds: Credentials,
        ca_pem: Option<&[u8]>,
    ) -> Result<Self, String> {
        let endpoint = Endpoint::parse(&cfg.endpoint)?;
        let timeout = Some(Duration::from_secs(cfg.timeout_s));
        let mut tls = ureq::tls::TlsConfig::builder();
        if let Some(pem) = ca_pem {
            let certs: Vec<_> = ureq::tls::parse_pem(pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err("no certificate in the CA file".to_owned());
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(timeout)
            .timeout_per_read(timeout)
            .timeout_per_write(timeout)
            .tls_config(tls.build())
            .user_agent(concat!("edgewatt/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(Self {
            agent,
            endpoint,
            endpoint_text: cfg.endpoint.clone(),
            bucket: cfg.bucket.clone(),
            region: cfg.region.clone(),
            path_style: cfg.path_style,
            creds,
            conditional: true,
        })
    }

    fn context(&self) -> ErrorContext<'_> {
        ErrorContext {
            bucket: &self.bucket,
            endpoint: &self.endpoint_text,
            credentials_source: self.creds.source(),
        }
    }

    /// HEAD an object: `None` when the key holds nothing.
    pub fn head(&self, key: &str) -> Result<Option<Head>, S3Error> {
        let call = Call::new("HEAD", "HEAD", Some(key), &[]);
        let reply = self.send(call, None, None)?;
        match reply.status {
            200 => Ok(Some(Head {
                size: reply.size.unwrap_or(0),
                etag: reply.etag,
                sha256: reply.sha256,
            })),
            404 => Ok(None),
            400 | 403 => Err(self.why_refused(key, reply.status)),
            s => Err(S3Error::from_reply(
                "HEAD",
                key,
                s,
                &reply.body,
                &self.context(),
            )),
        }
    }

    /// What a HEAD refused with its bodiless 400 or 403 was about, by GETting the object's
    /// first byte: the same check, with the error code and message in the body
    /// (`SignatureDoesNotMatch`, `InvalidAccessKeyId`, `AccessDenied`, …).
    fn why_refused(&self, key: &str, head_status: u16) -> S3Error {
        let mut call = Call::new("HEAD", "GET", Some(key), &[]);
        call.header("range", "bytes=0-0");
        match self.send(call, None, None) {
            Ok(r) if r.status >= 400 => {
                S3Error::from_reply("HEAD", key, r.status, &r.body, &self.context())
            }
            Ok(_) => S3Error::from_reply("HEAD", key, head_status, "", &self.context()),
            Err(e) => e,
        }
    }

    /// PUT an object unless the key holds one (`If-None-Match: *`, where the server has it).
    pub fn put(
        &mut self,
        key: &str,
        content_type: &str,
        body: &Payload<'_>,
        pace: (&mut RateLimit, &Stop),
    ) -> Result<Written, S3Error> {
        let mut call = Call::new("PUT", "PUT", Some(key), &[]);
        call.header("content-type", content_type);
        call.header("content-md5", &body.md5_b64);
        call.header(META_SHA256, &body.sha256);
        let conditional = self.conditional;
        if conditional {
            call.header("if-none-match", "*");
        }
        let reply = self.send(call, Some(body), Some(pace))?;
        self.written("PUT", key, reply, conditional)
    }

    /// Reads a write's answer; a server without conditional writes is remembered.
    fn written(
        &mut self,
        op: &'static str,
        key: &str,
        reply: Reply,
        conditional: bool,
    ) -> Result<Written, S3Error> {
        match reply.status {
            200 if reply.body.contains("<Error>") => {
                // CompleteMultipartUpload can fail after its 200 header.
                Err(S3Error::from_reply(
                    op,
                    key,
                    500,
                    &reply.body,
                    &self.context(),
                ))
            }
            200 => {
                let etag = match xml::text(&reply.body, "ETag") {
                    Some(e) if reply.etag.is_empty() => e,
                    _ => reply.etag,
                };
                Ok(Written::Created { etag })
            }
            412 if conditional => Ok(Written::Exists),
            501 if conditional => {
                log::warn!(
                    "{} does not implement conditional writes (If-None-Match); \
                     each object is checked with HEAD before it is written",
                    self.endpoint_text
                );
                self.conditional = false;
                Err(S3Error::Server {
                    op,
                    target: key.to_owned(),
                    status: 501,
                    code: "NotImplemented".to_owned(),
                    message: "If-None-Match".to_owned(),
                    hint: "; sent again without it",
                })
            }
            s => Err(S3Error::from_reply(
                op,
                key,
                s,
                &reply.body,
                &self.context(),
            )),
        }
    }

    /// Starts a multipart upload; returns its upload id.
    pub fn create_multipart(
        &self,
        key: &str,
        content_type: &str,
        sha256: &str,
    ) -> Result<String, S3Error> {
        let mut call = Call::new(
            "CreateMultipartUpload",
            "POST",
            Some(key),
            &[("uploads", "")],
        );
        call.header("content-type", content_type);
        call.header(META_SHA256, sha256);
        let reply = self.send(call, None, None)?;
        if reply.status != 200 {
            let ctx = self.context();
            let op = "CreateMultipartUpload";
            return Err(S3Error::from_reply(
                op,
                key,
                reply.status,
                &reply.body,
                &ctx,
            ));
        }
        xml::text(&reply.body, "UploadId").ok_or_else(|| S3Error::Protocol {
            op: "CreateMultipartUpload",
            target: key.to_owned(),
            why: "no UploadId in the answer".to_owned(),
        })
    }

    /// Uploads part `number` (from 1); returns its ETag.
    pub fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        body: &Payload<'_>,
        pace: (&mut RateLimit, &Stop),
    ) -> Result<String, S3Error> {
        let n = number.to_string();
        let query = [("partNumber", n.as_str()), ("uploadId", upload_id)];
        let mut call = Call::new("UploadPart", "PUT", Some(key), &query);
        call.header("content-md5", &body.md5_b64);
        let reply = self.send(call, Some(body), Some(pace))?;
        match reply.status {
            200 if !reply.etag.is_empty() => Ok(reply.etag),
            200 => Err(S3Error::Protocol {
                op: "UploadPart",
                target: key.to_owned(),
                why: "no ETag in the answer".to_owned(),
            }),
            s => Err(S3Error::from_reply(
                "UploadPart",
                key,
                s,
                &reply.body,
                &self.context(),
            )),
        }
    }

    /// Completes a multipart upload from its parts, unless the key holds an object.
    pub fn complete_multipart(
        &mut self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<Written, S3Error> {
        let xml = xml::complete_body(parts);
        let body = Payload::new(xml.as_bytes());
        let query = [("uploadId", upload_id)];
        let mut call = Call::new("CompleteMultipartUpload", "POST", Some(key), &query);
        call.header("content-type", "application/xml");
        let conditional = self.conditional;
        if conditional {
            call.header("if-none-match", "*");
        }
        let mut unlimited = RateLimit::new(0);
        let stop = Stop::new();
        let reply = self.send(call, Some(&body), Some((&mut unlimited, &stop)))?;
        self.written("CompleteMultipartUpload", key, reply, conditional)
    }

    /// Abandons a multipart upload (its parts are freed on the server).
    pub fn abort_multipart(&self, key: &str, upload_id: &str) -> Result<(), S3Error> {
        let query = [("uploadId", upload_id)];
        let call = Call::new("AbortMultipartUpload", "DELETE", Some(key), &query);
        let reply = self.send(call, None, None)?;
        match reply.status {
            200 | 204 | 404 => Ok(()),
            s => Err(S3Error::from_reply(
                "AbortMultipartUpload",
                key,
                s,
                &reply.body,
                &self.context(),
            )),
        }
    }
}
