//! A segment whose header is damaged, between two segments of one boot: of that boot, with
//! their device and the anchor in force while it was written.

use super::*;

/// Flips a bit inside the header's anchor of the segment at `path`.
fn damage_header(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[20] ^= 1;
    std::fs::write(path, &bytes).unwrap();
}

/// A clock step at `mono_us` from the offset of [`anchor`] to `new_offset_us`.
fn step_from_anchor(mono_us: u64, new_offset_us: i64) -> Record {
    Record::Event(Event {
        mono_us,
        kind: EventKind::ClockStep {
            old_offset_us: WALL0,
            new_offset_us,
            wall_unix_us: mono_us as i64 + new_offset_us,
        },
    })
}

/// Three sessions of `boots` (device "pi"), the middle one's header damaged; with
/// `step`, the middle one holds a clock step.
fn three(dir: &Path, boots: [&str; 3], step: bool) -> PathBuf {
    session(dir, "pi", boots[0], S, &[event(2 * S, 0)]);
    let mut middle = vec![key_block(&samples(201 * S, 3, 1)), event(202 * S, 1)];
    if step {
        middle.push(step_from_anchor(203 * S, WALL0 + 3_600 * S as i64));
        middle.push(event(204 * S, 2));
    }
    let damaged = session(dir, "pi", boots[1], 200 * S, &middle);
    session(dir, "pi", boots[2], 400 * S, &[event(402 * S, 3)]);
    damage_header(&damaged);
    damaged
}

fn walls_of_boot(items: &[LogItem], path: &Path) -> Vec<(u64, Wall)> {
    entries(items)
        .iter()
        .filter(|e| e.segment().path == path)
        .map(|e| (e.mono_us.unwrap(), e.wall))
        .collect()
}

#[test]
fn between_two_segments_of_one_boot_it_takes_their_device_boot_and_clock() {
    let tmp = tempfile::tempdir().unwrap();
    let damaged = three(tmp.path(), ["b", "b", "b"], true);
    let (items, damage) = read_all(&LogSource::dir(tmp.path()), Filter::default());
    // Still told as damage, its own header lost.
    assert_eq!(damage.damaged_headers, 1);
    let metas = segments(&items);
    let boots: Vec<u64> = metas.iter().map(|m| m.boot).collect();
    assert_eq!(boots, [0, 0, 0], "one boot");
    assert!(metas[1].header().is_none());
    assert_eq!(
        (metas[1].device_id(), metas[1].boot_id()),
        (Some("pi"), Some("b"))
    );
    // Before its clock step, the offset the step replaced; from it on, the step's.
    let at = |t: u64| Wall::At(WALL0 + t as i64);
    let stepped = |t: u64| Wall::At(WALL0 + (3_600 * S + t) as i64);
    let want = vec![
        (201 * S, at(201 * S)),
        (201 * S + 100_000, at(201 * S + 100_000)),
        (201 * S + 200_000, at(201 * S + 200_000)),
        (202 * S, at(202 * S)),
        (203 * S, stepped(203 * S)),
        (204 * S, stepped(204 * S)),
        (300 * S, stepped(300 * S)),
    ];
    assert_eq!(walls_of_boot(&items, &damaged), want);
    // A device filter now places it.
    let only_pi = Filter {
        devices: vec!["pi".into()],
        ..Filter::default()
    };
    let (items, _) = read_all(&LogSource::dir(tmp.path()), only_pi);
    assert_eq!(walls_of_boot(&items, &damaged).len(), 7);
    // Read from its first seq on, the segment before it unread: the same.
    let first_seq = crate::store::named_first_seq(&damaged).unwrap();
    let from = Filter {
        min_seq: Some(first_seq),
        ..Filter::default()
    };
    let (items, _) = read_all(&LogSource::dir(tmp.path()), from);
    let metas = segments(&items);
    assert_eq!(metas[0].path, damaged);
    assert_eq!(metas[0].device_id(), Some("pi"));
    assert_eq!(metas[0].boot, metas[1].boot);
    assert_eq!(walls_of_boot(&items, &damaged), want);
}

/// With no clock step in it, the next segment's anchor: the one in force when it ended.
#[test]
fn without_a_step_it_takes_the_next_segments_anchor() {
    let tmp = tempfile::tempdir().unwrap();
    let damaged = three(tmp.path(), ["b", "b", "b"], false);
    let (items, _) = read_all(&LogSource::dir(tmp.path()), Filter::default());
    let walls: Vec<Wall> = walls_of_boot(&items, &damaged)
        .into_iter()
        .map(|(_, w)| w)
        .collect();
    let want: Vec<Wall> = [
        201 * S,
        201 * S + 100_000,
        201 * S + 200_000,
        202 * S,
        300 * S,
    ]
    .into_iter()
    .map(|t| Wall::At(WALL0 + t as i64))
    .collect();
    assert_eq!(walls, want);
}

/// Neighbours of two boots, or none after it, or a frame from outside the seqs between
/// its neighbours: nothing proves its boot, and it stays unknown, a boot of its own.
#[test]
fn otherwise_its_device_and_boot_stay_unknown() {
    let unknown = |tmp: &Path| {
        let (items, _) = read_all(&LogSource::dir(tmp), Filter::default());
        let metas = segments(&items);
        let m = metas.iter().find(|m| m.header().is_none()).unwrap();
        let boots: Vec<u64> = metas.iter().map(|m| m.boot).collect();
        (m.device_id().is_none() && m.taken.is_none(), boots)
    };
    let tmp = tempfile::tempdir().unwrap();
    three(tmp.path(), ["b", "b", "c"], false);
    assert_eq!(
        unknown(tmp.path()),
        (true, vec![0, 1, 2]),
        "two boots around it"
    );

    let tmp = tempfile::tempdir().unwrap();
    three(tmp.path(), ["b", "b", "b"], false);
    let next = crate::store::list_segments(tmp.path()).unwrap()[2]
        .path
        .clone();
    std::fs::remove_file(next).unwrap();
    assert_eq!(unknown(tmp.path()), (true, vec![0, 1]), "none after it");

    // Named one seq past its first frame's: not proven written between them.
    let tmp = tempfile::tempdir().unwrap();
    let damaged = three(tmp.path(), ["b", "b", "b"], false);
    let first = crate::store::named_first_seq(&damaged).unwrap();
    let renamed = tmp.path().join(format!("{:020}.ewlog", first + 1));
    std::fs::rename(&damaged, renamed).unwrap();
    assert_eq!(
        unknown(tmp.path()),
        (true, vec![0, 1, 2]),
        "a frame before its name"
    );
}
