//! One ordered pass over a log's samples that hands each cost row the samples it reads.
//!
//! A row reads the samples of one window of its boot (a run: from the baseline search
//! before it to its lead-out; a plan's lead-in: the lead-in itself), and, for a run whose
//! plan lead-in ended before that window, the lead-in's samples too. Rather than read the
//! log again per row, the sample blocks come once, in reading order (decoded on a second
//! thread while the log is read: [`LogIndex::build_streaming_samples`]): a buffer holds
//! the blocks from the earliest start of the windows still to come (whole decoded blocks,
//! so a sample is never moved or copied), a row is derived as soon as the samples pass its
//! window's end, and the lead-ins rows still need are kept aside. Each sample is decoded
//! once and visited once per row whose window holds it; memory holds the longest window
//! and the lead-ins in use, not the log. The blocks arrive
//! in the same order whatever the threads' timing, so the rows do not depend on it.
//!
//! [`LogIndex::build_streaming_samples`]: crate::logread::LogIndex::build_streaming_samples
//!
//! The samples of a boot are in time order (one monotonic clock, written as sampled), so a
//! window's samples are complete once a later one arrives; the rows get exactly the samples
//! [`LogIndex::samples_in`] would read for them.

use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::sync::Arc;

use crate::derive::Window;
use crate::logread::SampleBlockRead;
use crate::record::Sample;
use crate::record::SampleLayout;

/// What one row reads: the samples of `main` in boot `boot`, after those of `lead_in` (a
/// window before `main`) if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub boot: u64,
    pub lead_in: Option<Window>,
    pub main: Window,
}

impl Need {
    /// What [`LogIndex::samples_in`] is asked for a window `main` and a plan lead-in
    /// `idle`: the lead-in is read on its own when it ends before `main`, joins `main`
    /// when it overlaps it, and is not read when it ends after `main`.
    #[must_use]
    pub fn new(boot: u64, main: Window, idle: Option<Window>) -> Self {
        let mut need = Self {
            boot,
            lead_in: None,
            main,
        };
        if let Some(idle) = idle.filter(|w| w.end_us <= main.end_us) {
            if idle.end_us < main.start_us {
                need.lead_in = Some(idle);
            } else {
                need.main = Window::spanning(main.start_us.min(idle.start_us), main.end_us);
            }
        }
        need
    }
}

/// A row's samples, each with its layout, in time order.
pub type RowSamples<'a, 's> = &'a [(&'s SampleLayout, &'s Sample)];

/// A decoded sample with its block's layout.
type Laid = (Arc<SampleLayout>, Sample);

/// A decoded block (never empty) still in the buffer.
struct Held {
    layout: Arc<SampleLayout>,
    samples: Vec<Sample>,
}

impl Held {
    fn last_us(&self) -> u64 {
        self.samples.last().map_or(0, |s| s.mono_us)
    }
}

/// A lead-in's samples, kept while rows still need them.
struct LeadIn {
    window: Window,
    samples: Vec<Laid>,
    uses: usize,
}

/// The stream's state within one boot.
struct Boot {
    boot: u64,
    /// Rows of this boot not derived yet, by their window's end (then their order).
    pending: Vec<usize>,
    next: usize,
    /// Starts of the windows of the rows not derived yet (a multiset).
    starts: BTreeMap<u64, usize>,
    buffer: VecDeque<Held>,
    /// By start; `lead_ins[first_open..]` may still take samples.
    lead_ins: Vec<LeadIn>,
    first_open: usize,
}

/// Calls `f` with each row's index into `needs` and its samples (lead-in first, then the
/// window's, in reading order), every row exactly once, in no particular order. `blocks`
/// are the sample blocks in reading order, each with its boot, layout and samples.
pub fn for_each_need(
    blocks: impl Iterator<Item = SampleBlockRead>,
    needs: &[Need],
    mut f: impl FnMut(usize, RowSamples<'_, '_>),
) {
    let mut by_boot: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, n) in needs.iter().enumerate() {
        by_boot.entry(n.boot).or_default().push(i);
    }
    let mut done = vec![false; needs.len()];
    let mut cur: Option<Boot> = None;
    for (boot, layout, samples) in blocks {
        if cur.as_ref().is_none_or(|b| b.boot != boot) {
            if let Some(b) = cur.take() {
                b.finish(needs, &mut done, &mut f);
            }
            cur = Some(Boot::new(
                boot,
                by_boot.remove(&boot).unwrap_or_default(),
                needs,
            ));
        }
        if let Some(b) = &mut cur {
            b.push(layout, samples, needs, &mut done, &mut f);
        }
    }
    if let Some(b) = cur.take() {
        b.finish(needs, &mut done, &mut f);
    }
    // Rows of boots without samples.
    for (i, _) in done.iter().enumerate().filter(|(_, d)| !**d) {
        f(i, &[]);
    }
}

impl Boot {
    fn new(boot: u64, mut pending: Vec<usize>, needs: &[Need]) -> Self {
        pending.sort_by_key(|&i| (needs[i].main.end_us, i));
        let mut starts = BTreeMap::new();
        for &i in &pending {
            *starts.entry(needs[i].main.start_us).or_insert(0) += 1;
        }
        // Each lead-in once, by start, with the rows that read it.
        let mut uses: BTreeMap<(u64, u64), usize> = BTreeMap::new();
        for w in pending.iter().filter_map(|&i| needs[i].lead_in) {
            *uses.entry((w.start_us, w.end_us)).or_insert(0) += 1;
        }
        let lead_ins: Vec<LeadIn> = uses
            .into_iter()
            .map(|((start_us, end_us), uses)| LeadIn {
                window: Window::spanning(start_us, end_us),
                samples: Vec::new(),
                uses,
            })
            .collect();
        Self {
            boot,
            pending,
            next: 0,
            starts,
            buffer: VecDeque::new(),
            lead_ins,
            first_open: 0,
        }
    }

    /// Takes a block's samples: copies those inside lead-ins still needed, derives the rows
    /// whose window ends before its last sample, and lets go of the blocks no row to come
    /// reads.
    fn push(
        &mut self,
        layout: Arc<SampleLayout>,
        samples: Vec<Sample>,
        needs: &[Need],
        done: &mut [bool],
        f: &mut impl FnMut(usize, RowSamples<'_, '_>),
    ) {
        let Some(last_us) = samples.last().map(|s| s.mono_us) else {
            return;
        };
        for s in &samples {
            let t = s.mono_us;
            while self.first_open < self.lead_ins.len()
                && self.lead_ins[self.first_open].window.end_us < t
            {
                self.first_open += 1;
            }
            for l in &mut self.lead_ins[self.first_open..] {
                if l.window.start_us > t {
                    break;
                }
                if l.uses > 0 && l.window.contains(t) {
                    l.samples.push((Arc::clone(&layout), s.clone()));
                }
            }
        }
        self.buffer.push_back(Held { layout, samples });
        while let Some(&i) = self.pending.get(self.next) {
            if needs[i].main.end_us >= last_us {
                break;
            }
            self.derive(i, needs, done, f);
        }
        let keep_from = self.starts.keys().next().copied();
        while self
            .buffer
            .front()
            .is_some_and(|b| keep_from.is_none_or(|k| b.last_us() < k))
        {
            self.buffer.pop_front();
        }
    }

    /// Derives the row `i` from what the buffer and its lead-in hold.
    fn derive(
        &mut self,
        i: usize,
        needs: &[Need],
        done: &mut [bool],
        f: &mut impl FnMut(usize, RowSamples<'_, '_>),
    ) {
        self.next += 1;
        let need = needs[i];
        if let Some(n) = self.starts.get_mut(&need.main.start_us) {
            *n -= 1;
            if *n == 0 {
                self.starts.remove(&need.main.start_us);
            }
        }
        let lead_in = need.lead_in.and_then(|w| {
            let at = self
                .lead_ins
                .binary_search_by_key(&(w.start_us, w.end_us), |l| {
                    (l.window.start_us, l.window.end_us)
                });
            at.ok().map(|k| &mut self.lead_ins[k])
        });
        let mut samples: Vec<(&SampleLayout, &Sample)> = Vec::new();
        if let Some(l) = &lead_in {
            samples.extend(l.samples.iter().map(|(l, s)| (&**l, s)));
        }
        let after = samples.last().map_or(0, |(_, s)| s.mono_us + 1);
        let (start, end) = (need.main.start_us, need.main.end_us);
        let first = self.buffer.partition_point(|b| b.last_us() < start);
        for b in self.buffer.range(first..) {
            let from = b.samples.partition_point(|s| s.mono_us < start);
            let inside = b.samples[from..].iter().take_while(|s| s.mono_us <= end);
            samples.extend(
                inside
                    .filter(|s| s.mono_us >= after)
                    .map(|s| (&*b.layout, s)),
            );
            if b.last_us() > end {
                break;
            }
        }
        f(i, &samples);
        done[i] = true;
        if let Some(l) = lead_in {
            l.uses -= 1;
            if l.uses == 0 {
                l.samples = Vec::new();
            }
        }
    }

    /// Derives the rows left at the end of the boot's samples.
    fn finish(
        mut self,
        needs: &[Need],
        done: &mut [bool],
        f: &mut impl FnMut(usize, RowSamples<'_, '_>),
    ) {
        while let Some(&i) = self.pending.get(self.next) {
            self.derive(i, needs, done, f);
        }
    }
}
