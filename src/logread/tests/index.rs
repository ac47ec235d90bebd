//! The index: runs and events kept, a run's samples and power readings read again from
//! just the blocks around it.

use super::*;
use crate::derive::Window;

/// 60 s of samples in 1 s blocks (a key block every 10 s) and power readings every 0.5 s,
/// with two runs, in one segment.
fn long_session(dir: &Path) -> PathBuf {
    let opts = crate::config::StoreConfig::default().options(dir.to_path_buf());
    let (mut w, _) = Writer::open(opts, ident("pi", "b"), anchor(S)).unwrap();
    let all = samples(2 * S, 600, 5);
    let mut b = SampleBlockBuilder::with_key_every(layout(), 100);
    for (i, chunk) in all.chunks(10).enumerate() {
        for s in chunk {
            b.push(s).unwrap();
        }
        let seq = w.append(&Record::Samples(b.finish().unwrap())).unwrap();
        b.committed(seq);
        let t = chunk[0].mono_us;
        w.append(&power(&[t, t + 500_000])).unwrap();
        match i {
            25 => w.append(&run(1, 20 * S, 25 * S)).unwrap(),
            45 => w.append(&run(2, 40 * S, 45 * S)).unwrap(),
            _ => 0,
        };
    }
    w.close(SealReason::Shutdown, 70 * S).unwrap()
}

#[test]
fn a_runs_samples_and_power_come_from_the_blocks_around_it_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let path = long_session(tmp.path());
    let source = LogSource::dir(tmp.path());
    let index = LogIndex::build(&source, Filter::default()).unwrap();
    assert_eq!(index.sample_blocks().len(), 60);
    assert_eq!(index.power_blocks().len(), 60);
    assert_eq!(index.damage(), &DamageCounts::default());
    let runs: Vec<(&Entry, u64)> = index.runs().map(|(e, r)| (e, r.run_id)).collect();
    assert_eq!(runs.iter().map(|r| r.1).collect::<Vec<_>>(), [1, 2]);
    let block = index.sample_blocks()[15];
    assert_eq!(
        (block.first_mono_us, block.last_mono_us, block.count),
        (17 * S, 17_900_000, 10)
    );
    assert_eq!(block.key_offset, index.sample_blocks()[10].offset);

    let (all, _) = read_all(&source, Filter::default());
    let all = entries(&all);
    for (entry, _) in &runs {
        let (samples, power) = index.around_run(entry, 3 * S, S).unwrap().unwrap();
        let start = entry.mono_us.unwrap();
        let end = entry.run().unwrap().phases.last().unwrap().mono_us;
        let window = Window::new(start - 3 * S, end + S).unwrap();
        let want: Vec<&Sample> = all
            .iter()
            .filter_map(|e| match &e.payload {
                Payload::Sample { sample, .. } if window.contains(sample.mono_us) => {
                    Some(&**sample)
                }
                _ => None,
            })
            .collect();
        let got: Vec<&Sample> = samples.samples.iter().map(|(_, s)| s).collect();
        assert_eq!(got, want);
        assert_eq!(got.len(), 91, "17 s … 26 s at 10 Hz");
        let want_power: Vec<&PowerReading> = all
            .iter()
            .filter_map(|e| match &e.payload {
                Payload::Power { reading, .. } if window.contains(reading.mono_us) => Some(reading),
                _ => None,
            })
            .collect();
        let got_power: Vec<&PowerReading> = power.readings.iter().map(|(_, r)| r).collect();
        assert_eq!(got_power, want_power);
        assert_eq!(got_power.len(), 19);
        // From the key block at 10 s (or 30 s) to the block at 26 s (or 46 s): a fraction
        // of the file.
        let file = std::fs::metadata(&path).unwrap().len();
        assert!(
            samples.bytes_read * 2 < file,
            "{} of {file}",
            samples.bytes_read
        );
    }
    assert!(
        index
            .samples_in(7, Window::new(0, u64::MAX).unwrap())
            .unwrap()
            .samples
            .is_empty(),
        "no such boot"
    );
}

#[test]
fn a_segment_gone_since_the_index_was_built_is_a_named_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = long_session(tmp.path());
    let index = LogIndex::build(&LogSource::dir(tmp.path()), Filter::default()).unwrap();
    std::fs::remove_file(&path).unwrap();
    let e = index
        .samples_in(0, Window::new(0, 10 * S).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&path.display().to_string()) && e.ends_with("build the log index again"),
        "{e}"
    );
}

/// Everything an index holds, to compare two.
fn parts(i: &LogIndex) -> impl PartialEq + std::fmt::Debug + '_ {
    (
        i.segments(),
        i.records(),
        i.sample_blocks(),
        i.power_blocks(),
        i.skips(),
        *i.damage(),
    )
}

#[test]
fn the_samples_read_on_their_own_thread_give_the_index_one_reader_gives() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    let path = long_session(&a);
    // Damage of every kind each reader sees: a corrupt key block (its chain is lost), a
    // power block that does not decode, a corrupt frame after them, a damaged header.
    let spans = frame_spans(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[(spans[20].0 + 5) as usize] ^= 0x01;
    bytes[(spans[61].0 + 5) as usize] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let Record::Power(mut bad) = power(&[80 * S, 81 * S]) else {
        unreachable!()
    };
    bad.data.truncate(2);
    let second = session(
        &b,
        "pi",
        "c",
        S,
        &[
            key_block(&samples(2 * S, 20, 4)),
            Record::Power(bad),
            run(3, 2 * S, 3 * S),
        ],
    );
    let mut bytes = std::fs::read(&second).unwrap();
    bytes[20] ^= 0x01; // inside the header
    std::fs::write(&second, &bytes).unwrap();
    let source = LogSource::dirs([a, b]);
    let split = LogIndex::build(&source, Filter::default()).unwrap();
    let (one, _) = LogIndex::build_one(&source, Filter::default()).unwrap();
    let kinds: Vec<&SkipKind> = split.skips().iter().map(|s| &s.kind).collect();
    assert!(
        kinds.iter().any(|k| matches!(
            k,
            SkipKind::Block {
                kind: BlockKind::Sample,
                ..
            }
        )) && kinds.iter().any(|k| matches!(
            k,
            SkipKind::Block {
                kind: BlockKind::Power,
                ..
            }
        )) && kinds.iter().any(|k| matches!(k, SkipKind::Corrupt(_)))
            && kinds.iter().any(|k| matches!(k, SkipKind::Header(_))),
        "{kinds:?}"
    );
    assert_eq!(parts(&split), parts(&one));
}
