//! The report as titled sections of notes and tables, shared by the terminal, markdown and
//! HTML views.

mod measured;

use super::table::ci;
use super::table::num;
use super::table::pct;
use super::table::Table;
use crate::report::laws::KneeLaw;
use crate::report::laws::LlmLaw;
use crate::report::laws::Report;
use measured::estimate;
use measured::runs;

/// A run list longer than this shows only the runs left out (flagged or failed).
pub const FULL_RUN_LIST_MAX: usize = 200;

/// One titled part of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// A stable id (HTML anchors, chart placement).
    pub id: &'static str,
    pub title: String,
    pub notes: Vec<String>,
    pub table: Option<Table>,
}

fn or_dash(s: Option<&str>) -> String {
    s.map_or_else(|| "-".into(), str::to_owned)
}

/// All sections in order; a part with nothing to show says so in a note.
#[must_use]
pub fn sections(r: &Report) -> Vec<Section> {
    let mut all = vec![
        overview(r),
        llm(&r.llm),
        decode(&r.llm),
        knees(&r.knees),
        comparisons(r),
        estimate(r),
        runs(r),
    ];
    if let Some(why) = no_run_used(r) {
        let empty = all
            .iter_mut()
            .filter(|s| s.table.is_none() && !matches!(s.id, "overview" | "runs"));
        for s in empty {
            s.notes = vec![why.clone()];
        }
    }
    all
}

/// Why no run could be fitted, when none could: the one reason each empty section gives,
/// in place of its own (rev-k: the knee said "no VLM runs" of a log whose VLM runs had all
/// failed, and the comparisons that no plan names a base).
fn no_run_used(r: &Report) -> Option<String> {
    let ok: Vec<_> = r.runs.iter().filter(|x| x.ok).collect();
    Some(if r.runs.is_empty() {
        "no runs read: nothing to fit".to_owned()
    } else if ok.is_empty() {
        format!(
            "all {} runs failed: nothing to fit (see the runs' errors)",
            r.runs.len()
        )
    } else if ok.iter().all(|x| x.warmup) {
        "every successful run is a warm-up, which no fit takes: nothing to fit".to_owned()
    } else if crate::report::laws::all_flagged(r) {
        "every successful run is flagged and left out: nothing to fit (--include-flagged \
         fits them)"
            .to_owned()
    } else {
        return None;
    })
}

fn overview(r: &Report) -> Section {
    let mut notes = vec![format!(
        "{} runs read from {}",
        r.runs.len(),
        if r.sources.is_empty() {
            "-".into()
        } else {
            r.sources.join(", ")
        }
    )];
    for c in &r.calibrations {
        let device = if c.device_id.is_empty() {
            "this device".to_owned()
        } else {
            c.device_id.clone()
        };
        notes.push(if c.board_average && c.fitted_runs > 0 {
            format!(
                "estimated energy: {}, a board average fitted on {} runs pooled over devices{}, \
                 not on {device} alone (`edgewatt calibrate` on its own runs fits one)",
                c.source,
                c.fitted_runs,
                c.cv_mape_pct
                    .map_or_else(String::new, |m| format!(" (cross-validated MAPE {m:.1} %)")),
            )
        } else if c.board_average {
            format!(
                "estimated energy: {}, an uncalibrated board average for a Raspberry Pi 5, \
                 not fitted on {}: treat estimates as indicative only (`edgewatt calibrate` fits one)",
                c.source, device
            )
        } else {
            format!("estimated energy: {} (fitted on device {})", c.source, c.device_id)
        });
    }
    notes.extend(r.notes.iter().cloned());
    notes.extend(r.problems.iter().map(|p| format!("problem: {p}")));
    Section {
        id: "overview",
        title: "Overview".into(),
        notes,
        table: None,
    }
}

fn llm(laws: &[LlmLaw]) -> Section {
    let mut t = Table::new(&[
        "device",
        "model",
        "workload",
        "thr",
        "cost",
        "source",
        "n",
        "intercept [95 % CI]",
        "per prompt token [95 % CI]",
        "R²",
        "note",
    ]);
    for law in laws {
        for f in &law.fits {
            t.push(vec![
                law.device.clone(),
                law.model.clone(),
                law.workload.clone(),
                law.threads.to_string(),
                f.metric.label().into(),
                or_dash(f.source.as_deref()),
                f.n.to_string(),
                ci(f.intercept.as_ref()),
                ci(f.slope.as_ref()),
                f.r2.map_or_else(|| "-".into(), |v| format!("{v:.4}")),
                or_dash(f.problem.as_deref()),
            ]);
        }
    }
    let notes = if laws.is_empty() {
        vec!["no LLM law: no run without an image to fit (see the problems, if any)".into()]
    } else {
        vec![
            "y = a + b·prompt tokens, OLS, 95 % Student-t CIs; energy is net of the idle baseline"
                .into(),
        ]
    };
    Section {
        id: "llm",
        title: "LLM law: cost vs prompt tokens".into(),
        notes,
        table: (!laws.is_empty()).then_some(t),
    }
}

fn decode(laws: &[LlmLaw]) -> Section {
    let mut t = Table::new(&[
        "device",
        "model",
        "workload",
        "thr",
        "decode s/token",
        "decode J/token (measured, net)",
        "prefill J/token (measured, net)",
        "note",
    ]);
    for law in laws {
        t.push(vec![
            law.device.clone(),
            law.model.clone(),
            law.workload.clone(),
            law.threads.to_string(),
            ci(law.decode_s_per_token.as_ref()),
            ci(law.decode_j_per_token.as_ref()),
            ci(law.prefill_j_per_token.as_ref()),
            or_dash(
                Some(law.decode_notes.join("; "))
                    .filter(|n| !n.is_empty())
                    .as_deref(),
            ),
        ]);
    }
    let notes = if laws.is_empty() {
        vec!["no LLM law: nothing to split into prefill and decode".into()]
    } else {
        vec![
            "means over runs with 95 % CIs; J/token: the phase's measured energy above idle \
             (net), over the runs whose readings cover that phase"
                .into(),
            "prefill J/token is each run's prefill energy ÷ its prompt tokens, averaged: it \
             holds the prefill's fixed cost too, so it falls as prompts grow and depends on \
             the lengths run; the marginal J per prompt token is the slope of the measured \
             energy law above"
                .into(),
        ]
    };
    Section {
        id: "decode",
        title: "Prefill vs decode".into(),
        notes,
        table: (!laws.is_empty()).then_some(t),
    }
}

fn knees(laws: &[KneeLaw]) -> Section {
    let mut t = Table::new(&[
        "device",
        "model",
        "workload",
        "clamp",
        "pp",
        "cost",
        "over",
        "n",
        "verdict",
        "ψ [95 % CI]",
        "ψ bootstrap",
        "plateau [95 % CI]",
        "slope below [95 % CI]",
        "note",
    ]);
    for law in laws {
        for f in &law.fits {
            t.push(vec![
                law.device.clone(),
                law.model.clone(),
                law.workload.clone(),
                law.clamp.clone(),
                law.prompt_tokens.to_string(),
                f.metric.label().into(),
                f.axis.label().into(),
                f.n.to_string(),
                or_dash(f.verdict),
                ci(f.psi.as_ref()),
                f.psi_bootstrap.map_or_else(
                    || "-".into(),
                    |[lo, hi]| format!("[{}, {}]", num(Some(lo)), num(Some(hi))),
                ),
                ci(f.plateau.as_ref()),
                ci(f.slope_below.as_ref()),
                or_dash(f.problem.as_deref()),
            ]);
        }
    }
    let notes = if laws.is_empty() {
        vec!["no VLM runs (runs with an image) to fit".into()]
    } else {
        vec!["y = a + b·min(x, ψ): exact profile fit; ψ's CI is the profile CI, never narrower than the tested sizes around ψ̂; `flat`/`linear`: no knee in the tested range".into()]
    };
    Section {
        id: "knee",
        title: "VLM knee: cost vs input size".into(),
        notes,
        table: (!laws.is_empty()).then_some(t),
    }
}

fn comparisons(r: &Report) -> Section {
    let mut t = Table::new(&[
        "device",
        "base",
        "compressed",
        "cases",
        "cost",
        "source",
        "n base/other",
        "base mean",
        "compressed mean",
        "change [95 % CI]",
        "ratio [95 % CI]",
        "note",
    ]);
    for c in &r.comparisons {
        let base = format!("{} ({})", c.base_workload, c.base_model);
        let other = format!("{} ({})", c.workload, c.model);
        for row in &c.rows {
            t.push(vec![
                c.device.clone(),
                base.clone(),
                other.clone(),
                c.cases.to_string(),
                row.what.clone(),
                or_dash(row.source.as_deref()),
                format!("{}/{}", row.n_base, row.n_other),
                num(row.mean_base),
                num(row.mean_other),
                pct(row.pct_change.as_ref()),
                ci(row.ratio.as_ref()),
                match (row.problem.as_deref(), row.method) {
                    (Some(p), _) => p.to_owned(),
                    (None, Some("runs pooled")) => {
                        "runs pooled: no case ran twice, the CI holds the spread between cases"
                            .to_owned()
                    }
                    _ => "-".to_owned(),
                },
            ]);
        }
        t.push(vec![
            c.device.clone(),
            base,
            other,
            c.cases.to_string(),
            "output agreement (chrF 0–1)".into(),
            "same case and repetition".into(),
            format!("{} pairs", c.agreement_pairs),
            "-".into(),
            "-".into(),
            "-".into(),
            ci(c.agreement.as_ref()),
            if c.agreement.is_none() {
                "no outputs to pair".into()
            } else {
                "-".into()
            },
        ]);
    }
    let notes = if r.comparisons.is_empty() {
        vec!["no workload names a `base_workload` in its plan: nothing to compare".into()]
    } else {
        vec!["ratio of the means of the cases both ran (each case's mean counts once), with Fieller 95 % CIs from the noise within cases; energy measured and estimated are separate rows, never mixed".into()]
    };
    Section {
        id: "compare",
        title: "Base vs compressed".into(),
        notes,
        table: (!r.comparisons.is_empty()).then_some(t),
    }
}
