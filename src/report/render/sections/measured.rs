//! The sections about each run: the estimate against measurement, and the runs with their
//! trust flags.

use super::num;
use super::or_dash;
use super::Section;
use super::Table;
use super::FULL_RUN_LIST_MAX;
use crate::cost::meter_kind;
use crate::report::laws::Report;
use crate::report::laws::RunRow;

pub(super) fn estimate(r: &Report) -> Section {
    let mut t = Table::new(&[
        "device",
        "calibration",
        "runs",
        "measured",
        "n",
        "MAPE %",
        "bias J",
        "bias %",
        "RMSE J",
        "R²",
        "worst %",
        "note",
    ]);
    for e in &r.estimate_errors {
        t.push(vec![
            e.device.clone(),
            format!(
                "{}{}",
                e.source,
                if e.board_average {
                    " (board average)"
                } else {
                    ""
                }
            ),
            e.runs_label().into(),
            or_dash(Some(e.measured.as_str()).filter(|m| !m.is_empty())),
            e.n.to_string(),
            num(e.mape_pct),
            num(e.bias_j),
            num(e.bias_pct),
            num(e.rmse_j),
            num(e.r2),
            num(e.worst_error_pct),
            or_dash(e.problem.as_deref()),
        ]);
    }
    let mut notes = vec![
        "gross energy per run, estimate against the meter (a PMIC mapped to the whole \
             board when the calibration has the mapping), over the whole run: a hole in the \
             readings at the mean power the meter saw, as calibrate fits it"
            .into(),
        "runs up to a calibration's fit on its device may be among those it was fitted \
             on: their error is in-sample, and optimistic; the held-out runs (after the fit) \
             say how wrong it is, as does the calibration's cross-validated MAPE"
            .into(),
    ];
    if r.estimate_errors.is_empty() {
        notes.push("no run has both measured and estimated energy: no error to show".into());
    }
    Section {
        id: "estimate",
        title: "Estimated vs measured energy".into(),
        notes,
        table: (!r.estimate_errors.is_empty()).then_some(t),
    }
}

/// A run's measured net energy, with the meter when it is not the whole board's (the PMIC:
/// the SoC's rails), so that it is not read beside the board's estimate as the same thing.
fn measured_cell(row: &RunRow) -> String {
    let Some(j) = row.energy_measured_j else {
        return format!("- ({})", or_dash(row.energy_note.as_deref()));
    };
    let label = (row.energy_measured_source.as_deref()).and_then(|s| s.strip_prefix("measured:"));
    if label.is_some_and(|l| meter_kind(l) == "pmic") {
        format!("{} (PMIC rails, not the whole board)", num(Some(j)))
    } else {
        num(Some(j))
    }
}

pub(super) fn runs(r: &Report) -> Section {
    let all = r.runs.len() <= FULL_RUN_LIST_MAX;
    let mut t = Table::new(&[
        "device",
        "run",
        "model",
        "label",
        "ok",
        "time s",
        "CPU AUC %·s",
        "RAM AUC MB·s",
        "E net measured J",
        "E net estimated J",
        "in fits",
        "flags / notes",
    ]);
    for row in r
        .runs
        .iter()
        .filter(|row| all || !row.usable(r.include_flagged))
    {
        let mut notes = row.flags.clone();
        if row.warmup {
            notes.push("warm-up".into());
        }
        if let Some(e) = &row.error {
            notes.push(e.clone());
        }
        t.push(vec![
            row.device.clone(),
            row.run_id.map_or_else(|| "-".into(), |i| i.to_string()),
            row.model.clone(),
            row.label.clone(),
            if row.ok { "ok".into() } else { "failed".into() },
            num(row.time_s),
            num(row.cpu_auc_pct_s),
            num(row.ram_auc_mb_s),
            measured_cell(row),
            num(row.energy_estimated_j),
            if row.usable(r.include_flagged) {
                "yes".into()
            } else {
                "no".into()
            },
            if notes.is_empty() {
                "-".into()
            } else {
                notes.join("; ")
            },
        ]);
    }
    let notes = vec![if all {
        "every run; a flagged run is left out of the fits unless --include-flagged".into()
    } else {
        format!(
            "{} runs: only those left out of the fits are listed (the JSON output lists all)",
            r.runs.len()
        )
    }];
    Section {
        id: "runs",
        title: "Runs and trust flags".into(),
        notes,
        table: (!t.rows.is_empty()).then_some(t),
    }
}
