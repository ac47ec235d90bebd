//! The cache file: `EWCOSTC\n`, the CRC-32C of the rest (4 bytes LE), the head's length
//! (4 bytes LE), the head (postcard: key, segments, where each row is, skips, the rows'
//! chunk lengths), then the rows in chunks (each postcard), decoded on a thread each.

use std::path::Path;

use serde::Deserialize;
use serde::Serialize;

use super::segs::Seg;
use crate::cost::RunCost;
use crate::logread::Skip;

/// Bumped whenever the cache file's layout changes.
pub const FORMAT: u32 = 2;
const MAGIC: &[u8; 8] = b"EWCOSTC\n";
/// The rows are stored in this many chunks, decoded on as many threads (a Pi 5 has four
/// cores; decoding is most of the time a report from the cache takes).
const CHUNKS: usize = 4;

/// Where a row's record is, and whether the row is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub segment: usize,
    pub is_final: bool,
}

/// What the cache holds.
#[derive(Debug)]
pub struct File {
    pub format: u32,
    pub build: String,
    pub min_coverage_bits: u64,
    pub segments: Vec<Seg>,
    /// One per row.
    pub places: Vec<Place>,
    pub rows: Vec<RunCost>,
    /// Each with the segment it is in (its path is made again from the directory).
    pub skips: Vec<(usize, Skip)>,
}

/// The head as written (field order is the head's layout).
#[derive(Serialize)]
struct HeadOut<'a> {
    format: u32,
    build: &'a str,
    min_coverage_bits: u64,
    segments: &'a [Seg],
    places: &'a [Place],
    skips: &'a [(usize, Skip)],
    chunk_lens: Vec<u64>,
}

/// The head as read.
#[derive(Deserialize)]
struct Head {
    format: u32,
    build: String,
    min_coverage_bits: u64,
    segments: Vec<Seg>,
    places: Vec<Place>,
    skips: Vec<(usize, Skip)>,
    chunk_lens: Vec<u64>,
}

/// The cache file at `path`, or why it cannot be used.
pub fn load(path: &Path) -> Result<File, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err("no cache yet".into()),
        Err(e) => return Err(format!("cannot read the cache {}: {e}", path.display())),
    };
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| format!("{} is not an edgewatt cost cache", path.display()))?;
    let damaged = || format!("the cache {} is damaged (CRC)", path.display());
    let (crc, body) = rest.split_first_chunk::<4>().ok_or_else(damaged)?;
    if u32::from_le_bytes(*crc) != crate::store::crc32c(body) {
        return Err(damaged());
    }
    let undecodable =
        |e: &dyn std::fmt::Display| format!("the cache {} does not decode: {e}", path.display());
    let (len, body) = body.split_first_chunk::<4>().ok_or_else(damaged)?;
    let len = u32::from_le_bytes(*len) as usize;
    let head: Head = body
        .get(..len)
        .ok_or_else(damaged)
        .and_then(|h| postcard::from_bytes(h).map_err(|e| undecodable(&e)))?;
    // The writer stores `CHUNKS`; a head naming more (a file made by hand) is not read,
    // rather than starting a thread for each.
    if head.chunk_lens.len() > CHUNKS {
        return Err(undecodable(&format!("{} chunks", head.chunk_lens.len())));
    }
    let mut chunks = Vec::new();
    let mut at = len;
    for &n in &head.chunk_lens {
        let end = usize::try_from(n).ok().and_then(|n| at.checked_add(n));
        chunks.push(end.and_then(|end| body.get(at..end)).ok_or_else(damaged)?);
        at = end.unwrap_or(at);
    }
    if at != body.len() {
        return Err(undecodable(&"bytes after the rows"));
    }
    let decoded: Vec<Result<Vec<RunCost>, postcard::Error>> = std::thread::scope(|s| {
        let threads: Vec<_> = chunks
            .iter()
            .map(|c| s.spawn(|| postcard::from_bytes(c)))
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("decoding does not panic"))
            .collect()
    });
    let mut rows = Vec::with_capacity(head.places.len());
    for chunk in decoded {
        rows.extend(chunk.map_err(|e| undecodable(&e))?);
    }
    if rows.len() != head.places.len() {
        return Err(undecodable(&"as many rows as places"));
    }
    Ok(File {
        format: head.format,
        build: head.build,
        min_coverage_bits: head.min_coverage_bits,
        segments: head.segments,
        places: head.places,
        rows,
        skips: head.skips,
    })
}

/// Writes `f` to `path` (its directory made if missing).
pub fn store(path: &Path, f: &File) -> Result<(), String> {
    let encode = |e: postcard::Error| format!("cannot encode the cache: {e}");
    let per_chunk = f.rows.len().div_ceil(CHUNKS).max(1);
    let chunks: Vec<Vec<u8>> = f
        .rows
        .chunks(per_chunk)
        .map(postcard::to_allocvec)
        .collect::<Result<_, _>>()
        .map_err(encode)?;
    let head = postcard::to_allocvec(&HeadOut {
        format: f.format,
        build: &f.build,
        min_coverage_bits: f.min_coverage_bits,
        segments: &f.segments,
        places: &f.places,
        skips: &f.skips,
        chunk_lens: chunks.iter().map(|c| c.len() as u64).collect(),
    })
    .map_err(encode)?;
    let head_len = u32::try_from(head.len()).map_err(|_| "the cache's head is over 4 GiB")?;
    let head_len = head_len.to_le_bytes();
    let mut parts: Vec<&[u8]> = vec![&head_len, &head];
    parts.extend(chunks.iter().map(Vec::as_slice));
    let crc = crate::store::crc32c_of(&parts);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot make the cache directory {}: {e}", dir.display()))?;
    }
    // Not synced: a cache lost or torn by a power cut fails its CRC and is made again.
    crate::store::replace_derived_file(path, |w| {
        use std::io::Write as _;
        w.write_all(MAGIC)?;
        w.write_all(&crc.to_le_bytes())?;
        parts.iter().try_for_each(|p| w.write_all(p))
    })
    .map_err(|e| format!("cannot write the cache: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache file whose head is `head` and whose rows are `rows` (the CRC made right).
    fn crafted(path: &Path, head: &HeadOut<'_>, rows: &[u8]) {
        let head = postcard::to_allocvec(head).unwrap();
        let head_len = u32::try_from(head.len()).unwrap().to_le_bytes();
        let crc = crate::store::crc32c_of(&[&head_len, &head, rows]);
        let mut bytes = MAGIC.to_vec();
        bytes.extend(crc.to_le_bytes());
        bytes.extend(head_len);
        bytes.extend(&head);
        bytes.extend(rows);
        std::fs::write(path, bytes).unwrap();
    }

    /// The head names how many chunks there are; each gets a thread. A file that says a
    /// hundred thousand (a few hundred kB: the CRC is no proof of who wrote it) must be
    /// refused, not start a hundred thousand threads.
    #[test]
    fn a_head_naming_many_chunks_is_refused_without_a_thread_each() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cost.bin");
        crafted(
            &path,
            &HeadOut {
                format: FORMAT,
                build: "x",
                min_coverage_bits: 0,
                segments: &[],
                places: &[],
                skips: &[],
                chunk_lens: vec![0; 100_000],
            },
            &[],
        );
        let got = std::panic::catch_unwind(|| load(&path).map(|_| ()));
        assert!(matches!(got, Ok(Err(_))), "load panicked or accepted it");
    }
}
