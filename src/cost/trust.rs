//! Which figures of a cost row can be trusted, and why not ([`Untrusted`]): the energy by
//! [`RunEnergy::figure`](crate::derive::energy::RunEnergy::figure) (the check bench, status
//! and metrics make), the CPU/RAM figures by [`usage_trust`] (the check bench's table makes).

use super::CostOptions;
use super::RowKind;
use super::RunCost;
use super::Trust;
use super::Untrusted;
use super::BUSY_BASELINE_MARGIN_PCT;
use crate::derive::energy::Figure;
use crate::derive::energy::Untrusted as Refused;
use crate::derive::runs::RunUsage;

/// Whether a run's worker figures (its CPU s and RSS, not above any baseline) can be
/// trusted: its samples cover at least `min_coverage` (0–1) of it.
pub fn worker_trust(u: &RunUsage, min_coverage: f64) -> Result<(), Untrusted> {
    if u.coverage < min_coverage {
        return Err(Untrusted::UsageCoverage {
            coverage: u.coverage,
            min: min_coverage,
        });
    }
    Ok(())
}

/// Whether a run's machine CPU/RAM figures can be trusted: [`worker_trust`], and (for a run
/// of `duration_s` > 0) its mean machine CPU is not more than [`BUSY_BASELINE_MARGIN_PCT`]
/// below its idle baseline's (`busy_baseline`).
pub fn usage_trust(
    u: &RunUsage,
    duration_s: Option<f64>,
    min_coverage: f64,
) -> Result<(), Untrusted> {
    worker_trust(u, min_coverage)?;
    busy_baseline(u, duration_s)
}

/// Whether a run of `duration_s` (`None`: an idle lead-in, its own baseline) had a mean
/// machine CPU more than [`BUSY_BASELINE_MARGIN_PCT`] below its idle baseline's.
fn busy_baseline(u: &RunUsage, duration_s: Option<f64>) -> Result<(), Untrusted> {
    match duration_s.and_then(|t| u.cpu_mean_pct(t)) {
        Some(mean_pct) if mean_pct < u.baseline_cpu_pct - BUSY_BASELINE_MARGIN_PCT => {
            Err(Untrusted::BusyBaseline {
                baseline_pct: u.baseline_cpu_pct,
                mean_pct,
            })
        }
        _ => Ok(()),
    }
}

/// Which figures of a row can be trusted (see [`Untrusted`]).
pub(super) fn trust(row: &RunCost, opts: CostOptions) -> Trust {
    let mut t = Trust::default();
    match &row.energy {
        None => t.reasons.push(Untrusted::NoEnergy),
        Some(e) if e.run.coverage() < opts.min_coverage || e.run.covered_us == 0 => {
            t.reasons.push(Untrusted::EnergyCoverage {
                coverage: e.run.coverage(),
                min: opts.min_coverage,
            });
        }
        Some(e) => {
            t.energy = true;
            // The net figure's own check, the one bench, status and metrics make.
            let min = opts.min_coverage;
            match e.figure(Figure::NetJ, opts.min_coverage()) {
                Err(Refused::NoBaseline) => t.reasons.push(Untrusted::NoPowerBaseline),
                Err(Refused::BaselineCoverage { coverage_ppm, .. }) => {
                    t.reasons.push(Untrusted::PowerBaselineCoverage {
                        coverage: f64::from(coverage_ppm) / 1e6,
                        min,
                    });
                }
                Err(Refused::CooldownCapped) => t.reasons.push(Untrusted::CooldownCapped),
                Err(_) => t.reasons.push(Untrusted::EnergyCoverage {
                    coverage: e.run.coverage(),
                    min,
                }),
                Ok(_) => t.energy_net = true,
            }
        }
    }
    // An idle lead-in is its own baseline: only its coverage counts.
    let duration_s = row.duration_s.filter(|_| row.kind == RowKind::Run);
    let Some(u) = &row.usage else {
        t.reasons.push(Untrusted::NoSamples);
        return t;
    };
    let checked = worker_trust(u, opts.min_coverage).and_then(|()| {
        t.worker = true;
        busy_baseline(u, duration_s)
    });
    match checked {
        Err(why) => t.reasons.push(why),
        Ok(()) => t.usage = true,
    }
    t
}
