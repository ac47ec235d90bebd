//! A block of consecutive power readings of one source, stored column by column.
//!
//! Codec 1, like [`super::SampleBlock`]'s: the readings are flattened into six columns
//! `mono_us, power_uw, bus_uv, current_ua, shunt_uv, flags`; `mono_us` is coded as delta of
//! delta (a steady rate becomes zeros), the others as deltas; the columns, one after the
//! other, are written as a postcard `Vec<i64>` (zigzag varints) and deflated (RFC 1951).
//! A missing optional value (`None`) is stored as `i64::MIN`, which therefore cannot be
//! stored as a value. Deltas wrap, so every value survives the round trip exactly.

use serde::Deserialize;
use serde::Serialize;

use super::block::BlockError;
use super::block::CODEC_COLUMNS_DEFLATE;
use super::block::MAX_BLOCK_SAMPLES;
use super::columns;
use super::reading::PowerReading;
use super::reading::SourceId;

const COLUMNS: usize = 6;
const NONE: i64 = i64::MIN;

/// `mono_us` is a counter (delta of delta); the rest are gauges.
const fn is_counter(c: usize) -> bool {
    c == 0
}

/// Power readings of one source with its label and nominal sampling period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerBlock {
    /// [`SourceId::code`] of the source.
    pub source: u8,
    /// What the source measures and misses, with its configuration (shunt, address, rails).
    pub label: String,
    /// Nominal polling period, µs (1e6 / sample rate).
    pub period_us: u64,
    pub count: u32,
    pub codec: u8,
    pub data: Vec<u8>,
}

fn opt_in(v: Option<i64>) -> Result<i64, BlockError> {
    match v {
        Some(NONE) => Err(BlockError::Unrepresentable(
            "i64::MIN is reserved for a missing value",
        )),
        Some(x) => Ok(x),
        None => Ok(NONE),
    }
}

fn opt_out(v: i64) -> Option<i64> {
    (v != NONE).then_some(v)
}

/// Collects readings of one source into a [`PowerBlock`], reusing its buffers.
#[derive(Debug)]
pub struct PowerBlockBuilder {
    source: SourceId,
    label: String,
    period_us: u64,
    rows: Vec<u64>,
    columns: Vec<i64>,
}

impl PowerBlockBuilder {
    #[must_use]
    pub fn new(source: SourceId, label: impl Into<String>, period_us: u64) -> Self {
        Self {
            source,
            label: label.into(),
            period_us,
            rows: Vec::new(),
            columns: Vec::new(),
        }
    }

    #[must_use]
    pub fn len(&self) -> u32 {
        (self.rows.len() / COLUMNS) as u32
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends a reading; it must come from this builder's source.
    pub fn push(&mut self, r: &PowerReading) -> Result<(), BlockError> {
        if r.source != self.source {
            return Err(BlockError::LayoutMismatch);
        }
        if self.len() >= MAX_BLOCK_SAMPLES {
            return Err(BlockError::BadLayout("block is full"));
        }
        let row = [
            r.mono_us as i64,
            r.power_uw,
            opt_in(r.bus_uv)?,
            opt_in(r.current_ua)?,
            opt_in(r.shunt_uv)?,
            i64::from(r.flags),
        ];
        self.rows.extend(row.iter().map(|&v| v as u64));
        Ok(())
    }

    /// Encodes the collected readings and empties the builder. `None` if there were none.
    pub fn finish(&mut self) -> Option<PowerBlock> {
        if self.rows.is_empty() {
            return None;
        }
        let n = self.rows.len() / COLUMNS;
        self.columns.clear();
        columns::encode(
            &self.rows,
            (n, COLUMNS),
            None,
            is_counter,
            &mut self.columns,
        );
        let block = PowerBlock {
            source: self.source.code(),
            label: self.label.clone(),
            period_us: self.period_us,
            count: n as u32,
            codec: CODEC_COLUMNS_DEFLATE,
            data: columns::pack(&self.columns),
        };
        self.rows.clear();
        Some(block)
    }
}

impl PowerBlock {
    /// The source, if its code is known to this version.
    #[must_use]
    pub const fn source_id(&self) -> Option<SourceId> {
        SourceId::from_code(self.source)
    }

    /// Decodes the readings of this block.
    pub fn decode(&self) -> Result<Vec<PowerReading>, BlockError> {
        if self.codec != CODEC_COLUMNS_DEFLATE {
            return Err(BlockError::UnknownCodec(self.codec));
        }
        let source = self
            .source_id()
            .ok_or(BlockError::Corrupt("unknown power source code"))?;
        if self.count == 0 || self.count > MAX_BLOCK_SAMPLES {
            return Err(BlockError::Corrupt("reading count out of range"));
        }
        let shape = (self.count as usize, COLUMNS);
        let rows = columns::unpack(&self.data, shape, None, is_counter)?;
        // Filled in place: collecting `Result`s would grow the vector by doubling.
        let mut out = Vec::with_capacity(shape.0);
        for row in rows.chunks_exact(COLUMNS) {
            out.push(PowerReading {
                mono_us: row[0],
                source,
                power_uw: row[1] as i64,
                bus_uv: opt_out(row[2] as i64),
                current_ua: opt_out(row[3] as i64),
                shunt_uv: opt_out(row[4] as i64),
                flags: u32::try_from(row[5])
                    .map_err(|_| BlockError::Corrupt("flags out of range"))?,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
