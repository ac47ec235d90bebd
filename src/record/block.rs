//! A block of consecutive samples, stored column by column.
//!
//! A **key block** carries the layout and stores its first sample whole. A
//! **continuation** names the frame (by seq) of the block before it, has that block's
//! layout, and codes its first sample against that block's last one — so the daemon can
//! write small blocks at every fsync without paying for a whole first sample and the
//! layout each time. A key block starts every segment, every layout change, every
//! restart, and at least every `key_every` samples, which bounds what one corrupt frame
//! can take with it.
//!
//! Codec 1 (the only one): samples are flattened into rows of integers in the order
//! `tick, mono_us, cpu[0..cpus] × 8 fields, mem × 6, procs × 5, temps_mc, freqs_khz,
//! throttled, valid`, with the aggregate cpu line stored as its residual against the sum
//! of the per-core lines; each column is delta-coded (counters twice: delta of delta, so
//! a steady rate becomes zeros); the columns, one after the other, are written as a
//! postcard `Vec<i64>` (zigzag varints) and deflated (RFC 1951). Deltas wrap, so every
//! u64 survives the round trip exactly.

use serde::Deserialize;
use serde::Serialize;
use thiserror::Error;

use super::columns;
use super::sample::Sample;
use super::sample::SampleLayout;

/// Codec identifier of [`SampleBlock::data`].
pub const CODEC_COLUMNS_DEFLATE: u8 = 1;
/// Upper bound on samples in one block, so a corrupt count cannot ask for huge buffers.
pub const MAX_BLOCK_SAMPLES: u32 = 1 << 20;
const MAX_CPUS: u16 = 1024;

/// What a block's first sample is coded against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockBase {
    /// A key block: the layout; the first sample is stored whole.
    Key(SampleLayout),
    /// A continuation of the block in frame `seq`: same layout, first sample coded
    /// against that block's last.
    After { seq: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleBlock {
    pub base: BlockBase,
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
    #[error(
        "sample block continues the block of frame {base_seq}, which was not read (corrupt, \
         lost or deleted): its samples are unreadable up to the next key block"
    )]
    MissingBase { base_seq: u64 },
    #[error("value not representable in a block: {0}")]
    Unrepresentable(&'static str),
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

/// The last row of a finished block, for the next block to continue from.
#[derive(Debug, Clone)]
struct ChainEnd {
    last_row: Vec<u64>,
    since_key: u32,
}

/// Collects samples of one layout into [`SampleBlock`]s, reusing its buffers.
///
/// After writing a block, tell the builder its frame's seq with [`committed`]; only a
/// committed block is continued. [`force_key`] makes the next block a key block.
///
/// [`committed`]: SampleBlockBuilder::committed
/// [`force_key`]: SampleBlockBuilder::force_key
#[derive(Debug, Default)]
pub struct SampleBlockBuilder {
    layout: SampleLayout,
    rows: Vec<u64>,
    count: u32,
    columns: Vec<i64>,
    key_every: u32,
    chain: Option<(u64, ChainEnd)>,
    finished: Option<ChainEnd>,
}

impl SampleBlockBuilder {
    /// A builder whose every block is a key block.
    #[must_use]
    pub fn new(layout: SampleLayout) -> Self {
        Self::with_key_every(layout, 0)
    }

    /// A builder that continues committed blocks until `key_every` samples have been
    /// written since the last key block.
    #[must_use]
    pub fn with_key_every(layout: SampleLayout, key_every: u32) -> Self {
        Self {
            layout,
            key_every,
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
        columns::push_row(&self.layout, &mut self.rows, s);
        self.count += 1;
        Ok(())
    }

    /// The block just returned by [`finish`](Self::finish) was written as frame `seq`.
    pub fn committed(&mut self, seq: u64) {
        self.chain = self.finished.take().map(|end| (seq, end));
    }

    /// The next block is a key block (new segment, lost frame, …).
    pub fn force_key(&mut self) {
        self.chain = None;
        self.finished = None;
    }

    /// Encodes the collected samples and empties the builder (the layout stays).
    /// Returns `None` if there were no samples.
    pub fn finish(&mut self) -> Option<SampleBlock> {
        if self.count == 0 {
            return None;
        }
        let n = self.count as usize;
        let w = columns::sample_width(&self.layout);
        let chain = self
            .chain
            .take()
            .filter(|(_, end)| end.since_key < self.key_every);
        let (base, base_row, since_key) = match &chain {
            Some((seq, end)) => (
                BlockBase::After { seq: *seq },
                Some(end.last_row.as_slice()),
                end.since_key.saturating_add(self.count),
            ),
            None => (BlockBase::Key(self.layout.clone()), None, self.count),
        };
        self.columns.clear();
        let layout = &self.layout;
        let counter = |c| columns::sample_is_counter(layout, c);
        columns::encode(&self.rows, (n, w), base_row, counter, &mut self.columns);
        let data = columns::pack(&self.columns);
        self.finished = Some(ChainEnd {
            last_row: self.rows[(n - 1) * w..].to_vec(),
            since_key,
        });
        self.rows.clear();
        self.count = 0;
        Some(SampleBlock {
            base,
            count: n as u32,
            codec: CODEC_COLUMNS_DEFLATE,
            data,
        })
    }
}

impl SampleBlock {
    /// Whether this block can be decoded on its own.
    #[must_use]
    pub const fn is_key(&self) -> bool {
        matches!(self.base, BlockBase::Key(_))
    }

    /// Decodes a key block on its own (a continuation needs a [`SampleDecoder`]).
    pub fn decode(&self) -> Result<Vec<Sample>, BlockError> {
        SampleDecoder::default()
            .decode(u64::MAX, self)
            .map(|(_, samples)| samples)
    }

    /// The stored rows, given the base row of a continuation.
    fn rows(&self, layout: &SampleLayout, base: Option<&[u64]>) -> Result<Vec<u64>, BlockError> {
        if self.codec != CODEC_COLUMNS_DEFLATE {
            return Err(BlockError::UnknownCodec(self.codec));
        }
        check_layout(layout)?;
        if self.count == 0 || self.count > MAX_BLOCK_SAMPLES {
            return Err(BlockError::Corrupt("sample count out of range"));
        }
        let shape = (self.count as usize, columns::sample_width(layout));
        let counter = |c| columns::sample_is_counter(layout, c);
        columns::unpack(&self.data, shape, base, counter)
    }
}

/// Decodes the sample blocks of a stream of frames in order, following continuations.
#[derive(Debug, Default)]
pub struct SampleDecoder {
    /// Seq, layout and last stored row of the last block decoded.
    last: Option<(u64, SampleLayout, Vec<u64>)>,
}

impl SampleDecoder {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes the block of frame `seq`: its layout and samples.
    pub fn decode(
        &mut self,
        seq: u64,
        block: &SampleBlock,
    ) -> Result<(SampleLayout, Vec<Sample>), BlockError> {
        let (layout, base_row) = match &block.base {
            BlockBase::Key(layout) => (layout.clone(), None),
            BlockBase::After { seq: base_seq } => match self.last.take() {
                Some((s, layout, row)) if s == *base_seq => (layout, Some(row)),
                _ => {
                    return Err(BlockError::MissingBase {
                        base_seq: *base_seq,
                    })
                }
            },
        };
        let result = block.rows(&layout, base_row.as_deref());
        let mut rows = match result {
            Ok(rows) => rows,
            Err(e) => {
                self.last = None;
                return Err(e);
            }
        };
        let w = columns::sample_width(&layout);
        let last_row = rows[rows.len() - w..].to_vec();
        let samples = rows
            .chunks_exact_mut(w)
            .map(|row| columns::sample_from_row(&layout, row))
            .collect();
        let out = layout.clone();
        self.last = Some((seq, layout, last_row));
        Ok((out, samples))
    }
}

#[cfg(test)]
mod tests;
