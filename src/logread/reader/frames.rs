//! One segment's pieces expanded into what the reader yields: frames into entries, sample
//! and power blocks decoded (or kept as spans), damage into skips.

use super::*;

impl Current {
    fn skip(&self, sink: &mut Sink, offset: u64, len: u64, seq: Option<u64>, kind: SkipKind) {
        sink.skip(Skip {
            path: self.meta.path.clone(),
            offset,
            len,
            seq,
            kind,
        });
    }

    /// Whether a piece without a seq could be a frame the filter wants: unless the seq of
    /// the next intact frame (`next_seq`) shows it comes before [`Filter::min_seq`].
    fn wanted_unseqd(filter: &Filter, next_seq: Option<u64>) -> bool {
        filter
            .min_seq
            .is_none_or(|min| next_seq.is_none_or(|n| n > min))
    }

    /// A sealed segment must end with its seal: one that ends after another intact frame
    /// (or, with an intact header, has no frame at all) was cut at a frame boundary, and one
    /// that ends in a frame without its closing `0x00` was cut inside a frame (the torn piece
    /// is told as corrupt bytes, and the cut as a truncation: all after it is gone).
    pub(super) fn finish(&self, sink: &mut Sink) {
        let cut = match self.last {
            Last::OtherFrame | Last::Corrupt(CorruptReason::Unterminated) => true,
            Last::Nothing => self.meta.header.is_ok(),
            Last::Seal | Last::Corrupt(_) => false,
        };
        if cut && !self.meta.open {
            let end = self.meta.len_bytes;
            self.skip(sink, end, 0, None, SkipKind::Truncated);
        }
    }

    pub(super) fn expand(&mut self, item: Item, filter: &Filter, sink: &mut Sink) {
        let next_seq = self.next_seqs.pop().flatten();
        self.last = match &item {
            Item::Frame { frame, .. } if matches!(frame.record, Record::Seal(_)) => Last::Seal,
            Item::Frame { .. } | Item::Unknown { .. } | Item::Passed { .. } => Last::OtherFrame,
            // Bytes after the seal are no cut: the segment was sealed whole (rev-d).
            Item::Corrupt { .. } if matches!(self.last, Last::Seal) => Last::Seal,
            Item::Corrupt { reason, .. } => Last::Corrupt(*reason),
        };
        match item {
            Item::Frame { offset, len, frame } => self.frame(offset, len, frame, filter, sink),
            Item::Corrupt {
                offset,
                len,
                reason,
            } => {
                if !Self::wanted_unseqd(filter, next_seq) {
                    return;
                }
                let kind = if reason == CorruptReason::Unterminated && self.meta.open {
                    SkipKind::LiveTail
                } else {
                    SkipKind::Corrupt(reason)
                };
                self.skip(sink, offset, len, None, kind);
            }
            // A kind the filter does not want (see `LogReader::open_segment`).
            Item::Passed { .. } => {}
            Item::Unknown { offset, len, seq } => {
                let wanted = seq.map_or_else(
                    || Self::wanted_unseqd(filter, next_seq),
                    |s| filter.wants_seq(s),
                );
                if wanted {
                    self.skip(sink, offset, len, seq, SkipKind::Unknown);
                }
            }
        }
    }

    fn frame(&mut self, offset: u64, len: u64, frame: Frame, filter: &Filter, sink: &mut Sink) {
        let seq = frame.seq;
        let origin = Origin {
            segment: Arc::clone(&self.meta),
            offset,
            len,
            seq,
        };
        let wanted = filter.wants_seq(seq);
        match frame.record {
            Record::Samples(block) => self.sample_block(&origin, wanted, &block, filter, sink),
            Record::Power(block) => {
                if filter.wants(RecordKind::Power) && wanted {
                    self.power_block(&origin, &block, filter, sink);
                }
            }
            Record::Event(e) => {
                self.anchors.see(&e);
                if wanted && filter.wants(RecordKind::Event) {
                    push(&origin, Payload::Event(e), &self.anchors, filter, sink);
                }
            }
            Record::Seal(s) => {
                if wanted && filter.wants(RecordKind::Seal) {
                    push(&origin, Payload::Seal(s), &self.anchors, filter, sink);
                }
            }
            Record::Run(r) => {
                if wanted && filter.wants(RecordKind::Run) {
                    push(&origin, Payload::Run(r), &self.anchors, filter, sink);
                }
            }
        }
    }

    /// A sample block: decoded whenever samples are asked for (a chain needs every block),
    /// its samples yielded when its seq is wanted.
    fn sample_block(
        &mut self,
        origin: &Origin,
        wanted: bool,
        block: &SampleBlock,
        filter: &Filter,
        sink: &mut Sink,
    ) {
        if !filter.wants(RecordKind::Sample) {
            return;
        }
        let (offset, len, seq) = (origin.offset, origin.len, origin.seq);
        if block.is_key() {
            self.chain_key = Some(offset);
        }
        match self.decoder.decode(seq, block) {
            Ok((layout, samples)) if wanted => {
                let layout = match &self.layout {
                    Some(last) if **last == layout => Arc::clone(last),
                    _ => Arc::clone(self.layout.insert(Arc::new(layout))),
                };
                let key_offset = self.chain_key.unwrap_or(offset);
                if let Some(spans) = &mut sink.spans {
                    let times = samples.iter().map(|s| s.mono_us);
                    let span = self.span(origin, key_offset, times, filter, sink.segments);
                    if let (Some(_), Some(blocks)) = (&span, &mut spans.blocks) {
                        blocks.push((self.meta.boot, layout, samples));
                    }
                    spans.samples.extend(span);
                    return;
                }
                for sample in samples {
                    let payload = Payload::Sample {
                        layout: Arc::clone(&layout),
                        sample: Box::new(sample),
                        key_offset,
                    };
                    push(origin, payload, &self.anchors, filter, sink);
                }
            }
            Ok(_) => {}
            Err(e) if wanted => {
                let kind = SkipKind::Block {
                    kind: BlockKind::Sample,
                    why: e.into(),
                    records: block.count,
                };
                self.skip(sink, offset, len, Some(seq), kind);
            }
            Err(_) => {}
        }
    }

    /// A power block: its readings, or one skip when it does not decode.
    fn power_block(
        &mut self,
        origin: &Origin,
        block: &PowerBlock,
        filter: &Filter,
        sink: &mut Sink,
    ) {
        match block.decode() {
            Ok(readings) if sink.spans.is_some() => {
                let times = readings.iter().map(|r| r.mono_us);
                let span = self.span(origin, origin.offset, times, filter, sink.segments);
                if let Some(spans) = &mut sink.spans {
                    spans.power.extend(span);
                }
            }
            Ok(readings) => {
                let label: Arc<str> = Arc::from(block.label.as_str());
                for reading in readings {
                    let payload = Payload::Power {
                        label: Arc::clone(&label),
                        period_us: block.period_us,
                        reading,
                    };
                    push(origin, payload, &self.anchors, filter, sink);
                }
            }
            Err(e) => {
                let kind = SkipKind::Block {
                    kind: BlockKind::Power,
                    why: e.into(),
                    records: block.count,
                };
                self.skip(sink, origin.offset, origin.len, Some(origin.seq), kind);
            }
        }
    }
}

/// Queues the entry of `payload` from `origin`, dated by `anchors`, if the filter keeps it.
fn push(origin: &Origin, payload: Payload, anchors: &Anchors, filter: &Filter, sink: &mut Sink) {
    let mono_us = payload.mono_us();
    let entry = Entry {
        origin: origin.clone(),
        mono_us,
        wall: anchors.wall_of(mono_us),
        payload,
    };
    if filter.keeps(&entry) {
        sink.out.push_back(LogItem::Entry(entry));
    }
}
