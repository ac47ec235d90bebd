//! An index of the log: one pass keeps the small records and where each block is, then a
//! window's samples or power readings are read again from just the blocks that hold them.

use std::io::Read as _;
use std::io::Seek as _;
use std::io::SeekFrom;
use std::path::Path;
use std::sync::Arc;

use super::DamageCounts;
use super::Entry;
use super::LogError;
use super::SegmentMeta;
use super::Skip;
use crate::derive::Window;
use crate::power::PowerReading;
use crate::record::Event;
use crate::record::Record;
use crate::record::Run;
use crate::record::SampleDecoder;
use crate::sampler::Sample;
use crate::sampler::SampleLayout;
use crate::store::scan_frames;
use crate::store::Item;

mod build;

/// Where a sample or power block is and what time it spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockSpan {
    /// Index into [`LogIndex::segments`].
    pub segment: usize,
    pub offset: u64,
    pub len: u64,
    pub seq: u64,
    /// Where decoding it must start: the key block of its chain (its own offset for a key
    /// block or a power block).
    pub key_offset: u64,
    /// Monotonic time of its first and last sample or reading kept by the filter.
    pub first_mono_us: u64,
    pub last_mono_us: u64,
    pub count: u32,
}

/// Samples read again for a window, and how many bytes of segment files that took.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    pub samples: Vec<(Arc<SampleLayout>, Sample)>,
    pub bytes_read: u64,
}

/// Power readings (with their source label) read again for a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Readings {
    pub readings: Vec<(Arc<str>, PowerReading)>,
    pub bytes_read: u64,
}

/// The log read once: events, seals and runs kept whole, sample and power blocks by
/// position and time span, and everything skipped.
#[derive(Debug, Clone, Default)]
pub struct LogIndex {
    segments: Vec<Arc<SegmentMeta>>,
    sample_blocks: Vec<BlockSpan>,
    power_blocks: Vec<BlockSpan>,
    records: Vec<Entry>,
    skips: Vec<Skip>,
    damage: DamageCounts,
}

impl LogIndex {
    /// The segments read, in order (a [`BlockSpan::segment`] indexes this).
    #[must_use]
    pub fn segments(&self) -> &[Arc<SegmentMeta>] {
        &self.segments
    }

    /// Events, seals and runs, in reading order.
    #[must_use]
    pub fn records(&self) -> &[Entry] {
        &self.records
    }

    /// The runs, in reading order, with their entries (time, boot, origin).
    pub fn runs(&self) -> impl Iterator<Item = (&Entry, &Run)> {
        self.records.iter().filter_map(|e| e.run().map(|r| (e, r)))
    }

    /// The events, in reading order, with their entries.
    pub fn events(&self) -> impl Iterator<Item = (&Entry, &Event)> {
        self.records
            .iter()
            .filter_map(|e| e.event().map(|ev| (e, ev)))
    }

    #[must_use]
    pub fn sample_blocks(&self) -> &[BlockSpan] {
        &self.sample_blocks
    }

    #[must_use]
    pub fn power_blocks(&self) -> &[BlockSpan] {
        &self.power_blocks
    }

    /// Everything skipped while building, in order.
    #[must_use]
    pub fn skips(&self) -> &[Skip] {
        &self.skips
    }

    #[must_use]
    pub const fn damage(&self) -> &DamageCounts {
        &self.damage
    }

    /// The samples of boot `boot` inside `window` (monotonic µs, ends included), read
    /// again from the blocks that overlap it, each segment from the key block of the
    /// first one's chain. Only blocks the index holds are read (its filter's seq and
    /// device bounds apply; its wall-time bounds apply block by block).
    pub fn samples_in(&self, boot: u64, window: Window) -> Result<Samples, LogError> {
        let mut out = Samples::default();
        self.reread(&self.sample_blocks, boot, window, |buf, base, wanted| {
            decode_sample_blocks(buf, base, wanted, |layout, samples| {
                out.samples.extend(
                    samples
                        .into_iter()
                        .filter(|s| window.contains(s.mono_us))
                        .map(|s| (Arc::clone(layout), s)),
                );
            });
            out.bytes_read += buf.len() as u64;
        })?;
        Ok(out)
    }

    /// The power readings of boot `boot` inside `window`, read again from the blocks that
    /// overlap it.
    pub fn power_in(&self, boot: u64, window: Window) -> Result<Readings, LogError> {
        let mut out = Readings::default();
        self.reread(&self.power_blocks, boot, window, |buf, base, wanted| {
            for item in scan_frames(buf, 0) {
                let Item::Frame { offset, frame, .. } = item else {
                    continue;
                };
                let Record::Power(block) = &frame.record else {
                    continue;
                };
                if !wanted(base + offset) {
                    continue;
                }
                let Ok(readings) = block.decode() else {
                    continue;
                };
                let label: Arc<str> = Arc::from(block.label.as_str());
                out.readings.extend(
                    readings
                        .into_iter()
                        .filter(|r| window.contains(r.mono_us))
                        .map(|r| (Arc::clone(&label), r)),
                );
            }
            out.bytes_read += buf.len() as u64;
        })?;
        Ok(out)
    }

    /// Samples and power readings from `lead_in_us` before a run's first phase mark to
    /// `lead_out_us` after its last; `None` for a run with no phase marks.
    pub fn around_run(
        &self,
        entry: &Entry,
        lead_in_us: u64,
        lead_out_us: u64,
    ) -> Result<Option<(Samples, Readings)>, LogError> {
        let Some(run) = entry.run() else {
            return Ok(None);
        };
        let (Some(first), Some(last)) = (run.phases.first(), run.phases.last()) else {
            return Ok(None);
        };
        let window = Window::spanning(
            first.mono_us.saturating_sub(lead_in_us),
            last.mono_us.saturating_add(lead_out_us),
        );
        let boot = entry.segment().boot;
        Ok(Some((
            self.samples_in(boot, window)?,
            self.power_in(boot, window)?,
        )))
    }

    /// Reads, segment by segment, the byte range from the first overlapping block's key
    /// block to the end of the last overlapping block, and hands it to `decode` with its
    /// file offset and a test for the frame offsets that were selected.
    fn reread(
        &self,
        blocks: &[BlockSpan],
        boot: u64,
        window: Window,
        mut decode: impl FnMut(&[u8], u64, &dyn Fn(u64) -> bool),
    ) -> Result<(), LogError> {
        let picked: Vec<&BlockSpan> = blocks
            .iter()
            .filter(|b| {
                self.segments[b.segment].boot == boot
                    && b.first_mono_us <= window.end_us
                    && b.last_mono_us >= window.start_us
            })
            .collect();
        for group in picked.chunk_by(|a, b| a.segment == b.segment) {
            let from = group.iter().map(|b| b.key_offset).min().unwrap_or(0);
            let to = group.iter().map(|b| b.offset + b.len).max().unwrap_or(from);
            let path = &self.segments[group[0].segment].path;
            let buf = read_range(path, from, to)?;
            let wanted = |offset: u64| group.binary_search_by_key(&offset, |b| b.offset).is_ok();
            decode(&buf, from, &wanted);
        }
        Ok(())
    }
}

/// Decodes the sample frames of `buf` (read from file offset `base`) in order, following
/// chains, and hands `f` the layout and samples of each block whose offset is `wanted`.
fn decode_sample_blocks(
    buf: &[u8],
    base: u64,
    wanted: &dyn Fn(u64) -> bool,
    mut f: impl FnMut(&Arc<SampleLayout>, Vec<Sample>),
) {
    let mut decoder = SampleDecoder::new();
    for item in scan_frames(buf, 0) {
        let Item::Frame { offset, frame, .. } = item else {
            continue;
        };
        let Record::Samples(block) = &frame.record else {
            continue;
        };
        let Ok((layout, samples)) = decoder.decode(frame.seq, block) else {
            continue;
        };
        if wanted(base + offset) {
            f(&Arc::new(layout), samples);
        }
    }
}

fn read_range(path: &Path, from: u64, to: u64) -> Result<Vec<u8>, LogError> {
    let err = |source| LogError::Reread {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(err)?;
    f.seek(SeekFrom::Start(from)).map_err(err)?;
    let mut buf = vec![0; usize::try_from(to - from).unwrap_or(0)];
    f.read_exact(&mut buf).map_err(err)?;
    Ok(buf)
}
