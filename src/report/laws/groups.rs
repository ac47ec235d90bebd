//! Grouping runs: by device, model, workload and settings, in first-seen order.

use std::borrow::Cow;

use crate::cost::RunCost;

/// The device a run was logged on (`?` when its segment header is damaged).
pub fn device(r: &RunCost) -> String {
    device_name(r).to_owned()
}

/// [`device`], borrowed (group keys: runs are thousands, groups few).
pub fn device_name(r: &RunCost) -> &str {
    r.device_id.as_deref().unwrap_or("?")
}

/// The model as a reader names it: its name (or file stem) and quantization.
pub fn model(r: &RunCost) -> String {
    model_name(r).into_owned()
}

/// [`model`], borrowed when the run's name says it all.
pub fn model_name(r: &RunCost) -> Cow<'_, str> {
    let Some(m) = &r.model else {
        return Cow::Borrowed("?");
    };
    let name = match &m.name {
        Some(name) => Cow::Borrowed(name.as_str()),
        None => std::path::Path::new(&m.path)
            .file_stem()
            .map_or(Cow::Borrowed("?"), |s| s.to_string_lossy()),
    };
    if m.quantization.is_empty() || name.contains(&m.quantization) {
        name
    } else {
        Cow::Owned(format!("{name} {}", m.quantization))
    }
}

/// How the report names workloads: a workload is its plan's (two plans' `llm` may
/// generate different lengths, or load the model for each run), so runs of one name in two
/// plans are two groups; `plan/workload` names them where the name alone would be
/// ambiguous among the runs the report fits, else the workload alone. One naming for every
/// section (laws, knees, phases, comparisons), so that a workload reads alike in all.
pub struct WorkloadNames<'r> {
    ambiguous: Vec<&'r str>,
}

impl<'r> WorkloadNames<'r> {
    /// The names over `runs`.
    #[must_use]
    pub fn of(runs: &[&'r RunCost]) -> Self {
        let mut plans: Vec<(&str, &str)> = runs
            .iter()
            .map(|r| (r.workload.as_str(), r.plan.as_str()))
            .collect();
        plans.sort_unstable();
        plans.dedup();
        let ambiguous = plans
            .windows(2)
            .filter(|w| w[0].0 == w[1].0)
            .map(|w| w[0].0)
            .collect();
        Self { ambiguous }
    }

    /// Workload `workload` of plan `plan`, named.
    #[must_use]
    pub fn name<'a>(&self, plan: &str, workload: &'a str) -> Cow<'a, str> {
        if self.ambiguous.contains(&workload) {
            Cow::Owned(format!("{plan}/{workload}"))
        } else {
            Cow::Borrowed(workload)
        }
    }

    /// The workload of run `r`, named.
    #[must_use]
    pub fn of_run(&self, r: &'r RunCost) -> Cow<'r, str> {
        self.name(&r.plan, &r.workload)
    }
}

/// The case of a run within its workload: the label after the workload's name (`pp64/tg32/t2`).
pub fn case(r: &RunCost) -> &str {
    r.label
        .strip_prefix(r.workload.as_str())
        .map_or(r.label.as_str(), |s| s.trim_start_matches('/'))
}

/// The image clamp of a run, from its label's `/minN` and `/maxN` parts (`-` without one).
pub fn clamp(r: &RunCost) -> String {
    let parts: Vec<&str> = r
        .label
        .split('/')
        .filter(|p| {
            ["min", "max"].iter().any(|k| {
                p.strip_prefix(k)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
        })
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join("/")
    }
}

/// `items` grouped by `key`, groups and members in first-seen order. The key may borrow
/// from the item.
pub fn group_by<'a, T, K: PartialEq>(
    items: &[&'a T],
    key: impl Fn(&'a T) -> K,
) -> Vec<(K, Vec<&'a T>)> {
    let mut out: Vec<(K, Vec<&'a T>)> = Vec::new();
    for &r in items {
        let k = key(r);
        match out.iter_mut().find(|(g, _)| *g == k) {
            Some((_, v)) => v.push(r),
            None => out.push((k, vec![r])),
        }
    }
    out
}
