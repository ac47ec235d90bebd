//! The firmware's `get_throttled` is read once per `throttled_interval_us`, not every
//! tick; the samples in between repeat the last reading and its validity.

use edgewatt::record::EventKind;
use edgewatt::sampler::Sample;

use super::*;

const FW: &str = "sys/devices/platform/soc@107c000000/soc@107c000000:firmware/get_throttled";

/// What each tick of a 10 Hz run gave: (tick, throttled bits, valid, a fault listed).
fn run(
    s: &mut Sampler,
    root: &Path,
    ticks: std::ops::Range<u64>,
    writes: &[(u64, &str)],
) -> Vec<(u64, u64, bool, bool)> {
    let bit = s.layout().throttled_bit();
    let mut out = Sample::default();
    let mut seen = Vec::new();
    for tick in ticks {
        if let Some((_, content)) = writes.iter().find(|(t, _)| *t == tick) {
            put(root, FW, content);
        }
        // 10 Hz from 5 s, each tick 0–40 µs late, as real ticks are.
        let mono_us = 5_000_000 + tick * 100_000 + tick % 5 * 10;
        let faulted = s.read(tick, mono_us, &mut out).iter().any(|f| f.bit == bit);
        seen.push((tick, out.throttled, out.is_valid(bit), faulted));
    }
    seen
}

#[test]
fn get_throttled_is_read_once_a_second_and_repeated_in_between() {
    let dir = scratch("pi5");
    let root = dir.path();
    let mut s = sampler(root, vec![], PI5_PAGE);
    // The firmware's bits change at 0.4 s and 1.5 s; the reads are at 0, 1 and 2 s.
    let seen = run(&mut s, root, 0..25, &[(4, "0x0\n"), (15, "20002\n")]);
    for (tick, bits, valid, faulted) in seen {
        let want = match tick {
            0..=9 => 0x50005,
            10..=19 => 0,
            _ => 0x20002,
        };
        assert_eq!((bits, valid, faulted), (want, true, false), "tick {tick}");
    }
}

#[test]
fn a_failed_get_throttled_read_stays_invalid_until_the_next_read_works() {
    let dir = scratch("pi5");
    let root = dir.path();
    let mut s = sampler(root, vec![], PI5_PAGE);
    let seen = run(&mut s, root, 0..45, &[(3, "garbage\n"), (25, "4\n")]);
    for (tick, bits, valid, faulted) in seen {
        let want = match tick {
            // Read at 0 s; the file is bad from 0.3 s, which the read at 1 s finds.
            0..=9 => (0x50005, true, false),
            10 => (0x50005, false, true),
            // Not read: the failure stands, and is not listed again.
            11..=19 => (0x50005, false, false),
            20 => (0x50005, false, true),
            21..=29 => (0x50005, false, false),
            // Fixed at 2.5 s, read at 3 s.
            _ => (4, true, false),
        };
        assert_eq!((bits, valid, faulted), want, "tick {tick}");
    }
    assert_eq!(s.failures(s.layout().throttled_bit()), 0);
    let kinds: Vec<_> = events(&mut s)
        .into_iter()
        .map(|e| match EventKind::from(e.kind) {
            EventKind::ReadRecovered { failures, .. } => format!("recovered after {failures}"),
            k => k.name().to_owned(),
        })
        .collect();
    assert_eq!(kinds, ["read_error", "recovered after 2"]);
}

#[test]
fn an_interval_shorter_than_a_tick_reads_every_tick() {
    let dir = scratch("pi5");
    let root = dir.path();
    let mut o = opts(PI5_PAGE);
    o.throttled_interval_us = 10_000;
    let mut s = Sampler::with_options(Roots::under(root), vec![], o).unwrap();
    let seen = run(&mut s, root, 0..3, &[(1, "1\n"), (2, "2\n")]);
    let bits: Vec<u64> = seen.iter().map(|(_, b, _, _)| *b).collect();
    assert_eq!(bits, [0x50005, 1, 2]);
}
