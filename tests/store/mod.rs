//! The record store on real files: damage, recovery, rotation, retention, lock, faults.

mod damage;
mod fault;
mod writer;

use std::path::Path;

use edgewatt::clock::Anchor;
use edgewatt::config::StoreConfig;
use edgewatt::record::Event;
use edgewatt::record::EventKind;
use edgewatt::record::Frame;
use edgewatt::record::Record;
use edgewatt::record::SampleBlockBuilder;
use edgewatt::store::Item;
use edgewatt::store::SegmentIdent;
use edgewatt::store::SegmentReader;
use edgewatt::store::StoreOptions;
use edgewatt::synth;

const WALL0_US: i64 = 1_700_000_000_000_000;

fn opts(dir: &Path) -> StoreOptions {
    StoreConfig::default().options(dir.to_path_buf())
}

fn ident() -> SegmentIdent {
    SegmentIdent {
        device_id: "dev-1".into(),
        boot_id: "boot-a".into(),
        host: "pi5".into(),
    }
}

fn anchor(mono_us: u64) -> Anchor {
    Anchor {
        mono_us,
        wall_unix_us: WALL0_US + mono_us as i64,
    }
}

/// An event whose frame length does not depend on `n` (for n < 128).
fn event(n: u64) -> Record {
    Record::Event(Event {
        mono_us: 1_000_000 + n,
        kind: EventKind::SamplerLate {
            tick: n,
            late_us: 2_500,
            missed: 0,
        },
    })
}

/// A block of `n` synthetic Pi 5 samples.
fn samples(n: usize, seed: u64) -> Record {
    let layout = synth::pi5_layout();
    let mut b = SampleBlockBuilder::new(layout.clone());
    for s in synth::trace(&layout, n, seed) {
        b.push(&s).unwrap();
    }
    Record::Samples(b.finish().unwrap())
}

/// Every item of a segment file.
fn items(path: &Path) -> Vec<Item> {
    SegmentReader::open(path).unwrap().items().collect()
}

/// The decoded frames of a segment file, asserting there is nothing else in it.
fn frames(path: &Path) -> Vec<Frame> {
    items(path)
        .into_iter()
        .map(|item| match item {
            Item::Frame { frame, .. } => frame,
            other => panic!("{}: unexpected {other:?}", path.display()),
        })
        .collect()
}
