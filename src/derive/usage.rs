//! Baselines and AUCs of every series of a [`Utilisation`] at once: CPU in %·s (machine
//! and per-core-sum conventions), RAM and RSS in MB·s (MiB·s).

use super::auc::auc;
use super::auc::phase_window;
use super::auc::Auc;
use super::baseline::baseline_named;
use super::baseline::quietest_window;
use super::baseline::Baseline;
use super::series::Window;
use super::util::Utilisation;
use super::DeriveError;
use crate::record::RunPhase;
use crate::record::TrackedProc;

/// What baseline a tracked process's series get.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProcBaselinePolicy {
    /// 0: the AUC is the process's whole usage (a process that did not exist used
    /// nothing). The default, since a worker often starts after the quiet window.
    #[default]
    Zero,
    /// The mean over the quiet window, like the machine series; errors if the process
    /// has too few points there.
    Window,
}

/// Baselines of one process's series.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcBaseline {
    pub cpu_machine_pct: f64,
    pub cpu_per_core_sum_pct: f64,
    pub rss_mb: f64,
}

/// Baselines of every series of a [`Utilisation`], from one quiet window.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageBaseline {
    pub window: Window,
    pub cpu_machine_pct: Baseline,
    pub cpu_per_core_sum_pct: Baseline,
    pub ram_used_mb: Baseline,
    /// In layout order.
    pub procs: Vec<ProcBaseline>,
}

impl UsageBaseline {
    /// Baselines over an explicit quiet `window`.
    pub fn from_window(
        util: &Utilisation,
        window: Window,
        policy: ProcBaselinePolicy,
    ) -> Result<Self, DeriveError> {
        let procs = util
            .procs
            .iter()
            .map(|p| match policy {
                ProcBaselinePolicy::Zero => Ok(ProcBaseline::default()),
                ProcBaselinePolicy::Window => {
                    let name = |s: &str| format!("process {} {s}", p.proc.pid);
                    let mean = |series, s| baseline_named(series, window, &name(s)).map(|b| b.mean);
                    Ok(ProcBaseline {
                        cpu_machine_pct: mean(&p.cpu_machine_pct, "cpu_machine_pct")?,
                        cpu_per_core_sum_pct: mean(
                            &p.cpu_per_core_sum_pct,
                            "cpu_per_core_sum_pct",
                        )?,
                        rss_mb: mean(&p.rss_mb, "rss_mb")?,
                    })
                }
            })
            .collect::<Result<_, DeriveError>>()?;
        Ok(Self {
            window,
            cpu_machine_pct: baseline_named(&util.cpu_machine_pct, window, "cpu_machine_pct")?,
            cpu_per_core_sum_pct: baseline_named(
                &util.cpu_per_core_sum_pct,
                window,
                "cpu_per_core_sum_pct",
            )?,
            ram_used_mb: baseline_named(&util.ram_used_mb, window, "ram_used_mb")?,
            procs,
        })
    }

    /// Baselines over the window of `len_us` where machine CPU % is lowest
    /// ([`quietest_window`]).
    pub fn quietest(
        util: &Utilisation,
        len_us: u64,
        policy: ProcBaselinePolicy,
    ) -> Result<Self, DeriveError> {
        let quiet = quietest_window(&util.cpu_machine_pct, len_us)?;
        Self::from_window(util, quiet.window, policy)
    }
}

/// CPU AUC in both conventions, %·s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuAuc {
    /// 100 % = the whole machine.
    pub machine: Auc,
    /// 100 % = one core.
    pub per_core_sum: Auc,
}

/// AUCs of one tracked process.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcAuc {
    pub proc: TrackedProc,
    pub cpu_pct_s: CpuAuc,
    /// RSS, MB·s (MiB·s).
    pub rss_mb_s: Auc,
}

/// AUCs of every series of a [`Utilisation`] over one window.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageAuc {
    pub window: Window,
    pub cpu_pct_s: CpuAuc,
    /// RAM used (MemTotal − MemAvailable), MB·s (MiB·s).
    pub ram_mb_s: Auc,
    /// In layout order.
    pub procs: Vec<ProcAuc>,
}

impl UsageAuc {
    /// AUCs over `window` above `baseline` (a process missing from `baseline.procs`
    /// gets baseline 0).
    #[must_use]
    pub fn new(util: &Utilisation, window: Window, baseline: &UsageBaseline) -> Self {
        let procs = util
            .procs
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let b = baseline.procs.get(i).copied().unwrap_or_default();
                ProcAuc {
                    proc: p.proc.clone(),
                    cpu_pct_s: CpuAuc {
                        machine: auc(&p.cpu_machine_pct, window, b.cpu_machine_pct),
                        per_core_sum: auc(&p.cpu_per_core_sum_pct, window, b.cpu_per_core_sum_pct),
                    },
                    rss_mb_s: auc(&p.rss_mb, window, b.rss_mb),
                }
            })
            .collect();
        Self {
            window,
            cpu_pct_s: CpuAuc {
                machine: auc(&util.cpu_machine_pct, window, baseline.cpu_machine_pct.mean),
                per_core_sum: auc(
                    &util.cpu_per_core_sum_pct,
                    window,
                    baseline.cpu_per_core_sum_pct.mean,
                ),
            },
            ram_mb_s: auc(&util.ram_used_mb, window, baseline.ram_used_mb.mean),
            procs,
        }
    }
}

/// [`UsageAuc`] per phase, in the given order. Errors if a phase is empty.
pub fn phase_usage(
    util: &Utilisation,
    phases: &[(RunPhase, Window)],
    baseline: &UsageBaseline,
) -> Result<Vec<(RunPhase, UsageAuc)>, DeriveError> {
    phases
        .iter()
        .map(|&(p, w)| Ok((p, UsageAuc::new(util, phase_window(p, w)?, baseline))))
        .collect()
}
