//! Uploading sealed segments to S3-compatible storage (AWS S3, MinIO, Garage, Ceph, …).
//!
//! - **What**: every sealed segment, and what is derived from it
//!   ([`objects::objects_for_segment`]), under
//!   `<prefix>/device=<device>/date=<yyyy-mm-dd>/<segment>` (Hive-style partitions).
//! - **Idempotent**: an object the manifest does not have is looked up with HEAD first
//!   (its SHA-256 is in its metadata); a write is conditional (`If-None-Match: *`) where
//!   the server supports it. A repeated upload adds nothing; a different object at the
//!   key (a state directory started anew) is not overwritten: ours goes beside it under
//!   `….<sha256 prefix>.ewlog`.
//! - **Resumable**: [`manifest`] records each acknowledgment (key, size, SHA-256, ETag)
//!   and each acknowledged part of a multipart upload, durably, before the next request.
//! - **Paced**: a bandwidth limit on every body, retries with exponential backoff, multipart
//!   above a threshold; a [`Stop`] cuts every wait and transfer short.
//! - **Retention**: with `[upload] enabled`, the store deletes only segments the manifest
//!   has as uploaded ([`manifest::may_delete`]).
//! - **Credentials** come from a file only its owner can read, or the environment; they
//!   never appear in a log line, an event, an error or `config show`.
//!
//! The client is a small SigV4 signer ([`sigv4`]) over the blocking `ureq` (rustls with
//! `ring`): no async runtime, no C beyond `ring`'s, and every body is read through the rate
//! limit. README "Fleet: uploading to S3" says why this and not `object_store`.

pub mod config;
pub mod credentials;
pub mod manifest;
pub mod mirror;
pub mod objects;
mod pass;
pub mod s3;
pub mod sigv4;
mod thread;
pub mod throttle;

use std::path::PathBuf;

use thiserror::Error;

pub use crate::digest::hex;
pub use crate::digest::sha256_copy;
pub use config::UploadConfig;
pub use credentials::Credentials;
pub use credentials::CredentialsError;
pub use manifest::Manifest;
pub use pass::backlog;
pub use pass::PassReport;
pub use pass::SegmentDone;
pub use pass::Uploader;
pub use s3::S3Error;
pub use thread::UploadThread;
pub use throttle::Stop;

/// File name of the lock taken by whoever uploads from a state directory.
pub const LOCK_FILE: &str = "upload.lock";

#[derive(Debug, Error)]
pub enum UploadError {
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error("cannot read [upload] ca_file {path}: {why}")]
    CaFile { path: PathBuf, why: String },
    #[error("[upload] endpoint: {0}")]
    Endpoint(String),
    #[error("[upload] needs an endpoint and a bucket: set them in the config ({0})")]
    NotConfigured(String),
    #[error(transparent)]
    S3(#[from] S3Error),
    #[error(transparent)]
    Store(Box<crate::store::StoreError>),
    #[error("cannot read segment {path}: {source}")]
    Segment {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot make the Parquet export of {path}: {why}; the segment stays local and is \
         tried again on the next pass"
    )]
    Derive { path: PathBuf, why: String },
    #[error("mirror of the bucket: {path}: {source}")]
    Mirror {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the upload manifest {path}: {source}")]
    Manifest {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the upload manifest {path} is version {version}, newer than this edgewatt \
         writes: upgrade edgewatt"
    )]
    ManifestVersion { path: PathBuf, version: u32 },
    #[error("cannot save the upload manifest: {0}")]
    ManifestWrite(Box<crate::store::StoreError>),
    #[error(
        "another edgewatt (pid {holder}) is uploading from this state directory; \
         it goes on, try again when it is done"
    )]
    Busy { holder: String },
    #[error("cannot start the upload thread: {0}")]
    Thread(std::io::Error),
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{key} and the key beside it hold other objects than this segment: it is kept \
         locally; change [upload] prefix, or move those objects away"
    )]
    Conflict { key: String },
}

/// The client of `cfg`'s bucket: its credentials (and CA file) loaded. Nothing is sent.
pub fn connect(cfg: &UploadConfig) -> Result<s3::Client, UploadError> {
    let creds = Credentials::load(cfg.credentials_file.as_deref(), &cfg.credentials_profile)?;
    let ca = match &cfg.ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|e| UploadError::CaFile {
            path: path.clone(),
            why: e.to_string(),
        })?),
        None => None,
    };
    s3::Client::new(cfg, creds, ca.as_deref()).map_err(|why| match &cfg.ca_file {
        Some(path) if why.contains("certificate") => UploadError::CaFile {
            path: path.clone(),
            why,
        },
        _ => UploadError::Endpoint(why),
    })
}
