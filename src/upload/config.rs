//! The `[upload]` section of the configuration file.
//!
//! ```toml
//! [upload]
//! enabled = true                        # the daemon uploads; retention keeps what is not uploaded
//! endpoint = "https://s3.eu-central-1.amazonaws.com"
//! bucket = "fleet-logs"
//! region = "eu-central-1"
//! prefix = "edgewatt"                   # keys: <prefix>/device=<id>/date=<yyyy-mm-dd>/<segment>
//! path_style = true                     # https://endpoint/bucket/key (false: https://bucket.endpoint/key)
//! credentials_file = "/etc/edgewatt/s3-credentials"   # else AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
//! credentials_profile = "default"
//! ca_file = "/etc/edgewatt/s3-ca.pem"   # also trust this CA (a self-hosted server)
//! allow_http = false                    # plain http:// endpoints (a LAN, tests)
//! interval_s = 60                       # how often the daemon looks for sealed segments
//! bandwidth_kib_s = 0                   # 0: no limit
//! multipart_threshold_bytes = 16777216  # larger objects go in parts of
//! part_size_bytes = 8388608             #   this size (S3: at least 5 MiB)
//! max_attempts = 5                      # per request, with exponential backoff
//! backoff_initial_ms = 1000
//! backoff_max_ms = 60000
//! timeout_s = 60                        # a connection that stalls this long is dropped
//! ```

use std::path::PathBuf;

use serde::Deserialize;
use serde::Serialize;

/// S3's smallest part (all but the last part of a multipart upload), bytes.
pub const MIN_PART_BYTES: u64 = 5 << 20;
/// S3's largest part, bytes.
pub const MAX_PART_BYTES: u64 = 5 << 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadConfig {
    /// The daemon uploads sealed segments on its own thread, and retention deletes only
    /// segments the server has acknowledged. `edgewatt upload` works without it.
    pub enabled: bool,
    /// `https://host[:port]` (or `http://` with `allow_http`).
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    /// Key prefix, without leading or trailing `/` (may be empty).
    pub prefix: String,
    /// Bucket in the path (MinIO, Garage, Ceph, most self-hosted servers) rather than in the
    /// host name (AWS's virtual-hosted style).
    pub path_style: bool,
    /// AWS-style credentials file, mode 0600 or 0400; unset: the environment.
    pub credentials_file: Option<PathBuf>,
    pub credentials_profile: String,
    /// PEM file of CA certificates trusted besides the built-in (Mozilla) roots.
    pub ca_file: Option<PathBuf>,
    pub allow_http: bool,
    /// How often the daemon looks for segments to upload, seconds.
    pub interval_s: u64,
    /// Upload rate limit, KiB/s; 0 = none.
    pub bandwidth_kib_s: u64,
    /// Objects larger than this go as multipart uploads, bytes.
    pub multipart_threshold_bytes: u64,
    /// Size of each part but the last, bytes.
    pub part_size_bytes: u64,
    /// Attempts per request before the pass gives up (the next pass starts again).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled each time up to `backoff_max_ms`.
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
    /// Connect timeout, and the longest a connection may stall, seconds.
    pub timeout_s: u64,
}

impl Default for UploadConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            endpoint: String::new(),
            bucket: String::new(),
            region: "us-east-1".to_owned(),
            prefix: "edgewatt".to_owned(),
            path_style: true,
            credentials_file: None,
            credentials_profile: "default".to_owned(),
            ca_file: None,
            allow_http: false,
            interval_s: 60,
            bandwidth_kib_s: 0,
            multipart_threshold_bytes: 16 << 20,
            part_size_bytes: 8 << 20,
            max_attempts: 5,
            backoff_initial_ms: 1000,
            backoff_max_ms: 60_000,
            timeout_s: 60,
        }
    }
}

/// An `[upload]` value that cannot work: its key and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("upload.{key}: {message}")]
pub struct BadUpload {
    pub key: &'static str,
    pub message: String,
}

fn bad(key: &'static str, message: impl Into<String>) -> Result<(), BadUpload> {
    Err(BadUpload {
        key,
        message: message.into(),
    })
}

/// Scheme, host and port of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    /// Host as written (a name, an IPv4 address or a bracketed IPv6 address).
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    /// Parses `http(s)://host[:port][/]`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (https, rest) = if let Some(r) = s.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("{s:?} must start with https:// (or http://)"));
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@', ' ']) {
            return Err(format!(
                "{s:?} must be scheme://host[:port] only, without a path, query or user"
            ));
        }
        let (host, port) = split_port(authority).map_err(|why| format!("{s:?}: {why}"))?;
        if host.is_empty() {
            return Err(format!("{s:?} has no host"));
        }
        let port = port.unwrap_or(if https { 443 } else { 80 });
        Ok(Self {
            https,
            host: host.to_owned(),
            port,
        })
    }

    /// `host` or `host:port` when the port is not the scheme's default.
    #[must_use]
    pub fn authority(&self) -> String {
        let default = if self.https { 443 } else { 80 };
        if self.port == default {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

fn split_port(authority: &str) -> Result<(&str, Option<u16>), &'static str> {
    let (host, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => {
                let (h, rest) = authority.split_at(end + 1);
                (h, rest.strip_prefix(':'))
            }
            None => return Err("unclosed [ in an IPv6 address"),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| "the port is not a number 1–65535")?,
        ),
        None => None,
    };
    if port == Some(0) {
        return Err("the port is not a number 1–65535");
    }
    Ok((host, port))
}

impl UploadConfig {
    /// Checks every value; an enabled section must also name an endpoint and a bucket.
    pub fn check(&self) -> Result<(), BadUpload> {
        if self.enabled && self.endpoint.is_empty() {
            return bad("endpoint", "upload is enabled but no endpoint is set");
        }
        if self.enabled && self.bucket.is_empty() {
            return bad("bucket", "upload is enabled but no bucket is set");
        }
        if !self.endpoint.is_empty() {
            let ep = Endpoint::parse(&self.endpoint).map_err(|m| BadUpload {
                key: "endpoint",
                message: m,
            })?;
            if !ep.https && !self.allow_http {
                return bad(
                    "endpoint",
                    "is plain http://: credentials and data would cross the network \
                     unencrypted; use https:// or set allow_http = true",
                );
            }
        }
        if !self.bucket.is_empty() {
            check_bucket(&self.bucket, self.path_style)?;
        }
        self.check_names()?;
        self.check_sizes()
    }

    fn check_names(&self) -> Result<(), BadUpload> {
        let region_ok = !self.region.is_empty()
            && self
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return bad(
                "region",
                "must be a region name like us-east-1 (a–z, 0–9, -)",
            );
        }
        let p = &self.prefix;
        if p.starts_with('/') || p.ends_with('/') || p.contains("//") {
            return bad("prefix", "must not start or end with / nor contain //");
        }
        if p.split('/').any(|s| s == "." || s == "..") || p.chars().any(char::is_control) {
            return bad(
                "prefix",
                "must not contain . or .. levels or control characters",
            );
        }
        if self.credentials_profile.trim().is_empty() {
            return bad("credentials_profile", "must name a profile, e.g. default");
        }
        Ok(())
    }

    fn check_sizes(&self) -> Result<(), BadUpload> {
        if !(MIN_PART_BYTES..=MAX_PART_BYTES).contains(&self.part_size_bytes) {
            return bad(
                "part_size_bytes",
                format!(
                    "{} is out of range: S3 takes parts of {MIN_PART_BYTES}–{MAX_PART_BYTES} bytes",
                    self.part_size_bytes
                ),
            );
        }
        if self.multipart_threshold_bytes < self.part_size_bytes {
            return bad(
                "multipart_threshold_bytes",
                "must be at least part_size_bytes (smaller objects go in one request)",
            );
        }
        let ranges: [(&'static str, u64, u64, u64); 5] = [
            ("interval_s", self.interval_s, 1, 86_400),
            ("max_attempts", u64::from(self.max_attempts), 1, 100),
            ("backoff_initial_ms", self.backoff_initial_ms, 1, 3_600_000),
            (
                "backoff_max_ms",
                self.backoff_max_ms,
                self.backoff_initial_ms,
                3_600_000,
            ),
            ("timeout_s", self.timeout_s, 1, 3600),
        ];
        for (key, v, lo, hi) in ranges {
            if !(lo..=hi).contains(&v) {
                return bad(key, format!("{v} is out of range: expected {lo}–{hi}"));
            }
        }
        Ok(())
    }

    /// Whether the section names a destination `edgewatt upload` can use.
    #[must_use]
    pub fn configured(&self) -> bool {
        !self.endpoint.is_empty() && !self.bucket.is_empty()
    }

    /// `s3://bucket/prefix` for messages.
    #[must_use]
    pub fn destination(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{} at {}", self.bucket, self.endpoint)
        } else {
            format!("s3://{}/{} at {}", self.bucket, self.prefix, self.endpoint)
        }
    }
}

/// S3 bucket naming rules: 3–63 characters, a–z 0–9 . -, starting and ending with a
/// letter or digit; no dots in a virtual-hosted bucket (TLS wildcards do not cover them).
fn check_bucket(b: &str, path_style: bool) -> Result<(), BadUpload> {
    let chars_ok = b
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-');
    let ends_ok = b.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && b.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric());
    if !(3..=63).contains(&b.len()) || !chars_ok || !ends_ok || b.contains("..") {
        return bad(
            "bucket",
            format!(
                "{b:?} is not a bucket name: 3–63 characters of a–z, 0–9, . and -, \
                 starting and ending with a letter or digit"
            ),
        );
    }
    if !path_style && b.contains('.') {
        return bad(
            "bucket",
            "a bucket name with dots does not work in a host name under TLS: \
             set path_style = true",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests;
