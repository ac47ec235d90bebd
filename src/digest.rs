//! SHA-256 streamed through a copy, and lower-case hex: what the uploader (segments, GETs,
//! the mirror's check) and the model reader (a GGUF's identity) share. Depends on nothing
//! in the crate.

/// Copies `from` into `to`, hashing as it goes: the SHA-256 (lower-case hex) and the
/// length in bytes of what was copied. `to` may be [`std::io::sink`] to hash alone.
pub fn sha256_copy(
    mut from: impl std::io::Read,
    mut to: impl std::io::Write,
) -> std::io::Result<(String, u64)> {
    use sha2::Digest;
    let (mut hash, mut buf, mut len) = (sha2::Sha256::new(), vec![0u8; 1 << 20], 0u64);
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        to.write_all(&buf[..n])?;
        len += n as u64;
    }
    Ok((hex(&hash.finalize()), len))
}

/// Lower-case hex of `bytes`.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
