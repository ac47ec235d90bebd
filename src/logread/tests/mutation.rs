//! Random truncation and bit flips: the reader never panics, never yields a record that was
//! not written (nor a wrong wall time), and never loses one without reporting damage.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;

/// A sealed segment with every kind of record (sample chains, power, events with a clock
/// step, a run), its bytes, and what an intact read yields.
struct Written {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

fn written() -> &'static Written {
    static W: OnceLock<Written> = OnceLock::new();
    W.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let opts = crate::config::StoreConfig::default().options(tmp.path().to_path_buf());
        let (mut w, _) = Writer::open(opts, ident("pi", "b"), anchor(S)).unwrap();
        let mut b = SampleBlockBuilder::with_key_every(layout(), 20);
        for (i, chunk) in samples(2 * S, 60, 9).chunks(7).enumerate() {
            for s in chunk {
                b.push(s).unwrap();
            }
            let seq = w.append(&Record::Samples(b.finish().unwrap())).unwrap();
            b.committed(seq);
            let t = chunk[0].mono_us;
            w.append(&power(&[t, t + 300_000])).unwrap();
            w.append(&event(t + 1, i as u64)).unwrap();
            if i == 3 {
                w.append(&clock_step(t + 2, WALL0 + 7_000_000)).unwrap();
                w.append(&run(1, t, t + 400_000)).unwrap();
            }
        }
        let path = w.close(SealReason::Shutdown, 9 * S).unwrap();
        let (items, damage) = read_all(&LogSource::segment(&path), Filter::default());
        assert_eq!(damage, DamageCounts::default());
        Written {
            bytes: std::fs::read(&path).unwrap(),
            entries: entries(&items).into_iter().cloned().collect(),
        }
    })
}

/// What identifies a written record, whatever its segment's header says.
fn key(e: &Entry) -> (u64, u64, Option<u64>, &Payload) {
    (e.origin.offset, e.origin.seq, e.mono_us, &e.payload)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn damage_never_invents_a_record_and_never_hides_a_loss(
        flips in prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 0..5),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let w = written();
        let mut bytes = w.bytes.clone();
        for (at, bit) in &flips {
            let at = at.index(bytes.len());
            bytes[at] ^= 1 << bit;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("00000000000000000000.ewlog");
        std::fs::write(&path, &bytes).unwrap();
        let (items, damage) = read_all(&LogSource::segment(&path), Filter::default());
        let got = entries(&items);
        let mut after_corrupt = false;
        for item in &items {
            let e = match item {
                LogItem::Entry(e) => e,
                LogItem::Skipped(s) => {
                    after_corrupt |= matches!(s.kind, SkipKind::Corrupt(_));
                    continue;
                }
                LogItem::Segment(_) => continue,
            };
            let original = w.entries.iter().find(|o| key(o) == key(e));
            prop_assert!(original.is_some(), "never written: {:?}", e);
            let original = original.unwrap();
            // A wall time is the one it was written with, or unknown; after a corrupt
            // frame (which may have been a clock step) it may miss that step.
            prop_assert!(
                e.wall == original.wall || matches!(e.wall, Wall::Unknown(_)) || after_corrupt
            );
        }
        // The magic's letters are not needed to read a segment (docs/FORMAT.md §2).
        let changed = bytes.len() != w.bytes.len() || bytes[8..] != w.bytes[8..];
        prop_assert_eq!(damage.is_damaged(), changed, "{}", damage.damage_text());
        if got.len() < w.entries.len() {
            prop_assert!(damage.is_damaged());
        }
        for s in skips(&items) {
            prop_assert!(s.offset <= bytes.len() as u64 && s.offset + s.len <= bytes.len() as u64);
        }
    }
}
