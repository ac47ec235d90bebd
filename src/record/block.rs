//! A block of consecutive samples, stored column by column.
//!
//! Codec 1 (the only one): the samples are flattened into rows of integers in the
//! order `tick, mono_us, cpu[0..cpus] × 8 fields, mem × 6, procs × 5, temps_mc,
//! freqs_khz, throttled, valid`; each column is delta-coded (counters twice:
//! delta of delta, so a steady rate becomes zeros); the columns, one after the other,
//! are written as a postcard `Vec<i64>` (zigzag varints) and deflated (RFC 1951).
//! Deltas wrap, so every u64 survives the round trip exactly.

use serde::Deserialize;
use serde::Serialize;
use thiserror::Error;

use crate::sampler::CpuTicks;
use crate::sampler::MemKb;
use crate::sampler::ProcCounters;
use crate::sampler::Sample;
use crate::sampler::SampleLayout;

/// Codec identifier of [`SampleBlock::data`].
pub const CODEC_COLUMNS_DEFLATE: u8 = 1;
/// Upper bound on samples in one block, so a corrupt count cannot ask for huge buffers.
pub const MAX_BLOCK_SAMPLES: u32 = 1 << 20;
const MAX_CPUS: u16 = 1024;
const MAX_VARINT_BYTES: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleBlock {
    pub layout: SampleLayout,
    pub count: u32,
    pub codec: u8,
    pub data: Vec<u8>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BlockError {
    #[error("sample does not fit the block layout (cpus, procs, zones or policies differ)")]
    LayoutMismatch,
    #[error("unknown sample block codec {0} (written by a newer edgewatt?)")]
    UnknownCodec(u8),
    #[error("sample block layout is out of range: {0}")]
    BadLayout(&'static str),
    #[error("sample block data is corrupt: {0}")]
    Corrupt(&'static str),
    #[error("value cannot be stored: {0}")]
    Unrepresentable(&'static str),
}

/// Number of integers in one row for `layout`.
fn width(layout: &SampleLayout) -> usize {
    2 + usize::from(layout.cpus) * CpuTicks::FIELDS
        + MemKb::FIELDS
        + layout.procs.len() * ProcCounters::FIELDS
        + layout.thermal_zones.len()
        + layout.cpufreq.len()
        + 2
}

/// Whether column `c` holds a cumulative counter (coded as delta of delta).
fn is_counter(layout: &SampleLayout, c: usize) -> bool {
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

fn check_layout(layout: &SampleLayout) -> Result<(), BlockError> {
    if layout.cpus > MAX_CPUS {
        return Err(BlockError::BadLayout("more than 1024 cpu lines"));
    }
    if layout.groups() > SampleLayout::MAX_GROUPS {
        return Err(BlockError::BadLayout("more than 64 reading groups"));
    }
    Ok(())
}

fn push_row(row: &mut Vec<u64>, s: &Sample) {
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
}

fn take<const N: usize>(row: &[u64], at: &mut usize) -> [u64; N] {
    let mut out = [0; N];
    out.copy_from_slice(&row[*at..*at + N]);
    *at += N;
    out
}

fn sample_from_row(layout: &SampleLayout, row: &[u64]) -> Sample {
    let mut at = 2;
    let cpu = (0..layout.cpus)
        .map(|_| CpuTicks::from_array(take(row, &mut at)))
        .collect();
    let mem = MemKb::from_array(take(row, &mut at));
    let procs = layout
        .procs
        .iter()
        .map(|_| ProcCounters::from_array(take(row, &mut at)))
        .collect();
    let mut next = || {
        at += 1;
        row[at - 1]
    };
    let temps_mc = layout.thermal_zones.iter().map(|_| next() as i64).collect();
    let freqs_khz = layout.cpufreq.iter().map(|_| next()).collect();
    let throttled = next();
    let valid = next();
    Sample {
        tick: row[0],
        mono_us: row[1],
        cpu,
        mem,
        procs,
        temps_mc,
        freqs_khz,
        throttled,
        valid,
    }
}

/// Collects samples of one layout into a [`SampleBlock`], reusing its buffers.
#[derive(Debug, Default)]
pub struct SampleBlockBuilder {
    layout: SampleLayout,
    rows: Vec<u64>,
    count: u32,
    columns: Vec<i64>,
}

impl SampleBlockBuilder {
    #[must_use]
    pub fn new(layout: SampleLayout) -> Self {
        Self {
            layout,
            ..Self::default()
        }
    }

    #[must_use]
    pub const fn layout(&self) -> &SampleLayout {
        &self.layout
    }

    #[must_use]
    pub const fn len(&self) -> u32 {
        self.count
    }

    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends a sample; it must have this builder's layout.
    pub fn push(&mut self, s: &Sample) -> Result<(), BlockError> {
        if !self.layout.fits(s) {
            return Err(BlockError::LayoutMismatch);
        }
        if self.count >= MAX_BLOCK_SAMPLES {
            return Err(BlockError::BadLayout("block is full"));
        }
        push_row(&mut self.rows, s);
        self.count += 1;
        Ok(())
    }

    /// Encodes the collected samples and empties the builder (the layout stays).
    /// Returns `None` if there were no samples.
    pub fn finish(&mut self) -> Option<SampleBlock> {
        if self.count == 0 {
            return None;
        }
        let n = self.count as usize;
        let w = width(&self.layout);
        self.columns.clear();
        for c in 0..w {
            let counter = is_counter(&self.layout, c);
            let (mut prev, mut prev_delta) = (0i64, 0i64);
            for i in 0..n {
                let v = self.rows[i * w + c] as i64;
                let delta = v.wrapping_sub(prev);
                let coded = if i == 0 {
                    v
                } else if counter {
                    delta.wrapping_sub(prev_delta)
                } else {
                    delta
                };
                if i > 0 {
                    prev_delta = delta;
                }
                prev = v;
                self.columns.push(coded);
            }
        }
        let raw = postcard::to_stdvec(&self.columns).expect("Vec<i64> always serializes");
        let data = miniz_oxide::deflate::compress_to_vec(&raw, 6);
        let block = SampleBlock {
            layout: self.layout.clone(),
            count: self.count,
            codec: CODEC_COLUMNS_DEFLATE,
            data,
        };
        self.rows.clear();
        self.count = 0;
        Some(block)
    }
}

impl SampleBlock {
    /// Decodes the samples of this block.
    pub fn decode(&self) -> Result<Vec<Sample>, BlockError> {
        if self.codec != CODEC_COLUMNS_DEFLATE {
            return Err(BlockError::UnknownCodec(self.codec));
        }
        check_layout(&self.layout)?;
        if self.count == 0 || self.count > MAX_BLOCK_SAMPLES {
            return Err(BlockError::Corrupt("sample count out of range"));
        }
        let n = self.count as usize;
        let w = width(&self.layout);
        let limit = n * w * MAX_VARINT_BYTES + MAX_VARINT_BYTES;
        let raw = miniz_oxide::inflate::decompress_to_vec_with_limit(&self.data, limit)
            .map_err(|_| BlockError::Corrupt("deflate stream"))?;
        let columns: Vec<i64> =
            postcard::from_bytes(&raw).map_err(|_| BlockError::Corrupt("column varints"))?;
        if columns.len() != n * w {
            return Err(BlockError::Corrupt(
                "column length does not match count × width",
            ));
        }
        let mut rows = vec![0u64; n * w];
        for c in 0..w {
            let counter = is_counter(&self.layout, c);
            let (mut prev, mut prev_delta) = (0i64, 0i64);
            for i in 0..n {
                let coded = columns[c * n + i];
                let v = if i == 0 {
                    coded
                } else {
                    let delta = if counter {
                        coded.wrapping_add(prev_delta)
                    } else {
                        coded
                    };
                    prev_delta = delta;
                    prev.wrapping_add(delta)
                };
                prev = v;
                rows[i * w + c] = v as u64;
            }
        }
        Ok(rows
            .chunks_exact(w)
            .map(|row| sample_from_row(&self.layout, row))
            .collect())
    }
}

#[cfg(test)]
mod tests;
