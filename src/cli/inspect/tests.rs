use super::*;
use crate::clock::Anchor;
use crate::record::Event;
use crate::record::Record;
use crate::record::SampleBlockBuilder;
use crate::record::SealReason;
use crate::store::HeaderDamage;
use crate::store::SegmentIdent;
use crate::store::Writer;

const S: u64 = 1_000_000;

/// A session of boot "b" anchored at `anchor_s`: a `start` event if `start`, then 20
/// samples 100 ms apart from `from_s` with a 1 s hole after the tenth.
fn session(dir: &std::path::Path, anchor_s: u64, from_s: u64, start: bool) {
    let opts = crate::config::StoreConfig::default().options(dir.to_path_buf());
    let ident = SegmentIdent {
        device_id: "pi".into(),
        boot_id: "b".into(),
        host: "pi".into(),
    };
    let anchor = Anchor {
        mono_us: anchor_s * S,
        wall_unix_us: 1_700_000_000_000_000 + (anchor_s * S) as i64,
    };
    let (mut w, _) = Writer::open(opts, ident, anchor).unwrap();
    if start {
        let kind = EventKind::Start {
            version: "test".into(),
            pid: 1,
            interval_us: 100_000,
        };
        w.append(&Record::Event(Event {
            mono_us: anchor_s * S,
            kind,
        }))
        .unwrap();
    }
    let layout = crate::synth::pi5_layout();
    let mut block = SampleBlockBuilder::new(layout.clone());
    for (i, mut s) in crate::synth::trace(&layout, 20, 1).into_iter().enumerate() {
        let hole = if i >= 10 { S } else { 0 };
        s.mono_us = from_s * S + i as u64 * 100_000 + hole;
        block.push(&s).unwrap();
    }
    w.append(&Record::Samples(block.finish().unwrap())).unwrap();
    w.close(SealReason::Rotated, (from_s + 5) * S).unwrap();
}

/// Outside review (stop 27): a segment rotated from the one before, with no `start` event
/// of its own, counted no gap: the rule came only from a `start` in the segment.
#[test]
fn a_rotated_segment_counts_its_gaps_by_the_rule_of_its_boot() {
    let tmp = tempfile::tempdir().unwrap();
    session(tmp.path(), 10, 11, true);
    session(tmp.path(), 20, 21, false);
    let (summaries, _) = inspect_source(&LogSource::dir(tmp.path())).unwrap();
    let gaps: Vec<(u64, u64)> = summaries
        .iter()
        .map(|s| {
            (
                s["gaps"].as_u64().unwrap(),
                s["largest_gap_ms"].as_u64().unwrap(),
            )
        })
        .collect();
    // Each its own hole (1.1 s); the second also the 7.1 s from the first's last sample
    // (13.9 s) to its first (21 s): the interval between them is the later one's.
    assert_eq!(gaps, [(1, 1100), (2, 7100)]);
}

#[test]
fn an_empty_segment_is_not_said_to_have_its_frames_read() {
    let summary = |bytes: u64, damage: HeaderDamage| {
        summary_text(&serde_json::json!({
            "path": "/s/00000000000000000007.ewlog",
            "bytes": bytes,
            "header_error": damage.to_string(),
        }))
    };
    let empty = summary(0, HeaderDamage::Empty);
    assert!(
        empty.contains("\n  empty (0 bytes), no records in it: created and never written"),
        "{empty}"
    );
    assert!(!empty.contains("frames read"), "{empty}");
    assert!(summary(40, HeaderDamage::Magic).contains(
        "header damaged: magic EDGEWATT\\0 damaged or missing; device, boot and wall \
         times unknown, frames read"
    ));
}

#[test]
fn a_blank_segment_says_it_holds_nothing_and_each_names_its_boot() {
    let text = summary_text(&serde_json::json!({
        "path": "/s/00000000000000000007.ewlog",
        "bytes": 4096,
        "frames": 0,
        "boot": 0,
        "header_error": HeaderDamage::Magic.to_string(),
    }));
    assert!(text.contains(", device ?, boot 0\n"), "{text}");
    assert!(
        text.contains("and no records in it: zero-filled or cut inside its header"),
        "{text}"
    );
    assert!(!text.contains("frames read"), "{text}");
    let text = summary_text(&serde_json::json!({
        "path": "/s/00000000000000000008.ewlog",
        "bytes": 4096,
        "frames": 3,
        "boot": 1,
        "device_id": "pi",
        "boot_id": "b-1",
    }));
    assert!(text.contains(", device pi, boot 1 (b-1)\n"), "{text}");
}
