//! What the daemon adds to a finished run: its measured energy, from the power readings
//! kept in memory, over the run, each phase, and an idle baseline before it.
// Used by the workload path, which needs the `llama` feature.
#![cfg_attr(not(feature = "llama"), allow(dead_code))]

use crate::derive::energy::run_energy;
use crate::derive::energy::RunEnergy;
use crate::derive::energy::RunSpec;
use crate::derive::energy::Tokens;
use crate::derive::Window;
use crate::record::Run;

use super::history::PowerHistory;

/// Longest idle-baseline window before a run, µs. The baseline is the quiet stretch the
/// run's cooldown waited for, up to this long; without a cooldown, or when its cap ended
/// it (the machine was not quiet), the plan's idle lead-in; without either, this long
/// before the run.
pub(super) const BASELINE_MAX_US: u64 = 5_000_000;

/// The run's measured energy, or `None` if it has no phase marks (it never started).
/// `cooldown_capped`: the run's cooldown ended by its cap, not by a quiet machine.
pub(super) fn energy_of(
    run: &Run,
    cooldown_capped: bool,
    idle: Option<Window>,
    history: &PowerHistory,
    source_label: &str,
    period_us: u64,
) -> Option<RunEnergy> {
    let start = run.phases.first()?.mono_us;
    let end = run.phases.last()?.mono_us;
    let whole = Window::spanning(start, end);
    let phases = crate::derive::runs::phase_windows(&run.phases);
    let quiet_us = if cooldown_capped { 0 } else { run.cooldown_us };
    let baseline_window = match (quiet_us, idle) {
        (0, Some(w)) if w.end_us <= start => Some(w),
        (waited, _) => {
            let len = if waited == 0 {
                BASELINE_MAX_US
            } else {
                waited.min(BASELINE_MAX_US)
            };
            let from = start.saturating_sub(len);
            (from < start).then(|| Window::spanning(from, start))
        }
    };
    let from = baseline_window.map_or(start, |w| w.start_us);
    let readings = history.around(from, end);
    let image_tokens = run.image.as_ref().map_or(0, |i| i.image_tokens);
    let spec = RunSpec {
        source_label,
        period_us,
        run: whole,
        phases: &phases,
        baseline_window,
        tokens: Tokens {
            prompt: u64::from(run.prompt_tokens + image_tokens),
            generated: u64::from(run.generated_tokens),
        },
    };
    Some(run_energy(&readings, &spec))
}

/// One progress line for `bench`: `[ 3/12] label  pp … t/s  tg … t/s  energy`.
pub(super) fn progress_line(run: &Run, index: usize, total: usize) -> String {
    let result = match &run.outcome {
        crate::record::Outcome::Ok => format!(
            "pp {:>8.1} t/s  tg {:>7.1} t/s",
            run.prefill_tokens_per_s(),
            run.decode_tokens_per_s()
        ),
        crate::record::Outcome::Failed(e) => format!("FAILED: {e}"),
    };
    let energy = run.energy.as_ref().map_or_else(String::new, |e| {
        format!("  {}", RunEnergy::from(e).summary())
    });
    format!(
        "[{:>3}/{total}] {:<40} {result}{energy}",
        index + 1,
        run.label
    )
}

#[cfg(test)]
mod tests;
