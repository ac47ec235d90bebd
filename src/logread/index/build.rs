//! Building the index: the sample and power blocks by a reader of their own on a second
//! thread (decoding them is most of the work), the small records by the caller's, merged
//! into what one reader gives.

use std::sync::mpsc::sync_channel;

use super::LogIndex;
use crate::logread::reader::SampleBlockRead;
use crate::logread::Filter;
use crate::logread::LogError;
use crate::logread::LogItem;
use crate::logread::LogReader;
use crate::logread::LogSource;
use crate::logread::RecordKind;
use crate::logread::Skip;
use crate::logread::SkipKind;

/// Where a skip was met in reading order: segments begun before it, and its offset (an
/// unreadable segment's after everything of the segment before it).
type Place = (usize, u64);

/// Decoded sample blocks handed over at a time, and batches read ahead, at most.
const BATCH_BLOCKS: usize = 32;
const BATCHES_AHEAD: usize = 4;

impl LogIndex {
    /// Reads `source` through `filter`. The blocks are decoded for their time spans; only
    /// the spans are kept. When blocks (samples, power) and small records (events, seals,
    /// runs) are both asked for, the blocks are read on a second thread by a reader of
    /// their own, and the two are merged: the blocks and their skips from one, the rest
    /// from the other, skips in reading order. The result is the same as one reader's.
    pub fn build(source: &LogSource, filter: Filter) -> Result<Self, LogError> {
        let (blocks, records) = (kinds(&filter, true), kinds(&filter, false));
        if blocks.is_empty() || records.is_empty() {
            return Self::build_one(source, filter).map(|(index, _)| index);
        }
        Self::build_split(source, filter, false, |_, _| ()).map(|(index, ())| index)
    }

    /// [`build`](Self::build), handing `consume` every sample block the index holds,
    /// decoded once, in reading order, while they are read: `consume` gets the index of
    /// the small records (events, seals, runs; the sample and power blocks and their skips
    /// are in the index returned) and the sample blocks, each with its boot, layout and
    /// samples. Blocks `consume` leaves are read all the same. Memory holds a few blocks
    /// ahead of it. `filter` must ask for samples and for some of events, seals and runs.
    pub fn build_streaming_samples<R>(
        source: &LogSource,
        filter: Filter,
        consume: impl FnOnce(&Self, &mut dyn Iterator<Item = SampleBlockRead>) -> R,
    ) -> Result<(Self, R), LogError> {
        debug_assert!(
            filter.wants(RecordKind::Sample) && !kinds(&filter, false).is_empty(),
            "samples and small records"
        );
        Self::build_split(source, filter, true, consume)
    }

    fn build_split<R>(
        source: &LogSource,
        filter: Filter,
        keep_blocks: bool,
        consume: impl FnOnce(&Self, &mut dyn Iterator<Item = SampleBlockRead>) -> R,
    ) -> Result<(Self, R), LogError> {
        let blocks_only = Filter {
            kinds: kinds(&filter, true),
            ..filter.clone()
        };
        let records_only = Filter {
            kinds: kinds(&filter, false),
            ..filter
        };
        std::thread::scope(|scope| {
            let (tx, rx) = sync_channel::<Vec<SampleBlockRead>>(BATCHES_AHEAD);
            let samples = scope.spawn(move || {
                let mut reader = LogReader::open_for_spans(source, blocks_only)?;
                if keep_blocks {
                    reader.keep_sample_blocks();
                }
                let mut batch = Vec::new();
                let built = Self::collect(&mut reader, |reader| {
                    batch.extend(reader.take_sample_blocks());
                    if batch.len() >= BATCH_BLOCKS {
                        // Fails only when the receiver is gone (the caller panicked).
                        let _ = tx.send(std::mem::take(&mut batch));
                    }
                });
                let _ = tx.send(batch);
                Ok::<_, LogError>(built)
            });
            let main = Self::build_one(source, records_only);
            let out = main
                .as_ref()
                .ok()
                .map(|(index, _)| consume(index, &mut rx.iter().flatten()));
            // Whatever `consume` left: the reader ends only once its blocks are taken.
            for _ in rx {}
            let samples = samples
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            let ((mut index, places), (blocks, block_places)) = (main?, samples?);
            index.sample_blocks = blocks.sample_blocks;
            index.power_blocks = blocks.power_blocks;
            index.merge_block_skips(places, blocks.skips, block_places);
            Ok((index, out.expect("consumed when the main reader succeeded")))
        })
    }

    /// [`build`](Self::build) with one reader, and the place of each skip.
    pub(in crate::logread) fn build_one(
        source: &LogSource,
        filter: Filter,
    ) -> Result<(Self, Vec<Place>), LogError> {
        let mut reader = LogReader::open_for_spans(source, filter)?;
        Ok(Self::collect(&mut reader, |_| ()))
    }

    /// Everything `reader` yields, calling `after` whenever it has read a piece of the log.
    fn collect(
        reader: &mut LogReader,
        mut after: impl FnMut(&mut LogReader),
    ) -> (Self, Vec<Place>) {
        let mut index = Self::default();
        let mut places = Vec::new();
        reader.for_each_item(
            |item| match item {
                LogItem::Segment(meta) => index.segments.push(meta),
                LogItem::Skipped(skip) => {
                    let offset = match skip.kind {
                        SkipKind::Unreadable { .. } => u64::MAX,
                        _ => skip.offset,
                    };
                    places.push((index.segments.len(), offset));
                    index.skips.push(skip);
                }
                LogItem::Entry(e) => index.records.push(e),
            },
            &mut after,
        );
        let spans = reader.take_spans();
        index.sample_blocks = spans.samples;
        index.power_blocks = spans.power;
        index.damage = *reader.damage();
        (index, places)
    }

    /// Adds the skips only the blocks' reader reports, in reading order, and counts the
    /// damage again: its block skips, and the frames it found undecodable that the other
    /// reader passed over undecoded (sample and power frames). Every other skip both
    /// readers report.
    fn merge_block_skips(&mut self, places: Vec<Place>, blocks: Vec<Skip>, at: Vec<Place>) {
        let unknown_here: std::collections::HashSet<Place> = self
            .skips
            .iter()
            .zip(&places)
            .filter(|(s, _)| s.kind == SkipKind::Unknown)
            .map(|(_, p)| *p)
            .collect();
        let sample_skips = blocks.into_iter().zip(at).filter(|(s, p)| match s.kind {
            SkipKind::Block { .. } => true,
            SkipKind::Unknown => !unknown_here.contains(p),
            _ => false,
        });
        let mut merged = Vec::new();
        let mut main = std::mem::take(&mut self.skips)
            .into_iter()
            .zip(places)
            .peekable();
        for (skip, place) in sample_skips {
            while let Some((s, _)) = main.next_if(|(_, p)| *p <= place) {
                merged.push(s);
            }
            merged.push(skip);
        }
        merged.extend(main.map(|(s, _)| s));
        self.damage = merged.iter().collect();
        self.skips = merged;
    }
}

/// The kinds `filter` wants that are blocks (samples, power), or those that are not.
fn kinds(filter: &Filter, blocks: bool) -> Vec<RecordKind> {
    RecordKind::ALL
        .into_iter()
        .filter(|&k| matches!(k, RecordKind::Sample | RecordKind::Power) == blocks)
        .filter(|&k| filter.wants(k))
        .collect()
}
