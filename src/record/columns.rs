//! Codec 1 of sample and power blocks: rows of integers coded column by column (deltas,
//! or deltas of deltas for counters), as a postcard `Vec<i64>`, deflated. Also the
//! sample rows themselves: flattening samples and the aggregate-CPU residual.

use super::block::BlockError;
use super::sample::CpuTicks;
use super::sample::MemKb;
use super::sample::ProcCounters;
use super::sample::Readings;
use super::sample::Sample;
use super::sample::SampleLayout;

/// Number of integers in one row for `layout`.
pub(super) fn sample_width(layout: &SampleLayout) -> usize {
    2 + usize::from(layout.cpus) * CpuTicks::FIELDS
        + MemKb::FIELDS
        + layout.procs.len() * ProcCounters::FIELDS
        + layout.thermal_zones.len()
        + layout.cpufreq.len()
        + 2
}

/// Whether column `c` holds a cumulative counter (coded as delta of delta).
pub(super) fn sample_is_counter(layout: &SampleLayout, c: usize) -> bool {
    let cpu_end = 2 + usize::from(layout.cpus) * CpuTicks::FIELDS;
    let mem_end = cpu_end + MemKb::FIELDS;
    let proc_end = mem_end + layout.procs.len() * ProcCounters::FIELDS;
    if c < cpu_end {
        return true;
    }
    if (mem_end..proc_end).contains(&c) {
        // utime, stime, rss (gauge), minflt, majflt
        return (c - mem_end) % ProcCounters::FIELDS != 2;
    }
    false
}

/// Appends `s` as a row. The aggregate cpu line (line 0) is stored as its residual
/// against the sum of the per-core lines, which the kernel keeps (nearly) constant.
pub(super) fn push_row(layout: &SampleLayout, row: &mut Vec<u64>, s: &Sample) {
    let start = row.len();
    row.push(s.tick);
    row.push(s.mono_us);
    for c in &s.cpu {
        row.extend_from_slice(&c.to_array());
    }
    row.extend_from_slice(&s.mem.to_array());
    for p in &s.procs {
        row.extend_from_slice(&p.to_array());
    }
    row.extend(s.temps_mc.iter().map(|&t| t as u64));
    row.extend_from_slice(&s.freqs_khz);
    row.push(s.throttled);
    row.push(s.valid);
    aggregate_residual(layout, &mut row[start..], false);
}

/// Replaces the aggregate cpu fields by `aggregate − Σ cores` (or back, with `undo`).
fn aggregate_residual(layout: &SampleLayout, row: &mut [u64], undo: bool) {
    let cpus = usize::from(layout.cpus);
    if cpus < 2 {
        return;
    }
    for f in 0..CpuTicks::FIELDS {
        let sum = (1..cpus).fold(0u64, |acc, c| {
            acc.wrapping_add(row[2 + c * CpuTicks::FIELDS + f])
        });
        row[2 + f] = if undo {
            row[2 + f].wrapping_add(sum)
        } else {
            row[2 + f].wrapping_sub(sum)
        };
    }
}

/// The sample of a stored row; the row's residual is undone in place.
pub(super) fn sample_from_row(layout: &SampleLayout, row: &mut [u64]) -> Sample {
    aggregate_residual(layout, row, true);
    let (head, rest) = row.split_at(2);
    let (cpu, rest) = rest.split_at(usize::from(layout.cpus) * CpuTicks::FIELDS);
    let (mem, rest) = rest.split_at(MemKb::FIELDS);
    let (procs, rest) = rest.split_at(layout.procs.len() * ProcCounters::FIELDS);
    let (temps, rest) = rest.split_at(layout.thermal_zones.len());
    let (freqs, rest) = rest.split_at(layout.cpufreq.len());
    Sample {
        tick: head[0],
        mono_us: head[1],
        cpu: readings(cpu.chunks_exact(CpuTicks::FIELDS), |c| {
            CpuTicks::from_array(array(c))
        }),
        mem: MemKb::from_array(array(mem)),
        procs: readings(procs.chunks_exact(ProcCounters::FIELDS), |p| {
            ProcCounters::from_array(array(p))
        }),
        temps_mc: readings(temps.iter(), |&t| t as i64),
        freqs_khz: readings(freqs.iter(), |&f| f),
        throttled: rest[0],
        valid: rest[1],
    }
}

/// The readings `f` makes of `items`; filled in place when they fit inline (the common
/// case, and the hot loop of reading a log).
fn readings<I: ExactSizeIterator, T: Copy + Default, const N: usize>(
    items: I,
    f: impl Fn(I::Item) -> T,
) -> Readings<T, N> {
    let len = items.len();
    if len > N {
        return items.map(f).collect();
    }
    let mut buf = [T::default(); N];
    for (slot, item) in buf.iter_mut().zip(items) {
        *slot = f(item);
    }
    Readings::from_buf_and_len(buf, len)
}

/// The first `N` values of `values` (a slice cut to the length of a record's fields).
fn array<const N: usize>(values: &[u64]) -> [u64; N] {
    let mut out = [0; N];
    out.copy_from_slice(&values[..N]);
    out
}

const MAX_VARINT_BYTES: usize = 10;

/// Codes `n` rows of `w` columns (row-major in `rows`) column by column into `out`.
/// With a `base` row (the previous block's last), the first value of each column is
/// coded against it like any other; without, it is stored as is.
pub(super) fn encode(
    rows: &[u64],
    (n, w): (usize, usize),
    base: Option<&[u64]>,
    is_counter: impl Fn(usize) -> bool,
    out: &mut Vec<i64>,
) {
    for c in 0..w {
        let counter = is_counter(c);
        let mut prev = base.map(|b| b[c] as i64);
        let mut prev_delta = 0i64;
        for i in 0..n {
            let v = rows[i * w + c] as i64;
            let coded = match prev {
                None => v,
                Some(p) => {
                    let delta = v.wrapping_sub(p);
                    let coded = if counter {
                        delta.wrapping_sub(prev_delta)
                    } else {
                        delta
                    };
                    prev_delta = delta;
                    coded
                }
            };
            prev = Some(v);
            out.push(coded);
        }
    }
}

/// Coded columns → postcard varints → deflate.
pub(super) fn pack(columns: &[i64]) -> Vec<u8> {
    let raw = postcard::to_stdvec(columns).expect("a slice of i64 always serializes");
    miniz_oxide::deflate::compress_to_vec(&raw, 6)
}

/// Inverse of [`pack`] then [`encode`]: the rows (row-major) of `n` rows of `w` columns,
/// with the inflated size bounded so corrupt data cannot ask for huge buffers. The varints
/// are read straight into the rows (no column vector between), and the inflater and its
/// output buffer are kept per thread, so a block costs no set-up but its own bytes.
pub(super) fn unpack(
    data: &[u8],
    (n, w): (usize, usize),
    base: Option<&[u64]>,
    is_counter: impl Fn(usize) -> bool,
) -> Result<Vec<u64>, BlockError> {
    let limit = n * w * MAX_VARINT_BYTES + MAX_VARINT_BYTES;
    INFLATER.with_borrow_mut(|inflater| {
        let raw = inflater.inflate(data, limit)?;
        let mut varints = Varints { bytes: raw, at: 0 };
        let len = varints.next()?;
        if len != (n * w) as u64 {
            // What postcard said of such a vector: unreadable, or of the wrong length.
            for _ in 0..len {
                varints.next()?;
            }
            return Err(BlockError::Corrupt(
                "column length does not match count × width",
            ));
        }
        if raw.len() - varints.at < n * w {
            // Each varint is a byte at least: the rows cannot all be there.
            return Err(BlockError::Corrupt("column varints"));
        }
        let mut rows = vec![0u64; n * w];
        for c in 0..w {
            let counter = is_counter(c);
            let mut prev = base.map(|b| b[c] as i64);
            let mut prev_delta = 0i64;
            for i in 0..n {
                let z = varints.next()?;
                let coded = (z >> 1) as i64 ^ -((z & 1) as i64);
                let v = match prev {
                    None => coded,
                    Some(p) => {
                        let delta = if counter {
                            coded.wrapping_add(prev_delta)
                        } else {
                            coded
                        };
                        prev_delta = delta;
                        p.wrapping_add(delta)
                    }
                };
                prev = Some(v);
                rows[i * w + c] = v as u64;
            }
        }
        Ok(rows)
    })
}

thread_local! {
    static INFLATER: std::cell::RefCell<Inflater> = std::cell::RefCell::new(Inflater::default());
}

/// A raw-deflate inflater (libdeflate: a block's whole stream in one call, its Huffman
/// tables built in a fraction of miniz_oxide's time, which a log's thousands of small
/// blocks pay each) and its output buffer, reused from block to block.
struct Inflater {
    state: libdeflater::Decompressor,
    out: Vec<u8>,
}

impl Default for Inflater {
    fn default() -> Self {
        Self {
            state: libdeflater::Decompressor::new(),
            out: Vec::new(),
        }
    }
}

impl Inflater {
    /// Smallest buffer to start with.
    const MIN_BYTES: usize = 4096;
    /// Largest buffer kept for the next block (a normal block inflates to a few kB).
    const KEEP_BYTES: usize = 1 << 20;

    /// The inflated bytes of `data`, or an error if they are more than `limit` or the
    /// stream is damaged or cut short.
    ///
    /// The buffer grows while the stream does not fit (from twice its size, doubling), never
    /// to what a damaged header claims; one grown past [`Self::KEEP_BYTES`] is not kept.
    fn inflate(&mut self, data: &[u8], limit: usize) -> Result<&[u8], BlockError> {
        const BAD: BlockError = BlockError::Corrupt("deflate stream");
        if self.out.len() > Self::KEEP_BYTES {
            self.out = Vec::new();
        }
        let start = data.len().saturating_mul(2).max(Self::MIN_BYTES).min(limit);
        if self.out.len() < start {
            self.out.resize(start, 0);
        }
        loop {
            let len = self.out.len().min(limit);
            match self.state.deflate_decompress(data, &mut self.out[..len]) {
                Ok(at) => return Ok(&self.out[..at]),
                Err(libdeflater::DecompressionError::InsufficientSpace) if len < limit => {
                    self.out.resize(len.saturating_mul(2).min(limit), 0);
                }
                Err(_) => return Err(BAD),
            }
        }
    }
}

/// Postcard's varints (LEB128, at most 10 bytes for a u64), read one by one.
struct Varints<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Varints<'_> {
    /// The next varint; one byte (most of a block's) without a loop.
    #[inline(always)]
    fn next(&mut self) -> Result<u64, BlockError> {
        match self.bytes.get(self.at) {
            Some(&byte) if byte < 0x80 => {
                self.at += 1;
                Ok(u64::from(byte))
            }
            _ => self.next_long(),
        }
    }

    #[inline(never)]
    fn next_long(&mut self) -> Result<u64, BlockError> {
        const BAD: BlockError = BlockError::Corrupt("column varints");
        let mut out = 0u64;
        for i in 0..MAX_VARINT_BYTES {
            let byte = *self.bytes.get(self.at).ok_or(BAD)?;
            self.at += 1;
            out |= u64::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                // The tenth byte holds the top bit only.
                return if i == MAX_VARINT_BYTES - 1 && byte > 1 {
                    Err(BAD)
                } else {
                    Ok(out)
                };
            }
        }
        Err(BAD)
    }
}

#[cfg(test)]
mod tests;
