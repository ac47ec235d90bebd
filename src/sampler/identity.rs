//! Who and when: the boot id (changes every boot) and a stable device id, both
//! written into segment headers.

use std::fs;
use std::io;
use std::path::Path;
use std::path::PathBuf;

use super::file::trimmed;
use super::roots::Roots;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: expected a UUID like 6e102c7c-e569-4ae5-a50b-05aad92516de, got {content:?}", path.display())]
    BadBootId { path: PathBuf, content: String },
    #[error(
        "{}: {what}; set `device_id` in the config to override", path.display()
    )]
    BadDeviceId { path: PathBuf, what: String },
    #[error("configured device_id {id:?} is invalid: use 1–64 characters of [A-Za-z0-9._-]")]
    BadOverride { id: String },
}

/// `proc/sys/kernel/random/boot_id`: a UUID that is new on every boot.
pub fn boot_id(roots: &Roots) -> Result<String, IdentityError> {
    let path = roots.proc("sys/kernel/random/boot_id");
    let bytes = fs::read(&path).map_err(|source| IdentityError::Read {
        path: path.clone(),
        source,
    })?;
    let s = trimmed(&bytes).unwrap_or("");
    let is_uuid = s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if is_uuid {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(IdentityError::BadBootId {
            path,
            content: String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned(),
        })
    }
}

fn valid_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// An id file's trimmed content; `Ok(None)` if the file does not exist or is empty.
fn id_file(path: PathBuf) -> Result<Option<String>, IdentityError> {
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(IdentityError::Read { path, source }),
    };
    match trimmed(&bytes) {
        Some("") => Ok(None),
        Some(s) if valid_id(s) => Ok(Some(s.to_owned())),
        _ => Err(IdentityError::BadDeviceId {
            path,
            what: format!(
                "expected 1–64 characters of [A-Za-z0-9._-], got {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(64)])
            ),
        }),
    }
}

/// A stable name for this machine, first found of: the configured override; the
/// device-tree serial number (`proc/device-tree/serial-number`, NUL-terminated; a Pi's
/// SoC serial); `etc_root/machine-id`; else `"unknown"`.
///
/// A missing or empty file falls through to the next; a file that exists but cannot be
/// read or holds garbage is an error naming it (so a misconfiguration is not hidden).
pub fn device_id(
    roots: &Roots,
    etc_root: &Path,
    override_id: Option<&str>,
) -> Result<String, IdentityError> {
    if let Some(id) = override_id {
        return if valid_id(id) {
            Ok(id.to_owned())
        } else {
            Err(IdentityError::BadOverride { id: id.to_owned() })
        };
    }
    if let Some(id) = id_file(roots.proc("device-tree/serial-number"))? {
        return Ok(id);
    }
    if let Some(id) = id_file(etc_root.join("machine-id"))? {
        return Ok(id);
    }
    Ok("unknown".to_owned())
}
