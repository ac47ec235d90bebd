//! S3 credentials: from a file only its owner may read, or from the environment.
//!
//! The secret is kept in a type that prints as `***` ([`Debug`]) and has no `Display`;
//! errors name the file, the line and the key, never a value.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::path::PathBuf;

use thiserror::Error;

/// Access key id, secret and (for temporary credentials) session token.
#[derive(Clone)]
pub struct Credentials {
    key_id: String,
    secret: String,
    token: Option<String>,
    /// Where they came from, for messages: the file, or `environment`.
    source: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("key_id", &self.key_id)
            .field("secret", &"***")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("source", &self.source)
            .finish()
    }
}

/// The environment variables read when no `credentials_file` is configured.
pub const ENV_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
pub const ENV_SECRET: &str = "AWS_SECRET_ACCESS_KEY";
pub const ENV_TOKEN: &str = "AWS_SESSION_TOKEN";

#[derive(Debug, Error)]
pub enum CredentialsError {
    #[error(
        "no S3 credentials: set [upload] credentials_file, or {ENV_KEY_ID} and {ENV_SECRET} \
         in the environment"
    )]
    Missing,
    #[error("cannot read S3 credentials file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "S3 credentials file {path} can be read by its group or others (mode {mode:04o}); \
         it is refused: chmod 600 it (or 400)"
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("S3 credentials file {path}:{line}: {why}")]
    Invalid {
        path: PathBuf,
        line: usize,
        why: String,
    },
    #[error(
        "S3 credentials file {path} has no aws_access_key_id and aws_secret_access_key in \
         profile [{profile}]"
    )]
    Incomplete { path: PathBuf, profile: String },
}

impl Credentials {
    #[must_use]
    pub fn new(key_id: String, secret: String, token: Option<String>) -> Self {
        Self {
            key_id,
            secret,
            token,
            source: "given".to_owned(),
        }
    }

    /// From `file` (profile `profile`) if set, else from the environment.
    pub fn load(file: Option<&Path>, profile: &str) -> Result<Self, CredentialsError> {
        match file {
            Some(path) => Self::from_file(path, profile),
            None => Self::from_env(|name| std::env::var(name).ok()),
        }
    }

    /// From `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, CredentialsError> {
        let nonempty = |name| var(name).filter(|v: &String| !v.trim().is_empty());
        match (nonempty(ENV_KEY_ID), nonempty(ENV_SECRET)) {
            (Some(key_id), Some(secret)) => Ok(Self {
                key_id: key_id.trim().to_owned(),
                secret: secret.trim().to_owned(),
                token: nonempty(ENV_TOKEN).map(|t| t.trim().to_owned()),
                source: "the environment".to_owned(),
            }),
            _ => Err(CredentialsError::Missing),
        }
    }

    /// From an AWS-style credentials file (`[profile]` sections of `key = value` lines:
    /// `aws_access_key_id`, `aws_secret_access_key`, `aws_session_token`), which must
    /// not be readable by its group or others.
    pub fn from_file(path: &Path, profile: &str) -> Result<Self, CredentialsError> {
        let read = |source| CredentialsError::Read {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read)?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(CredentialsError::Exposed {
                path: path.to_path_buf(),
                mode,
            });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        let mut creds = parse_profile(&text, profile, path)?;
        creds.source = path.display().to_string();
        Ok(creds)
    }

    #[must_use]
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The secret, for the signer only.
    #[must_use]
    pub(super) fn secret(&self) -> &str {
        &self.secret
    }

    #[must_use]
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Where they came from: a file's path or `the environment`.
    #[must_use]
    pub fn source(&self) -> &str {
        &self.source
    }
}

fn parse_profile(text: &str, profile: &str, path: &Path) -> Result<Credentials, CredentialsError> {
    let invalid = |line: usize, why: &str| CredentialsError::Invalid {
        path: path.to_path_buf(),
        line,
        why: why.to_owned(),
    };
    let (mut section, mut key_id, mut secret, mut token) = (None::<String>, None, None, None);
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let name = name
                .strip_suffix(']')
                .ok_or_else(|| invalid(i + 1, "a section header must end with ]"))?;
            section = Some(name.trim().to_owned());
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| invalid(i + 1, "expected `key = value` (the value is not shown)"))?;
        if section.as_deref() != Some(profile) {
            continue;
        }
        let value = Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        match key.trim() {
            "aws_access_key_id" => key_id = value,
            "aws_secret_access_key" => secret = value,
            "aws_session_token" => token = value,
            _ => {}
        }
    }
    match (key_id, secret) {
        (Some(key_id), Some(secret)) => Ok(Credentials::new(key_id, secret, token)),
        _ => Err(CredentialsError::Incomplete {
            path: path.to_path_buf(),
            profile: profile.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::fs;

    use super::*;

    const SECRET: &str = "s3cr3t/VALUE+that-must-not-leak";

    fn write(dir: &Path, text: &str, mode: u32) -> PathBuf {
        let path = dir.join("creds");
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_profile_is_read_from_an_owner_only_file() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "# fleet\n[other]\naws_access_key_id = X\naws_secret_access_key = Y\n\n\
             [default]\naws_access_key_id = AKID\naws_secret_access_key = {SECRET}\n"
        );
        let path = write(dir.path(), &text, 0o600);
        let c = Credentials::from_file(&path, "default").unwrap();
        assert_eq!((c.key_id(), c.secret(), c.token()), ("AKID", SECRET, None));
        let other = Credentials::from_file(&path, "other").unwrap();
        assert_eq!((other.key_id(), other.secret()), ("X", "Y"));
        assert!(!format!("{c:?}").contains(SECRET), "{c:?}");
        assert_eq!(c.source(), path.display().to_string());
    }

    #[test]
    fn a_file_readable_by_group_or_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("[default]\naws_access_key_id = A\naws_secret_access_key = {SECRET}\n");
        for mode in [0o640, 0o604, 0o644, 0o660] {
            let path = write(dir.path(), &text, mode);
            let err = Credentials::from_file(&path, "default").unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, CredentialsError::Exposed { .. }), "{msg}");
            assert!(
                msg.contains(&format!("{mode:04o}")) && msg.contains("chmod 600"),
                "{msg}"
            );
            assert!(!msg.contains(SECRET));
        }
        let path = write(dir.path(), &text, 0o400);
        assert!(Credentials::from_file(&path, "default").is_ok());
    }

    #[test]
    fn bad_files_are_named_by_line_without_their_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), &format!("[default]\n{SECRET}\n"), 0o600);
        let msg = Credentials::from_file(&path, "default")
            .unwrap_err()
            .to_string();
        assert!(msg.contains(":2: expected `key = value`"), "{msg}");
        assert!(!msg.contains(SECRET), "{msg}");
        let path = write(dir.path(), "[default]\naws_access_key_id = A\n", 0o600);
        let msg = Credentials::from_file(&path, "default")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("profile [default]"), "{msg}");
        let missing = dir.path().join("none");
        let msg = Credentials::from_file(&missing, "default")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("none") && msg.contains("cannot read"), "{msg}");
    }

    #[test]
    fn the_environment_needs_both_key_and_secret() {
        let env: HashMap<&str, &str> = [
            (ENV_KEY_ID, "AKID"),
            (ENV_SECRET, SECRET),
            (ENV_TOKEN, "tok"),
        ]
        .into();
        let c = Credentials::from_env(|k| env.get(k).map(|v| (*v).to_owned())).unwrap();
        assert_eq!((c.key_id(), c.token()), ("AKID", Some("tok")));
        assert_eq!(c.source(), "the environment");
        let only_key: HashMap<&str, &str> = [(ENV_KEY_ID, "AKID"), (ENV_SECRET, " ")].into();
        let err = Credentials::from_env(|k| only_key.get(k).map(|v| (*v).to_owned()));
        assert!(matches!(err, Err(CredentialsError::Missing)));
    }
}
