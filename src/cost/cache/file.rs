//! The cache file: `EWCOSTC\n`, the CRC-32C of the next two parts (4 bytes LE), the head's
//! length (4 bytes LE), the head (postcard: key, segments, where each row is, skips, each
//! chunk's length and CRC-32C), then the rows in chunks (each postcard), each read, checked
//! and decoded on a thread of its own.

use std::os::unix::fs::FileExt as _;
use std::path::Path;

use serde::Deserialize;
use serde::Serialize;

use super::segs::Seg;
use crate::cost::RunCost;
use crate::logread::Skip;

/// Bumped whenever the cache file's layout changes.
pub const FORMAT: u32 = 6;
const MAGIC: &[u8; 8] = b"EWCOSTC\n";
/// Bytes a row is taken to encode to when room is reserved for the rows of a chunk (a
/// real row is 500–700 bytes; a smaller one only makes the vector grow). Room is reserved
/// for no more rows than the bytes read can hold at this size, whatever count the file
/// names: a row is over a kilobyte in memory, so the room reserved stays within about
/// four times the file's size.
const ROW_BYTES_HINT: usize = 256;
/// The magic, the head's CRC and the head's length.
const FIXED_BYTES: u64 = 16;
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
    chunks: Vec<Chunk>,
}

/// Where the head says a chunk of rows is.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Chunk {
    len: u64,
    crc: u32,
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
    chunks: Vec<Chunk>,
}

/// The cache file at `path`, or why it cannot be used.
pub fn load(path: &Path) -> Result<File, String> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err("no cache yet".into()),
        Err(e) => return Err(Opened::unreadable(path, &e)),
    };
    let len = file
        .metadata()
        .map_err(|e| Opened::unreadable(path, &e))?
        .len();
    let cache = Opened { file, path, len };
    // A short file is still told apart from another kind of file by its first bytes.
    let fixed = cache.read_at(0, FIXED_BYTES.min(len))?;
    let rest = fixed
        .strip_prefix(MAGIC)
        .ok_or_else(|| format!("{} is not an edgewatt cost cache", path.display()))?;
    let (crc, rest) = rest
        .split_first_chunk::<4>()
        .ok_or_else(|| cache.damaged())?;
    let head_len: [u8; 4] = rest.try_into().map_err(|_| cache.damaged())?;
    let head_bytes = cache.read_at(FIXED_BYTES, u64::from(u32::from_le_bytes(head_len)))?;
    if u32::from_le_bytes(*crc) != crate::store::crc32c_of(&[&head_len, &head_bytes]) {
        return Err(cache.damaged());
    }
    let head: Head = postcard::from_bytes(&head_bytes).map_err(|e| cache.undecodable(&e))?;
    // The writer stores `CHUNKS`; a head naming more (a file made by hand) is not read,
    // rather than starting a thread for each.
    if head.chunks.len() > CHUNKS {
        return Err(cache.undecodable(&format!("{} chunks", head.chunks.len())));
    }
    let mut spans = Vec::with_capacity(head.chunks.len());
    let mut at = FIXED_BYTES + head_bytes.len() as u64;
    for &c in &head.chunks {
        spans.push((at, c));
        at = at.checked_add(c.len).ok_or_else(|| cache.damaged())?;
    }
    match at.cmp(&cache.len) {
        std::cmp::Ordering::Less => return Err(cache.undecodable(&"bytes after the rows")),
        std::cmp::Ordering::Greater => return Err(cache.damaged()),
        std::cmp::Ordering::Equal => {}
    }
    let rows = cache.rows(&spans, head.places.len())?;
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

/// The cache file being read.
struct Opened<'a> {
    file: std::fs::File,
    path: &'a Path,
    len: u64,
}

impl Opened<'_> {
    fn unreadable(path: &Path, e: &std::io::Error) -> String {
        format!("cannot read the cache {}: {e}", path.display())
    }

    fn damaged(&self) -> String {
        format!("the cache {} is damaged (CRC)", self.path.display())
    }

    fn undecodable(&self, e: &dyn std::fmt::Display) -> String {
        format!("the cache {} does not decode: {e}", self.path.display())
    }

    /// `len` bytes at `at`; a span past the file's end (a length read from the file) is
    /// damage, found before anything is allocated.
    fn read_at(&self, at: u64, len: u64) -> Result<Vec<u8>, String> {
        let end = at.checked_add(len).filter(|&e| e <= self.len);
        let len = end.and_then(|e| usize::try_from(e - at).ok());
        let mut buf = vec![0; len.ok_or_else(|| self.damaged())?];
        self.file
            .read_exact_at(&mut buf, at)
            .map_err(|e| Self::unreadable(self.path, &e))?;
        Ok(buf)
    }

    /// The rows of the chunk at `at`, checked, in a vector of at least `capacity`.
    fn chunk(&self, (at, chunk): (u64, Chunk), capacity: usize) -> Result<Vec<RunCost>, String> {
        let bytes = self.read_at(at, chunk.len)?;
        if crate::store::crc32c(&bytes) != chunk.crc {
            return Err(self.damaged());
        }
        decode_rows(&bytes, capacity).map_err(|e| self.undecodable(&e))
    }

    /// The `total` rows of the chunks at `spans`, each read, checked and decoded on a
    /// thread of its own: the first on this one, straight into the rows' one allocation,
    /// the others moved in after it.
    fn rows(&self, spans: &[(u64, Chunk)], total: usize) -> Result<Vec<RunCost>, String> {
        let chunk_bytes: u64 = spans.iter().map(|(_, c)| c.len).sum();
        let capacity =
            total.min(usize::try_from(chunk_bytes).unwrap_or(usize::MAX) / ROW_BYTES_HINT);
        let (first, others) = spans
            .split_first()
            .map_or((None, &[][..]), |(f, o)| (Some(*f), o));
        let (rows, others) = std::thread::scope(|s| {
            let others: Vec<_> = others
                .iter()
                .map(|&span| s.spawn(move || self.chunk(span, 0)))
                .collect();
            let rows = first.map_or_else(|| Ok(Vec::new()), |span| self.chunk(span, capacity));
            let others: Vec<_> = others
                .into_iter()
                .map(|t| t.join().expect("decoding does not panic"))
                .collect();
            (rows, others)
        });
        let mut rows = rows?;
        for chunk in others {
            rows.extend(chunk?);
        }
        if rows.len() != total {
            return Err(self.undecodable(&"as many rows as places"));
        }
        Ok(rows)
    }
}

/// The rows of one chunk (postcard's `Vec<RunCost>`: a varint count, then each row), in a
/// vector with room for `capacity` rows (or for as many as the chunk holds, see
/// [`ROW_BYTES_HINT`]) made at once: a row is over a kilobyte, and growing by doubling
/// would copy each several times.
fn decode_rows(chunk: &[u8], capacity: usize) -> Result<Vec<RunCost>, postcard::Error> {
    let (count, mut rest) = postcard::take_from_bytes::<u64>(chunk)?;
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    let mut rows = Vec::with_capacity(count.min(rest.len() / ROW_BYTES_HINT).max(capacity));
    for _ in 0..count {
        let (row, after) = postcard::take_from_bytes(rest)?;
        rows.push(row);
        rest = after;
    }
    if !rest.is_empty() {
        return Err(postcard::Error::DeserializeBadEncoding);
    }
    Ok(rows)
}

/// Writes `f` to `path` (its directory made if missing).
pub fn store(path: &Path, f: &File) -> Result<(), String> {
    let encode = |e: postcard::Error| format!("cannot encode the cache: {e}");
    let per_chunk = f.rows.len().div_ceil(CHUNKS).max(1);
    // Encoded as they are decoded: a chunk a thread.
    let chunks: Vec<Vec<u8>> = std::thread::scope(|s| {
        let threads: Vec<_> = f
            .rows
            .chunks(per_chunk)
            .map(|c| s.spawn(move || postcard::to_allocvec(c)))
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("encoding does not panic"))
            .collect::<Result<_, _>>()
    })
    .map_err(encode)?;
    let head = postcard::to_allocvec(&HeadOut {
        format: f.format,
        build: &f.build,
        min_coverage_bits: f.min_coverage_bits,
        segments: &f.segments,
        places: &f.places,
        skips: &f.skips,
        chunks: chunks
            .iter()
            .map(|c| Chunk {
                len: c.len() as u64,
                crc: crate::store::crc32c(c),
            })
            .collect(),
    })
    .map_err(encode)?;
    let head_len = u32::try_from(head.len()).map_err(|_| "the cache's head is over 4 GiB")?;
    let head_len = head_len.to_le_bytes();
    let crc = crate::store::crc32c_of(&[&head_len, &head]);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot make the cache directory {}: {e}", dir.display()))?;
    }
    // Not synced: a cache lost or torn by a power cut fails its CRC and is made again.
    crate::store::replace_derived_file(path, |w| {
        use std::io::Write as _;
        w.write_all(MAGIC)?;
        w.write_all(&crc.to_le_bytes())?;
        w.write_all(&head_len)?;
        w.write_all(&head)?;
        chunks.iter().try_for_each(|c| w.write_all(c))
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
        let crc = crate::store::crc32c_of(&[&head_len, &head]);
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
                chunks: vec![Chunk { len: 0, crc: 0 }; 100_000],
            },
            &[],
        );
        let got = std::panic::catch_unwind(|| load(&path).map(|_| ()));
        assert!(matches!(got, Ok(Err(_))), "load panicked or accepted it");
    }
}
