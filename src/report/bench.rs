//! A daemon session's runs read back from the log, with their CPU/RAM cost.

use std::collections::BTreeMap;

use super::cost_table;
use super::speed_table;
use crate::derive::energy::MinCoverage;
use crate::derive::runs::run_usage;
use crate::derive::runs::RunUsage;
use crate::derive::runs::BASELINE_SEARCH_US;
use crate::derive::Window;
use crate::logread::DamageCounts;
use crate::logread::Filter;
use crate::logread::LogError;
use crate::logread::LogIndex;
use crate::logread::LogSource;
use crate::logread::RecordKind;
use crate::logread::Skip;
use crate::plan::Case;
use crate::record::EventKind;
use crate::record::Run;

/// The runs logged from one seq on, in log order, and what each cost in CPU and RAM.
#[derive(Debug, Clone, Default)]
pub struct BenchLog {
    pub runs: Vec<Run>,
    /// One per run: `None` for a run without phase marks or samples around it.
    pub usage: Vec<Option<RunUsage>>,
    /// What the reader skipped (each with its file and offset).
    pub skips: Vec<Skip>,
    pub damage: DamageCounts,
}

impl BenchLog {
    /// The runs logged at or after `since_seq` (a daemon session's: its
    /// [`RunSummary::first_seq`](crate::daemon::RunSummary::first_seq)), and their cost
    /// from the samples of their boot: the baseline is the first plan lead-in
    /// (`plan_start` event) of that boot, else the quietest stretch before each run
    /// ([`run_usage`]). Only the sample blocks from [`BASELINE_SEARCH_US`] before the
    /// first run (or the lead-in, if earlier) on are decoded again.
    pub fn read(source: &LogSource, since_seq: u64) -> Result<Self, LogError> {
        let filter = Filter {
            kinds: vec![RecordKind::Sample, RecordKind::Event, RecordKind::Run],
            min_seq: Some(since_seq),
            ..Filter::default()
        };
        let index = LogIndex::build(source, filter)?;
        let mut by_boot: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        let runs: Vec<Run> = index.runs().map(|(_, r)| r.clone()).collect();
        for (i, (e, _)) in index.runs().enumerate() {
            by_boot.entry(e.segment().boot).or_default().push(i);
        }
        let mut usage = vec![None; runs.len()];
        for (boot, mine) in by_boot {
            let idle = index.events().find_map(|(e, ev)| match ev.kind {
                EventKind::PlanStart {
                    idle_from_us,
                    idle_to_us,
                    ..
                } if e.segment().boot == boot => Window::new(idle_from_us, idle_to_us).ok(),
                _ => None,
            });
            let boot_runs: Vec<Run> = mine.iter().map(|&i| runs[i].clone()).collect();
            let first_us = boot_runs
                .iter()
                .filter_map(|r| r.phases.first().map(|m| m.mono_us))
                .min()
                .unwrap_or(0)
                .saturating_sub(BASELINE_SEARCH_US);
            let from_us = idle.map_or(first_us, |w| w.start_us.min(first_us));
            let samples = index.samples_in(boot, Window::spanning(from_us, u64::MAX))?;
            let owned: Vec<_> = samples
                .samples
                .into_iter()
                .map(|(layout, s)| ((*layout).clone(), s))
                .collect();
            for (&i, u) in mine.iter().zip(run_usage(&owned, &boot_runs, idle)) {
                usage[i] = u;
            }
        }
        Ok(Self {
            runs,
            usage,
            skips: index.skips().to_vec(),
            damage: *index.damage(),
        })
    }

    /// Both tables for these cases (a plan's schedule), separated by an empty line;
    /// energy figures covered less than `min` are left out.
    #[must_use]
    pub fn tables(&self, cases: &[Case], min: MinCoverage) -> String {
        format!(
            "{}\n{}",
            speed_table(cases, &self.runs),
            cost_table(cases, &self.runs, &self.usage, min)
        )
    }
}
