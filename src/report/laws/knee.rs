//! The VLM knee: y = a + b·min(x, ψ) over input pixels and over image tokens, per device,
//! model, workload, threads, clamp and prompt length.

use serde::Serialize;

use super::groups;
use super::groups::WorkloadNames;
use super::Ci;
use super::Metric;
use super::ReportOptions;
use crate::analysis::fit::fit_knees_with;
use crate::analysis::fit::FitError;
use crate::analysis::fit::KneeFit;
use crate::analysis::fit::KneeOptions;
use crate::analysis::fit::KneeVerdict;
use crate::cost::RunCost;

/// The metrics of the knee, in the order shown.
pub const KNEE_METRICS: [Metric; 5] = [
    Metric::CpuAuc,
    Metric::RamAuc,
    Metric::EnergyMeasured,
    Metric::EnergyEstimated,
    Metric::EncodeTime,
];

/// What the knee is fitted over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KneeAxis {
    /// Input width × height, px.
    Pixels,
    /// Image tokens the encoder produced.
    ImageTokens,
}

impl KneeAxis {
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Pixels => "input pixels",
            Self::ImageTokens => "image tokens",
        }
    }

    fn of(self, r: &RunCost) -> Option<f64> {
        match self {
            Self::Pixels => r
                .image_width
                .zip(r.image_height)
                .map(|(w, h)| f64::from(w) * f64::from(h)),
            Self::ImageTokens => r.image_tokens.map(f64::from),
        }
    }
}

/// One knee fit (or why there is none).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KneeFitRow {
    pub metric: Metric,
    pub axis: KneeAxis,
    pub source: Option<String>,
    pub n: usize,
    /// `knee`, `flat` or `linear` (no knee in the tested range).
    pub verdict: Option<&'static str>,
    /// ψ̂ with the reported CI (profile, never narrower than the tested values around it).
    pub psi: Option<Ci>,
    /// The bootstrap percentile CI of ψ, [lo, hi]; none unless the verdict is `knee` (as ψ).
    pub psi_bootstrap: Option<[f64; 2]>,
    /// The flat level above the knee, a + b·ψ̂ (`knee`), or over the whole range (`flat`);
    /// none for `linear`, which has no flat part in the tested range.
    pub plateau: Option<Ci>,
    /// b, the rise per unit of x below the knee (`knee`), or over the whole range
    /// (`linear`); none for `flat`, which has no points below its ψ̂.
    pub slope_below: Option<Ci>,
    pub problem: Option<String>,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    #[serde(skip)]
    pub fit: Option<KneeFit>,
}

fn verdict_name(v: KneeVerdict) -> &'static str {
    match v {
        KneeVerdict::Knee => "knee",
        KneeVerdict::Flat => "flat",
        KneeVerdict::Linear => "linear",
    }
}

impl KneeFitRow {
    /// The row of `metric` over `axis` with its points, not fitted yet.
    fn unfitted(runs: &[&RunCost], metric: Metric, axis: KneeAxis) -> Self {
        let points: Vec<(f64, f64, &RunCost)> = runs
            .iter()
            .filter_map(|r| Some((axis.of(r)?, metric.of(r)?, *r)))
            .collect();
        let n = points.len();
        Self {
            metric,
            axis,
            source: metric.sources(points.iter().map(|p| p.2)),
            n,
            verdict: None,
            psi: None,
            psi_bootstrap: None,
            plateau: None,
            slope_below: None,
            problem: (n == 0).then(|| format!("no run has a trusted {}", metric.label())),
            x: points.iter().map(|p| p.0).collect(),
            y: points.iter().map(|p| p.1).collect(),
            fit: None,
        }
    }

    fn set(&mut self, fit: Result<KneeFit, FitError>) {
        match fit {
            Ok(f) => {
                self.verdict = Some(verdict_name(f.verdict));
                self.psi = (f.verdict == KneeVerdict::Knee).then(|| Ci::with(f.psi, f.psi_ci));
                // Like ψ: a `flat` or `linear` fit's ψ̂ sits at an edge of the tested sizes,
                // where a percentile bootstrap says nothing of a knee.
                self.psi_bootstrap = f
                    .psi_ci_bootstrap
                    .filter(|_| f.verdict == KneeVerdict::Knee)
                    .map(|i| [i.lo, i.hi]);
                // A `linear` fit's "plateau" would be its value at the largest size tested,
                // and a `flat` fit's slope one over no points (rev-c).
                self.plateau = (f.verdict != KneeVerdict::Linear).then(|| Ci::of(&f.plateau));
                self.slope_below = (f.verdict != KneeVerdict::Flat).then(|| Ci::of(&f.line.slope));
                self.fit = Some(f);
            }
            Err(e) => self.problem = Some(e.to_string()),
        }
    }
}

/// Fits the rows with points, in one batch: fits of the same n share their bootstrap's
/// draws, so a batch costs less than its fits one by one (and gives the same).
fn fit_rows(rows: &mut [KneeFitRow], opts: &KneeOptions) {
    let data: Vec<(&[f64], &[f64])> = rows
        .iter()
        .filter(|r| r.n > 0)
        .map(|r| (r.x.as_slice(), r.y.as_slice()))
        .collect();
    let mut fits = fit_knees_with(&data, opts).into_iter();
    for row in rows.iter_mut().filter(|r| r.n > 0) {
        if let Some(f) = fits.next() {
            row.set(f);
        }
    }
}

/// The knees of one device, model, workload, threads, clamp and prompt length.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KneeLaw {
    pub device: String,
    pub model: String,
    /// The workload's name (`plan/workload` where its name is in several plans).
    pub workload: String,
    /// The plan the workload is in.
    pub plan: String,
    pub threads: u32,
    /// The clamp from the case label (`max1024`, `min64/max256`; `-` for none).
    pub clamp: String,
    pub prompt_tokens: u32,
    pub runs: usize,
    pub fits: Vec<KneeFitRow>,
}

impl KneeLaw {
    /// The fit of `metric` over `axis`.
    #[must_use]
    pub fn get(&self, metric: Metric, axis: KneeAxis) -> Option<&KneeFitRow> {
        self.fits
            .iter()
            .find(|f| f.metric == metric && f.axis == axis)
    }
}

/// The knees of the runs with an image.
pub fn laws<'r>(
    used: &[&'r RunCost],
    names: &WorkloadNames<'r>,
    opts: &ReportOptions,
) -> Vec<KneeLaw> {
    let vision: Vec<&RunCost> = used
        .iter()
        .copied()
        .filter(|r| r.image_width.is_some() || r.image_tokens.is_some())
        .collect();
    let knee_opts = KneeOptions {
        bootstrap_reps: opts.knee_bootstrap_reps,
        ..KneeOptions::default()
    };
    let groups = groups::group_by(&vision, |r| {
        (
            groups::device_name(r),
            groups::model_name(r),
            (names.of_run(r), r.plan.as_str()),
            r.threads,
            groups::clamp(r),
            r.prompt_tokens,
        )
    });
    // Every fit of every group, fitted on a thread per core (bootstrapped profiles: the
    // most work of the report), in this order whatever the timing; each thread's fits in
    // one batch.
    let jobs: Vec<(usize, Metric, KneeAxis)> = (0..groups.len())
        .flat_map(|g| {
            [KneeAxis::Pixels, KneeAxis::ImageTokens]
                .into_iter()
                .flat_map(move |axis| KNEE_METRICS.iter().map(move |&m| (g, m, axis)))
        })
        .collect();
    let mut fits = on_cores(&jobs, |mine| {
        let mut rows: Vec<KneeFitRow> = mine
            .iter()
            .map(|&&(g, m, axis)| KneeFitRow::unfitted(&groups[g].1, m, axis))
            .collect();
        fit_rows(&mut rows, &knee_opts);
        rows
    })
    .into_iter();
    let per_group = 2 * KNEE_METRICS.len();
    groups
        .into_iter()
        .map(
            |((device, model, (workload, plan), threads, clamp, prompt_tokens), runs)| {
                let fits = fits.by_ref().take(per_group).collect();
                KneeLaw {
                    device: device.to_owned(),
                    model: model.into_owned(),
                    workload: workload.into_owned(),
                    plan: plan.to_owned(),
                    threads,
                    clamp,
                    prompt_tokens,
                    runs: runs.len(),
                    fits,
                }
            },
        )
        .collect()
}

/// `f` of the items dealt round-robin over a thread per core (this one too), merged back
/// in order (`f` gives one result per item it is given).
fn on_cores<T: Sync, R: Send>(items: &[T], f: impl Fn(&[&T]) -> Vec<R> + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let hands = cores.min(items.len()).max(1);
    let dealt: Vec<Vec<&T>> = (0..hands)
        .map(|h| items.iter().skip(h).step_by(hands).collect())
        .collect();
    let f = &f;
    let mut done: Vec<std::vec::IntoIter<R>> = std::thread::scope(|s| {
        let others: Vec<_> = dealt[1..].iter().map(|d| s.spawn(move || f(d))).collect();
        let mut done = vec![f(&dealt[0]).into_iter()];
        for o in others {
            done.push(
                o.join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
                    .into_iter(),
            );
        }
        done
    });
    (0..items.len())
        .filter_map(|i| done[i % hands].next())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fit::fit_knee;

    #[test]
    fn a_row_without_a_knee_shows_no_psi_and_no_bootstrap_ci_of_it() {
        let x: [f64; 8] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let mut row = KneeFitRow::unfitted(&[], Metric::CpuAuc, KneeAxis::Pixels);
        // A straight line: no knee in the tested range, ψ̂ at its top.
        let y: Vec<f64> = x
            .iter()
            .map(|v| 2.0 + 3.0 * v + 0.01 * (v * 7.0).sin())
            .collect();
        let linear = fit_knee(&x, &y).unwrap();
        assert_eq!(linear.verdict, KneeVerdict::Linear);
        assert!(linear.psi_ci_bootstrap.is_some(), "the fit has one");
        row.set(Ok(linear));
        assert_eq!(
            (row.verdict, row.psi, row.psi_bootstrap),
            (Some("linear"), None, None)
        );
        // Its slope, but no plateau: its value at the largest size is no flat level.
        assert!(row.plateau.is_none(), "{:?}", row.plateau);
        let slope = row.slope_below.as_ref().unwrap().value;
        assert!((slope - 3.0).abs() < 0.01, "{slope}");
        // Flat: its level, and no slope (no points below its ψ̂).
        let noise = [0.3, -0.2, 0.1, -0.4, 0.2, 0.0, -0.1, 0.3];
        let flat = fit_knee(&x, &noise.map(|e| 5.0 + 0.01 * e)).unwrap();
        assert_eq!(flat.verdict, KneeVerdict::Flat);
        row.set(Ok(flat));
        assert!(row.slope_below.is_none(), "{:?}", row.slope_below);
        assert!((row.plateau.as_ref().unwrap().value - 5.0).abs() < 0.01);
        // A knee at 4: both shown.
        let y: Vec<f64> = x
            .iter()
            .map(|v| 2.0 + 3.0 * v.min(4.0) + 0.01 * (v * 7.0).sin())
            .collect();
        row.set(Ok(fit_knee(&x, &y).unwrap()));
        assert_eq!(row.verdict, Some("knee"));
        assert!(row.psi.is_some() && row.psi_bootstrap.is_some());
        assert!(row.plateau.is_some() && row.slope_below.is_some());
    }
}
