//! Boots, wall times, directories, devices and filters on intact logs.

use super::*;

/// Five sessions in one directory: boot a; boot b (the clock restarted); boot b again (a
/// daemon restart: same clock); then two boots both called "unknown" (the boot id could not
/// be read), the second with a clock that restarted.
#[test]
fn boots_follow_ids_and_monotonic_restarts_and_wall_times_their_own_anchor() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let sessions = [
        ("boot-a", 5 * S),
        ("boot-b", S),
        ("boot-b", 9 * S),
        ("unknown", 50 * S),
        ("unknown", 2 * S),
    ];
    for (i, (boot, mono_us)) in sessions.iter().enumerate() {
        let recs = [
            event(mono_us + S, i as u64),
            key_block(&samples(mono_us + 2 * S, 3, 1)),
        ];
        session(dir, "pi-1", boot, *mono_us, &recs);
    }
    let (items, damage) = read_all(&LogSource::dir(dir), Filter::default());
    assert_eq!(damage, DamageCounts::default());
    let boots: Vec<u64> = segments(&items).iter().map(|m| m.boot).collect();
    assert_eq!(boots, [0, 1, 1, 2, 3]);
    for m in segments(&items) {
        assert_eq!(m.dir.as_deref(), Some(dir));
        assert_eq!(m.device_id(), Some("pi-1"));
    }
    // Each entry's wall time is its segment's anchor applied to its monotonic time.
    let all = entries(&items);
    assert_eq!(
        all.len(),
        5 * (1 + 3 + 1),
        "event, 3 samples, seal per session"
    );
    for e in &all {
        let m = e.segment();
        let a = m.header().unwrap().anchor;
        assert_eq!(e.wall, Wall::At(a.wall_of(e.mono_us.unwrap())));
    }
    let first_sample = all
        .iter()
        .find(|e| e.payload.kind() == RecordKind::Sample)
        .unwrap();
    assert_eq!(first_sample.mono_us, Some(7 * S));
    assert_eq!(first_sample.wall, Wall::At(WALL0 + 7_000_000));
    assert_eq!(first_sample.origin.seq, 1);
}

/// An empty segment file between two sessions of one boot (a failed copy; a crash as the
/// segment was opened) does not split the boot: it says nothing of the clock. Split, the
/// runs after it lost their plan's idle lead-in and took a busier baseline, unflagged.
#[test]
fn an_empty_segment_does_not_split_a_boot() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    session(dir, "pi-1", "boot-b", S, &[event(2 * S, 0)]);
    let second = session(dir, "pi-1", "boot-b", 9 * S, &[event(10 * S, 1)]);
    let first_seq: u64 = second.file_name().unwrap().to_str().unwrap()[..20]
        .parse()
        .unwrap();
    std::fs::write(dir.join(format!("{:020}.ewlog", first_seq - 1)), b"").unwrap();
    let (items, _) = read_all(&LogSource::dir(dir), Filter::default());
    let metas = segments(&items);
    assert_eq!(metas.len(), 3);
    assert_eq!(metas[1].len_bytes, 0);
    let boots: Vec<u64> = metas.iter().map(|m| m.boot).collect();
    assert_eq!(boots, [0, 0, 0]);
    // Between sessions of two boots, it takes the first's; the second is a boot of its own.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    session(dir, "pi-1", "boot-b", S, &[event(2 * S, 0)]);
    let second = session(dir, "pi-1", "boot-c", S, &[event(2 * S, 1)]);
    let first_seq: u64 = second.file_name().unwrap().to_str().unwrap()[..20]
        .parse()
        .unwrap();
    std::fs::write(dir.join(format!("{:020}.ewlog", first_seq - 1)), b"").unwrap();
    let (items, _) = read_all(&LogSource::dir(dir), Filter::default());
    let boots: Vec<u64> = segments(&items).iter().map(|m| m.boot).collect();
    assert_eq!(boots, [0, 0, 1]);
}

/// A segment with no header and no record in it says nothing of the clock either: one
/// zero-filled (a power cut after the file's blocks were allocated, before its data was
/// written) or cut inside its header takes the boot before it, as an empty one does. One
/// whose header is damaged but that holds records is a boot of its own: its clock is
/// unknown.
#[test]
fn a_segment_with_no_header_and_no_records_does_not_split_a_boot() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let first = session(dir, "pi-1", "boot-b", S, &[event(2 * S, 0)]);
    let second = session(dir, "pi-1", "boot-b", 9 * S, &[event(10 * S, 1)]);
    let first_seq: u64 = second.file_name().unwrap().to_str().unwrap()[..20]
        .parse()
        .unwrap();
    let between = dir.join(format!("{:020}.ewlog", first_seq - 1));
    let bytes = std::fs::read(&first).unwrap();
    for (what, content) in [
        ("zero-filled", vec![0u8; 4096]),
        ("cut inside its header", bytes[..12].to_vec()),
    ] {
        std::fs::write(&between, &content).unwrap();
        let (items, _) = read_all(&LogSource::dir(dir), Filter::default());
        let metas = segments(&items);
        assert!(metas[1].header.is_err(), "{what}");
        let kinds: Vec<&SkipKind> = skips(&items).iter().map(|s| &s.kind).collect();
        assert!(
            matches!(kinds[..], [SkipKind::Blank(_)]),
            "{what}: {kinds:?}"
        );
        assert!(skips(&items)[0]
            .to_string()
            .contains("no records in it: zero-filled or cut inside its header"));
        let boots: Vec<u64> = metas.iter().map(|m| m.boot).collect();
        assert_eq!(boots, [0, 0, 0], "{what}");
    }
    // A text file named as a segment is named as another kind of file, not as a segment
    // cut or zero-filled (rev-k: "magic damaged ... zero-filled or cut inside its header").
    std::fs::write(&between, "some notes, not a segment\n").unwrap();
    let (items, _) = read_all(&LogSource::dir(dir), Filter::default());
    let said = skips(&items)[0].to_string();
    assert!(
        matches!(
            skips(&items)[0].kind,
            SkipKind::Blank(crate::store::HeaderDamage::Foreign)
        ),
        "{said}"
    );
    assert!(said.contains("not an edgewatt segment"), "{said}");
    assert!(!said.contains("zero-filled"), "{said}");
    let boots: Vec<u64> = segments(&items).iter().map(|m| m.boot).collect();
    assert_eq!(boots, [0, 0, 0]);
    // First of what is read: the boot of the segment after it.
    let source = LogSource::Groups(vec![vec![between.clone(), first.clone(), second.clone()]]);
    let (items, _) = read_all(&source, Filter::default());
    let boots: Vec<u64> = segments(&items).iter().map(|m| m.boot).collect();
    assert_eq!(boots, [0, 0, 0]);
    // First of a second directory: the boot of the segment after it, not the first
    // directory's last (rev-i: inspect named another device's boot for it).
    let other = tempfile::tempdir().unwrap();
    let third = session(other.path(), "pi-2", "boot-x", S, &[event(2 * S, 2)]);
    let blank = other.path().join("00000000000000000000.ewlog");
    std::fs::write(&blank, b"").unwrap();
    let source = LogSource::Groups(vec![
        vec![first.clone(), second.clone()],
        vec![blank, third],
    ]);
    let (items, _) = read_all(&source, Filter::default());
    let boots: Vec<u64> = segments(&items).iter().map(|m| m.boot).collect();
    assert_eq!(boots, [0, 0, 1, 1]);
    // Its records still there (its header frame damaged): a boot of its own, and one after.
    let mut damaged = bytes.clone();
    damaged[12] ^= 0xff;
    std::fs::write(&between, &damaged).unwrap();
    let (items, _) = read_all(&LogSource::dir(dir), Filter::default());
    let boots: Vec<u64> = segments(&items).iter().map(|m| m.boot).collect();
    assert_eq!(boots, [0, 1, 2]);
}

#[test]
fn a_clock_step_re_anchors_what_comes_after_it_in_monotonic_time() {
    let tmp = tempfile::tempdir().unwrap();
    let hour = 3_600_000_000;
    let offset_after = WALL0 + hour; // wall − mono after the step
    session(
        tmp.path(),
        "pi-1",
        "b",
        S,
        &[
            event(2 * S, 0),
            clock_step(3 * S, offset_after),
            event(4 * S, 1),
            // A run logged after the step that started before it keeps the old anchor.
            run(1, 2_500_000, 3_500_000),
        ],
    );
    let (items, _) = read_all(&LogSource::dir(tmp.path()), Filter::default());
    let walls: Vec<Option<i64>> = entries(&items).iter().map(|e| e.wall.us()).collect();
    let before = |m: u64| Some(WALL0 + m as i64);
    let after = |m: u64| Some(offset_after + m as i64);
    assert_eq!(
        walls,
        [
            before(2 * S),
            after(3 * S),
            after(4 * S),
            before(2_500_000),
            after(101 * S)
        ]
    );
}

#[test]
fn several_directories_are_several_devices_and_a_device_filter_picks_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("pi-a"), tmp.path().join("pi-b"));
    // The same boot id in both: still two boots, one per directory.
    session(&a, "pi-a", "boot-x", S, &[event(2 * S, 1)]);
    session(&a, "pi-a", "boot-x", 5 * S, &[event(6 * S, 2)]);
    session(&b, "pi-b", "boot-x", 10 * S, &[event(11 * S, 3)]);
    let fleet = LogSource::dirs([a.clone(), b.clone()]);
    let (items, _) = read_all(&fleet, Filter::default());
    let seen: Vec<(Option<&str>, u64, u64)> = entries(&items)
        .iter()
        .filter_map(|e| {
            let ev = e.event()?;
            Some((e.segment().device_id(), e.segment().boot, ev.mono_us))
        })
        .collect();
    assert_eq!(
        seen,
        [
            (Some("pi-a"), 0, 2 * S),
            (Some("pi-a"), 0, 6 * S),
            (Some("pi-b"), 1, 11 * S)
        ]
    );
    let only_b = Filter {
        devices: vec!["pi-b".into()],
        ..Filter::default()
    };
    let (items, _) = read_all(&fleet, only_b);
    let from: Vec<&Path> = entries(&items)
        .iter()
        .map(|e| e.segment().dir.as_deref().unwrap())
        .collect();
    assert_eq!(from, [b.as_path(), b.as_path()], "its event and its seal");
}

#[test]
fn filters_pick_kinds_wall_times_and_seqs_and_skip_older_segments_unread() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let first = [key_block(&samples(2 * S, 10, 1)), power(&[2 * S, 3 * S])];
    session(dir, "pi", "b", S, &first);
    let second = [
        event(21 * S, 1),
        key_block(&samples(22 * S, 10, 2)),
        run(1, 22 * S, 23 * S),
    ];
    session(dir, "pi", "b", 20 * S, &second);
    // Seqs: 0 samples, 1 power, 2 seal | 3 event, 4 samples, 5 run, 6 seal.
    let source = LogSource::dir(dir);
    let kinds = |k: &[RecordKind]| {
        let (items, _) = read_all(&source, Filter::kinds(k));
        entries(&items)
            .iter()
            .map(|e| e.payload.kind())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(&[RecordKind::Run, RecordKind::Seal]),
        [RecordKind::Seal, RecordKind::Run, RecordKind::Seal]
    );
    assert_eq!(kinds(&[RecordKind::Power]), [RecordKind::Power; 2]);
    assert_eq!(kinds(&[RecordKind::Sample]).len(), 20);

    // Wall time: since inclusive, until exclusive: the samples at 22.3 … 22.6 s.
    let window = Filter {
        kinds: vec![RecordKind::Sample],
        since_wall_us: Some(WALL0 + 22_300_000),
        until_wall_us: Some(WALL0 + 22_700_000),
        ..Filter::default()
    };
    let (items, _) = read_all(&source, window);
    let monos: Vec<u64> = entries(&items).iter().filter_map(|e| e.mono_us).collect();
    assert_eq!(monos, [22_300_000, 22_400_000, 22_500_000, 22_600_000]);

    // From seq 4: the first segment is not even opened.
    let since = Filter {
        min_seq: Some(4),
        ..Filter::default()
    };
    let (items, _) = read_all(&source, since);
    assert_eq!(segments(&items).len(), 1);
    let seqs: Vec<u64> = entries(&items).iter().map(|e| e.origin.seq).collect();
    assert_eq!(seqs.first(), Some(&4));
    assert_eq!(seqs.iter().filter(|&&s| s == 4).count(), 10);
    assert_eq!(&seqs[10..], [5, 6]);
}

#[test]
fn a_lone_segment_is_its_own_boot_and_a_missing_one_is_unreadable() {
    let tmp = tempfile::tempdir().unwrap();
    let path = session(tmp.path(), "pi", "b", S, &[event(2 * S, 1)]);
    let (items, damage) = read_all(&LogSource::segment(&path), Filter::default());
    assert!(!damage.is_damaged());
    let m = segments(&items)[0];
    assert_eq!((m.dir.clone(), m.boot, m.open), (None, 0, false));
    assert_eq!(entries(&items).len(), 2);

    let gone = tmp.path().join("00000000000000000099.ewlog");
    let (items, damage) = read_all(&LogSource::segment(&gone), Filter::default());
    assert_eq!(damage.unreadable_segments, 1);
    assert!(damage.is_damaged());
    let s = skips(&items)[0].to_string();
    assert!(
        s.contains(&gone.display().to_string()) && s.contains("segment skipped"),
        "{s}"
    );
    let missing_dir = LogReader::open(&LogSource::dir(tmp.path().join("nope")), Filter::default());
    let e = missing_dir.unwrap_err().to_string();
    assert!(
        e.starts_with("cannot list segments in") && e.contains("nope"),
        "{e}"
    );
}
