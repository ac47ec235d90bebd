//! Which run a row is, wherever it was read from, so that a run read twice counts once.
//!
//! The same log copied to a second directory, a fleet's device uploaded under two
//! prefixes, or a state directory and the runs exported from it: read together, each run
//! would count twice, and every confidence interval, and a calibration's cross-validated
//! error (a run in the fold it is tested on and in the folds it is fitted on), would claim
//! more than the data holds. A row is its device, its boot and its start on that boot's
//! monotonic clock (µs: no two runs of a boot start together), and a run its run id too
//! (ids restart with each daemon session, so alone they name no run). A boot id the
//! daemon could not read ("unknown": every such boot has it) identifies nothing.

use std::collections::HashMap;

use super::RowKind;
use super::RunCost;

/// A row's identity: equal for the same run (or idle span) read from any copy of its log.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RowKey {
    pub device_id: String,
    pub boot_id: String,
    pub run: RunRef,
}

/// The row within its boot, by its start (CLOCK_MONOTONIC µs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunRef {
    /// A run, with its run id.
    Run { start_mono_us: u64, run_id: u64 },
    /// An idle span.
    IdleFrom(u64),
}

/// What the daemon writes as the boot id when it cannot read the kernel's.
const UNKNOWN_BOOT: &str = "unknown";

/// A boot's identity: its device and boot id, `None` when either is not known (a damaged
/// segment header, a boot id the daemon could not read): such a boot is never taken for
/// another.
#[must_use]
pub fn boot_identity(device_id: Option<&str>, boot_id: Option<&str>) -> Option<(String, String)> {
    Some((
        device_id.filter(|d| !d.is_empty())?.to_owned(),
        boot_id
            .filter(|b| !b.is_empty() && *b != UNKNOWN_BOOT)?
            .to_owned(),
    ))
}

impl RowKey {
    /// The key of a row of `kind` with these columns; `None` when the device, the boot, the
    /// start or a run's id is not known (a damaged segment header, a boot id the daemon
    /// could not read, a run with no phase marks): such a row is never taken for another.
    #[must_use]
    pub fn new(
        device_id: Option<&str>,
        boot_id: Option<&str>,
        kind: RowKind,
        run_id: Option<u64>,
        start_mono_us: Option<u64>,
    ) -> Option<Self> {
        let start_mono_us = start_mono_us?;
        let run = match kind {
            RowKind::Run => RunRef::Run {
                start_mono_us,
                run_id: run_id?,
            },
            RowKind::Idle => RunRef::IdleFrom(start_mono_us),
        };
        let (device_id, boot_id) = boot_identity(device_id, boot_id)?;
        Some(Self {
            device_id,
            boot_id,
            run,
        })
    }

    /// The key of `row`.
    #[must_use]
    pub fn of(row: &RunCost) -> Option<Self> {
        Self::new(
            row.device_id.as_deref(),
            row.boot_id.as_deref(),
            row.kind,
            row.run_id,
            row.start_mono_us,
        )
    }
}

/// Keeps one of the items with the same key: the lowest `rank` (a run measured by two
/// meters, read from two directories, keeps the better meter's measurement), the first of
/// equal ranks; every item without a key is kept, and the order is kept. Returns how many
/// it dropped.
pub fn drop_repeats<T>(
    items: &mut Vec<T>,
    key: impl Fn(&T) -> Option<RowKey>,
    rank: impl Fn(&T) -> usize,
) -> usize {
    let before = items.len();
    // Per key, the index and rank of the copy kept.
    let mut best: HashMap<RowKey, (usize, usize)> = HashMap::new();
    let mut keep = vec![true; items.len()];
    for (i, item) in items.iter().enumerate() {
        let Some(k) = key(item) else { continue };
        let r = rank(item);
        match best.get_mut(&k) {
            None => {
                best.insert(k, (i, r));
            }
            Some(b) if r < b.1 => {
                keep[b.0] = false;
                *b = (i, r);
            }
            Some(_) => keep[i] = false,
        }
    }
    let mut keep = keep.into_iter();
    items.retain(|_| keep.next().unwrap_or(true));
    before - items.len()
}

/// What a command tells on stderr when it read `n` rows twice.
#[must_use]
pub fn repeats_note(n: usize) -> String {
    format!(
        "{n} runs or idle spans were read twice (the same device, boot and run in two \
         sources: a copy of a log, or a directory and the runs exported from it): each is \
         counted once"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(device: &str, boot: &str, run: u64) -> Option<RowKey> {
        RowKey::new(
            Some(device),
            Some(boot),
            RowKind::Run,
            Some(run),
            Some(run * 1000),
        )
    }

    #[test]
    fn the_same_run_read_twice_is_kept_once_in_order() {
        let mut items = vec![
            key("a", "b1", 1),
            key("a", "b1", 2),
            key("a", "b2", 1),
            key("c", "b1", 1),
            key("a", "b1", 1),
            key("a", "b1", 2),
            None,
            None,
        ];
        assert_eq!(drop_repeats(&mut items, Clone::clone, |_| 0), 2);
        assert_eq!(
            items,
            vec![
                key("a", "b1", 1),
                key("a", "b1", 2),
                key("a", "b2", 1),
                key("c", "b1", 1),
                None,
                None
            ]
        );
    }

    /// Of a run read twice, the copy of the better rank is kept, where it stands.
    #[test]
    fn the_better_ranked_copy_is_kept() {
        let mut items = vec![
            (key("a", "b", 1), 1),
            (key("a", "b", 2), 0),
            (key("a", "b", 1), 0),
        ];
        assert_eq!(drop_repeats(&mut items, |i| i.0.clone(), |i| i.1), 1);
        assert_eq!(items, vec![(key("a", "b", 2), 0), (key("a", "b", 1), 0)]);
        let mut items = vec![
            (key("a", "b", 1), 0),
            (key("a", "b", 1), 0),
            (key("a", "b", 1), 1),
        ];
        assert_eq!(drop_repeats(&mut items, |i| i.0.clone(), |i| i.1), 2);
        assert_eq!(items, vec![(key("a", "b", 1), 0)]);
    }

    #[test]
    fn an_unknown_device_boot_start_or_run_is_no_identity() {
        let run = |d, b, id, start| RowKey::new(d, b, RowKind::Run, id, start);
        assert!(run(Some("d"), Some("b"), Some(1), Some(5)).is_some());
        assert_eq!(run(None, Some("b"), Some(1), Some(5)), None);
        assert_eq!(run(Some(""), Some("b"), Some(1), Some(5)), None);
        assert_eq!(run(Some("d"), None, Some(1), Some(5)), None);
        assert_eq!(run(Some("d"), Some("unknown"), Some(1), Some(5)), None);
        assert_eq!(run(Some("d"), Some("b"), None, Some(5)), None);
        assert_eq!(run(Some("d"), Some("b"), Some(1), None), None);
        let idle = RowKey::new(Some("d"), Some("b"), RowKind::Idle, Some(1), None);
        assert_eq!(idle, None);
        // Run ids restart with each daemon session: two runs 1 of one boot are two runs.
        assert_ne!(
            run(Some("d"), Some("b"), Some(1), Some(5)),
            run(Some("d"), Some("b"), Some(1), Some(9_000_000))
        );
        // A run and an idle span with the same number are not the same row.
        assert_ne!(
            RowKey::new(Some("d"), Some("b"), RowKind::Run, Some(5), Some(5)),
            RowKey::new(Some("d"), Some("b"), RowKind::Idle, Some(5), Some(5))
        );
    }
}
