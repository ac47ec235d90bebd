//! Grouping runs: by device, model, workload and settings, in first-seen order.

use crate::cost::RunCost;

/// The device a run was logged on (`?` when its segment header is damaged).
pub fn device(r: &RunCost) -> String {
    r.device_id.clone().unwrap_or_else(|| "?".into())
}

/// The model as a reader names it: its name (or file stem) and quantization.
pub fn model(r: &RunCost) -> String {
    let Some(m) = &r.model else {
        return "?".into();
    };
    let stem = std::path::Path::new(&m.path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let name = m.name.clone().or(stem).unwrap_or_else(|| "?".into());
    if m.quantization.is_empty() || name.contains(&m.quantization) {
        name
    } else {
        format!("{name} {}", m.quantization)
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

/// `items` grouped by `key`, groups and members in first-seen order.
pub fn group_by<'a, T, K: PartialEq>(
    items: &[&'a T],
    key: impl Fn(&T) -> K,
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
