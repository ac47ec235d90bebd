//! The streaming reader: segments one at a time, frames expanded into entries on demand.

use std::collections::VecDeque;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

use super::anchor::Anchors;
use super::boots::Boots;
use super::source::drop_before;
use super::BlockKind;
use super::DamageCounts;
use super::Entry;
use super::Filter;
use super::LogError;
use super::LogSource;
use super::Origin;
use super::Payload;
use super::RecordKind;
use super::SegmentMeta;
use super::SegmentRef;
use super::Skip;
use super::SkipKind;
use crate::record::Frame;
use crate::record::FrameKind;
use crate::record::PowerBlock;
use crate::record::Record;
use crate::record::SampleBlock;
use crate::record::SampleDecoder;
use crate::store::CorruptReason;
use crate::store::HeaderDamage;
use crate::store::Item;
use crate::store::SegmentHeader;
use crate::store::SegmentReader;

mod frames;
mod spans;

pub use spans::SampleBlockRead;
pub(super) use spans::Spans;

/// What the reader yields, in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum LogItem {
    /// A segment begins (its entries and skips follow).
    Segment(Arc<SegmentMeta>),
    Entry(Entry),
    /// A piece that could not be used; also counted in [`LogReader::damage`].
    Skipped(Skip),
}

/// Streams the entries of a [`LogSource`]; see the module docs for the rule it follows.
///
/// ```no_run
/// use edgewatt::logread::{Filter, LogReader, LogSource, RecordKind};
///
/// let source = LogSource::dir("/var/lib/edgewatt");
/// let mut reader = LogReader::open(&source, Filter::kinds(&[RecordKind::Run]))?;
/// for entry in reader.entries() {
///     println!("{:?} {:?}", entry.wall.us(), entry.run().map(|r| &r.label));
/// }
/// if reader.damage().is_damaged() {
///     eprintln!("skipped: {}", reader.damage().damage_text());
/// }
/// # Ok::<(), edgewatt::logread::LogError>(())
/// ```
#[derive(Debug)]
pub struct LogReader {
    dirs: Vec<PathBuf>,
    segments: std::vec::IntoIter<SegmentRef>,
    filter: Filter,
    current: Option<Current>,
    sink: Sink,
    boots: Boots,
}

/// Where items go before they are yielded, and the running counts.
#[derive(Debug, Default)]
struct Sink {
    out: VecDeque<LogItem>,
    counts: DamageCounts,
    /// Segments begun so far.
    segments: usize,
    /// When set ([`LogReader::open_for_spans`]), sample and power blocks are kept here as
    /// spans instead of being yielded entry by entry.
    spans: Option<Spans>,
}

impl Sink {
    fn skip(&mut self, skip: Skip) {
        self.counts.add(&skip);
        self.out.push_back(LogItem::Skipped(skip));
    }
}

/// The segment being read.
#[derive(Debug)]
struct Current {
    meta: Arc<SegmentMeta>,
    items: std::vec::IntoIter<Item>,
    /// With [`Filter::min_seq`]: for the items still to come (last first), the seq of the
    /// first intact frame at or after each, to place a piece that has no seq of its own.
    next_seqs: Vec<Option<u64>>,
    anchors: Anchors,
    decoder: SampleDecoder,
    /// The layout of the last sample block, shared by the blocks after it that have it (so
    /// a reader of the samples tells them alike by pointer, not by comparing layouts).
    layout: Option<Arc<crate::record::SampleLayout>>,
    /// Offset of the key block of the sample chain being decoded.
    chain_key: Option<u64>,
    /// What the last piece read was.
    last: Last,
}

/// The last piece of a segment, to tell a sealed segment that lost its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Nothing,
    Seal,
    OtherFrame,
    Corrupt(CorruptReason),
}

impl LogReader {
    /// Lists the segments to read. Errors: a state directory cannot be listed. With
    /// [`Filter::min_seq`], segments whose frames all come before it are not read.
    pub fn open(source: &LogSource, filter: Filter) -> Result<Self, LogError> {
        let mut segments = source.segments()?;
        if let Some(min) = filter.min_seq {
            drop_before(&mut segments, min);
        }
        let dirs = match source {
            LogSource::Segment(_) => Vec::new(),
            LogSource::Dirs(d) => d.clone(),
            LogSource::Groups(g) => (0..g.len())
                .map(|i| {
                    source
                        .dir_path(i)
                        .map(Path::to_path_buf)
                        .unwrap_or_default()
                })
                .collect(),
        };
        Ok(Self {
            dirs,
            segments: segments.into_iter(),
            filter,
            current: None,
            sink: Sink::default(),
            boots: Boots::default(),
        })
    }

    /// What was skipped so far.
    #[must_use]
    pub const fn damage(&self) -> &DamageCounts {
        &self.sink.counts
    }

    /// The entries only (skips are still counted in [`damage`](Self::damage)).
    pub fn entries(&mut self) -> impl Iterator<Item = Entry> + '_ {
        self.filter_map(|item| match item {
            LogItem::Entry(e) => Some(e),
            LogItem::Segment(_) | LogItem::Skipped(_) => None,
        })
    }

    fn open_segment(&mut self, seg: SegmentRef) {
        let reader = match SegmentReader::open(&seg.path) {
            Ok(r) => r,
            Err(e) => {
                self.sink.skip(Skip {
                    path: seg.path,
                    offset: 0,
                    len: seg.len_bytes,
                    seq: None,
                    kind: SkipKind::Unreadable {
                        error: e.to_string(),
                    },
                });
                return;
            }
        };
        let (header, blank) = header_of(&reader);
        let meta = Arc::new(SegmentMeta {
            dir: seg.dir.and_then(|i| self.dirs.get(i)).cloned(),
            boot: self.boots.assign(seg.dir, header.as_ref().ok(), blank),
            path: seg.path,
            open: seg.open,
            len_bytes: reader.len_bytes(),
            body_offset: reader.body_offset(),
            header,
        });
        self.sink.out.push_back(LogItem::Segment(Arc::clone(&meta)));
        self.sink.segments += 1;
        if let Err(damage) = meta.header {
            self.sink.skip(Skip {
                path: meta.path.clone(),
                offset: 0,
                len: meta.body_offset,
                seq: None,
                kind: if blank && damage != HeaderDamage::Empty {
                    SkipKind::Blank(damage)
                } else {
                    SkipKind::Header(damage)
                },
            });
        }
        if !self.filter.wants_segment(&meta) {
            return;
        }
        // Blocks and runs the filter drops are not decoded (events carry the clock anchors,
        // and the seal ends the segment: those always are).
        let pass: Vec<FrameKind> = [
            (RecordKind::Sample, FrameKind::Samples),
            (RecordKind::Power, FrameKind::Power),
            (RecordKind::Run, FrameKind::Run),
        ]
        .into_iter()
        .filter(|&(k, _)| !self.filter.wants(k))
        .map(|(_, f)| f)
        .collect();
        let items: Vec<Item> = reader.items().passing(&pass).collect();
        drop(reader);
        let mut next_seqs = Vec::new();
        if self.filter.min_seq.is_some() {
            let mut next = None;
            for item in items.iter().rev() {
                next = match item {
                    Item::Frame { frame, .. } => Some(frame.seq),
                    Item::Unknown { seq, .. } => seq.or(next),
                    Item::Passed { seq, .. } => Some(*seq),
                    Item::Corrupt { .. } => next,
                };
                next_seqs.push(next);
            }
        }
        self.current = Some(Current {
            anchors: Anchors::new(meta.header.as_ref().map(|h| h.anchor).map_err(|d| *d)),
            meta,
            items: items.into_iter(),
            next_seqs,
            decoder: SampleDecoder::new(),
            layout: None,
            chain_key: None,
            last: Last::Nothing,
        });
    }
}

impl Iterator for LogReader {
    type Item = LogItem;

    fn next(&mut self) -> Option<LogItem> {
        loop {
            if let Some(item) = self.sink.out.pop_front() {
                return Some(item);
            }
            if !self.advance() {
                return None;
            }
        }
    }
}

impl LogReader {
    /// Reads one more piece of the current segment (or opens the next segment); `false`
    /// at the end of the log. What it yields is queued for [`Iterator::next`].
    fn advance(&mut self) -> bool {
        if let Some(cur) = &mut self.current {
            if let Some(item) = cur.items.next() {
                cur.expand(item, &self.filter, &mut self.sink);
            } else {
                cur.finish(&mut self.sink);
                self.current = None;
            }
            return true;
        }
        let Some(seg) = self.segments.next() else {
            return false;
        };
        self.open_segment(seg);
        true
    }
}

/// The header of the segment `reader` reads, or why it has none; and whether the segment is
/// blank: no header and no record (empty, zero-filled, cut inside its header), so nothing
/// of the clock, and it does not split a boot. (An intact frame, one of a newer kind too,
/// is a record: as recovery counts.)
fn header_of(reader: &SegmentReader) -> (Result<SegmentHeader, HeaderDamage>, bool) {
    let header = match (reader.header(), reader.header_damage()) {
        (Some(h), _) => Ok(h.clone()),
        (None, damage) => Err(damage.unwrap_or(HeaderDamage::Magic)),
    };
    let blank = header.is_err() && !reader.items().any(|i| i.is_intact());
    (header, blank)
}
