//! The reader's spans mode, for [`LogIndex`](crate::logread::LogIndex): no entry per
//! sample or power reading, only each block's span, and optionally the decoded sample
//! blocks, taken as reading goes.

use std::sync::Arc;

use super::Current;
use super::LogReader;
use crate::logread::BlockSpan;
use crate::logread::Filter;
use crate::logread::LogError;
use crate::logread::LogItem;
use crate::logread::LogSource;
use crate::logread::Origin;
use crate::sampler::Sample;
use crate::sampler::SampleLayout;

/// The spans of the sample and power blocks read, in reading order.
#[derive(Debug, Default)]
pub(in crate::logread) struct Spans {
    pub samples: Vec<BlockSpan>,
    pub power: Vec<BlockSpan>,
    /// With [`LogReader::keep_sample_blocks`]: the decoded sample blocks with a span, not
    /// taken yet (their boot, layout and samples).
    pub blocks: Option<Vec<SampleBlockRead>>,
}

/// A decoded sample block: its segment's boot, its layout and its samples.
pub type SampleBlockRead = (u64, Arc<SampleLayout>, Vec<Sample>);

impl LogReader {
    /// A reader for [`LogIndex`](super::LogIndex): samples and power readings are not
    /// yielded, but the span of each block holding some the filter keeps is collected
    /// ([`take_spans`](Self::take_spans)); everything else is as [`open`](Self::open).
    pub(in crate::logread) fn open_for_spans(
        source: &LogSource,
        filter: Filter,
    ) -> Result<Self, LogError> {
        let mut reader = Self::open(source, filter)?;
        reader.sink.spans = Some(Spans::default());
        Ok(reader)
    }

    /// In spans mode, also keep each decoded sample block that has a span (all its
    /// samples, as [`LogIndex::samples_in`](super::LogIndex::samples_in) reads them), to
    /// be taken with [`take_sample_blocks`](Self::take_sample_blocks) as reading goes.
    pub(in crate::logread) fn keep_sample_blocks(&mut self) {
        if let Some(spans) = &mut self.sink.spans {
            spans.blocks = Some(Vec::new());
        }
    }

    /// The sample blocks kept since the last call, in reading order.
    pub(in crate::logread) fn take_sample_blocks(&mut self) -> Vec<SampleBlockRead> {
        self.sink
            .spans
            .as_mut()
            .and_then(|s| s.blocks.as_mut())
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The spans collected so far.
    pub(in crate::logread) fn take_spans(&mut self) -> Spans {
        self.sink
            .spans
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Like iterating, calling `after` whenever a piece of the log has been read (so the
    /// sample blocks kept in spans mode can be taken as they come).
    pub(in crate::logread) fn for_each_item(
        &mut self,
        mut f: impl FnMut(LogItem),
        mut after: impl FnMut(&mut Self),
    ) {
        loop {
            while let Some(item) = self.sink.out.pop_front() {
                f(item);
            }
            after(self);
            if !self.advance() {
                break;
            }
        }
        while let Some(item) = self.sink.out.pop_front() {
            f(item);
        }
        after(self);
    }
}

impl Current {
    /// The span of a block's entries at `times` that the filter keeps (`None` if none).
    pub(super) fn span(
        &self,
        origin: &Origin,
        key_offset: u64,
        times: impl Iterator<Item = u64>,
        filter: &Filter,
        segments: usize,
    ) -> Option<BlockSpan> {
        let bounded = filter.since_wall_us.is_some() || filter.until_wall_us.is_some();
        let mut span: Option<BlockSpan> = None;
        for t in times {
            if bounded && !filter.keeps_wall(self.anchors.wall_of(Some(t))) {
                continue;
            }
            match &mut span {
                Some(b) => {
                    b.first_mono_us = b.first_mono_us.min(t);
                    b.last_mono_us = b.last_mono_us.max(t);
                    b.count += 1;
                }
                None => {
                    span = Some(BlockSpan {
                        segment: segments.saturating_sub(1),
                        offset: origin.offset,
                        len: origin.len,
                        seq: origin.seq,
                        key_offset,
                        first_mono_us: t,
                        last_mono_us: t,
                        count: 1,
                    });
                }
            }
        }
        span
    }
}
