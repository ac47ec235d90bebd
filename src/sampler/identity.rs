//! Who and when: the boot id (changes every boot) and a stable device id, both
//! written into segment headers. The device id is a hash of the machine's id, never the
//! id itself.

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

/// A stable name for this machine, first found of: the configured override, as it is;
/// else an application-specific hash (`app_specific_id`) of the device-tree serial
/// number (`proc/device-tree/serial-number`, NUL-terminated; a Pi's SoC serial) or of
/// `etc_root/machine-id`; else `"unknown"`. The raw serial or machine id is never
/// returned: logs are shared, and the machine id is a secret (machine-id(5)).
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
    if let Some(serial) = id_file(roots.proc("device-tree/serial-number"))? {
        return Ok(app_specific_id(serial.as_bytes()));
    }
    if let Some(id) = id_file(etc_root.join("machine-id"))? {
        // As systemd does: the 128 bits the 32 hex digits spell are the key.
        let key = parse_hex_128(&id).map_or_else(|| id.as_bytes().to_vec(), |b| b.to_vec());
        return Ok(app_specific_id(&key));
    }
    Ok("unknown".to_owned())
}

/// edgewatt's application id for [`app_specific_id`] (a random 128-bit value).
pub const APP_ID: [u8; 16] = [
    0xc1, 0x02, 0x06, 0x62, 0x69, 0xfc, 0x46, 0x0b, 0xae, 0xde, 0xae, 0x90, 0xf3, 0xa8, 0x33, 0x04,
];

/// `sd_id128_get_machine_app_specific` for edgewatt: HMAC-SHA256 keyed with `key` (the
/// machine's id) over [`APP_ID`], its first 128 bits marked as a version-4 UUID, as 32
/// lowercase hex digits. The same for a machine id as `systemd-id128 machine-id
/// --app-specific=c102066269fc460baedeae90f3a83304`; stable for a machine, useless for
/// finding its id or linking it to another application's ids.
#[must_use]
pub fn app_specific_id(key: &[u8]) -> String {
    let mac = hmac_sha256(key, &APP_ID);
    let mut id = [0u8; 16];
    id.copy_from_slice(&mac[..16]);
    id[6] = (id[6] & 0x0f) | 0x40;
    id[8] = (id[8] & 0x3f) | 0x80;
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    use sha2::Sha256;
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new()
        .chain_update(block.map(|b| b ^ 0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(block.map(|b| b ^ 0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// 32 hex digits → 16 bytes.
fn parse_hex_128(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
        // Test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn the_app_specific_id_is_systemd_s_for_the_same_machine_id() {
        // `systemd-id128 machine-id --app-specific=c102066269fc460baedeae90f3a83304` on a
        // machine whose /etc/machine-id is 3d1219c7c4c5404aaa1f6d2a48adfda4 (and Python's
        // hmac, independently) give this.
        let key = parse_hex_128("3d1219c7c4c5404aaa1f6d2a48adfda4").unwrap();
        assert_eq!(app_specific_id(&key), "de03dd6c59a047c9ad2cffe9fe876224");
        assert_eq!(parse_hex_128("3d1219c7c4c5404aaa1f6d2a48adfdz4"), None);
        assert_eq!(parse_hex_128("3d12"), None);
    }
}
