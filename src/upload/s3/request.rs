//! Sending one request: the address (path or virtual-hosted style), the SigV4 headers, the
//! body through the bandwidth limit, and the answer's status, headers and body.

use std::io::Read;

use super::sigv4;
use super::Client;
use super::Payload;
use super::S3Error;
use super::META_SHA256;
use crate::upload::throttle::RateLimit;
use crate::upload::throttle::Stop;

/// One answer: status, the headers the uploader reads, and the body (not for HEAD).
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) etag: String,
    pub(super) size: Option<u64>,
    pub(super) sha256: Option<String>,
    pub(super) body: String,
}

/// A request before signing.
pub(super) struct Call<'a> {
    op: &'static str,
    method: &'static str,
    key: Option<&'a str>,
    query: &'a [(&'a str, &'a str)],
    headers: Vec<(String, String)>,
}

impl<'a> Call<'a> {
    pub(super) fn new(
        op: &'static str,
        method: &'static str,
        key: Option<&'a str>,
        query: &'a [(&'a str, &'a str)],
    ) -> Self {
        Self {
            op,
            method,
            key,
            query,
            headers: Vec::new(),
        }
    }

    pub(super) fn header(&mut self, name: &str, value: &str) {
        self.headers.push((name.to_owned(), value.to_owned()));
    }
}

impl Client {
    /// Host and encoded path of `key` (or of the bucket).
    fn address(&self, key: Option<&str>) -> (String, String) {
        let authority = self.endpoint.authority();
        let key_path = key.map_or(String::new(), |k| format!("/{k}"));
        if self.path_style {
            (
                authority,
                sigv4::encode_path(&format!("/{}{key_path}", self.bucket)),
            )
        } else {
            let path = if key_path.is_empty() {
                "/".to_owned()
            } else {
                key_path
            };
            (
                format!("{}.{authority}", self.bucket),
                sigv4::encode_path(&path),
            )
        }
    }

    /// Signs and sends `call`; a network failure or a stop is an error, any HTTP status
    /// is a [`Reply`].
    pub(super) fn send(
        &self,
        call: Call<'_>,
        body: Option<&Payload<'_>>,
        pace: Option<(&mut RateLimit, &Stop)>,
    ) -> Result<Reply, S3Error> {
        let (op, head) = (call.op, call.method == "HEAD");
        let target = call.key.unwrap_or(&self.bucket).to_owned();
        let response = self.send_raw(call, body, pace)?;
        read_reply(response, head).map_err(|e| self.network(op, &target, &e))
    }

    pub(super) fn network(&self, op: &'static str, target: &str, e: &ureq::Error) -> S3Error {
        S3Error::Network {
            op,
            target: target.to_owned(),
            endpoint: self.endpoint_text.clone(),
            message: e.to_string(),
        }
    }

    /// Signs and sends `call`; the answer's body is left to read.
    pub(super) fn send_raw(
        &self,
        mut call: Call<'_>,
        body: Option<&Payload<'_>>,
        pace: Option<(&mut RateLimit, &Stop)>,
    ) -> Result<ureq::http::Response<ureq::Body>, S3Error> {
        let (host, path) = self.address(call.key);
        let amz_date = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        let payload_sha256 = body.map_or(sigv4::EMPTY_SHA256, |b| b.sha256.as_str());
        call.header("host", &host);
        call.header("x-amz-date", &amz_date);
        call.header("x-amz-content-sha256", payload_sha256);
        if let Some(token) = self.creds.token() {
            call.header("x-amz-security-token", token);
        }
        let req = sigv4::Request {
            method: call.method,
            path: &path,
            query: call.query,
            headers: &call.headers,
            payload_sha256,
        };
        let auth = sigv4::authorization(&req, &self.creds, &self.region, &amz_date);
        let query = sigv4::canonical_query(call.query);
        let scheme = if self.endpoint.https { "https" } else { "http" };
        let sep = if query.is_empty() { "" } else { "?" };
        let url = format!("{scheme}://{host}{path}{sep}{query}");
        let mut builder = ureq::http::Request::builder().method(call.method).uri(&url);
        for (k, v) in call.headers.iter().filter(|(k, _)| k != "host") {
            builder = builder.header(k.as_str(), v.as_str());
        }
        builder = builder.header("authorization", auth);
        let target = call.key.unwrap_or(&self.bucket).to_owned();
        let result = match (body, pace) {
            (Some(b), Some((limit, stop))) => {
                let mut reader = crate::upload::throttle::Throttled::new(b.data, limit, stop);
                let builder = builder.header("content-length", b.data.len());
                let req = builder
                    .body(ureq::SendBody::from_reader(&mut reader))
                    .map_err(|e| protocol(call.op, &target, e))?;
                let r = self.agent.run(req);
                if r.is_err() && stop.stopped() {
                    return Err(S3Error::Stopped);
                }
                r
            }
            _ => {
                let req = builder
                    .body(())
                    .map_err(|e| protocol(call.op, &target, e))?;
                self.agent.run(req)
            }
        };
        result.map_err(|e| self.network(call.op, &target, &e))
    }
}

fn protocol(op: &'static str, target: &str, e: impl std::fmt::Display) -> S3Error {
    S3Error::Protocol {
        op,
        target: target.to_owned(),
        why: e.to_string(),
    }
}

/// A response header's value, if present and text.
pub(super) fn header(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn read_reply(
    mut response: ureq::http::Response<ureq::Body>,
    head: bool,
) -> Result<Reply, ureq::Error> {
    let status = response.status().as_u16();
    let etag = header(&response, "etag").unwrap_or_default();
    let size = header(&response, "content-length").and_then(|v| v.parse().ok());
    let sha256 = header(&response, META_SHA256);
    let mut body = String::new();
    if !head {
        response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .reader()
            .read_to_string(&mut body)
            .map_err(ureq::Error::Io)?;
    }
    Ok(Reply {
        status,
        etag,
        size,
        sha256,
        body,
    })
}
