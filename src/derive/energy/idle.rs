//! Which idle baseline a run's net energy subtracts. The window always ends before the
//! run's rise, never on it: a window that ends on the first mark would take in the first
//! readings of the rise (interpolated across its edge) and call them idle.

use super::Baseline;
use super::Integration;
use crate::derive::Window;

/// Longest idle-baseline window measured right before a run, µs.
pub const BASELINE_MAX_US: u64 = 5_000_000;

/// How the cooldown before a run ended (CLOCK_MONOTONIC µs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CooldownEnd {
    /// When the wait ended; the run's first mark follows.
    pub end_us: u64,
    /// How long the CPU had been back at idle when it ended (its trailing quiet windows:
    /// `CooldownWait::quiet_us`), µs.
    pub quiet_us: u64,
    /// Its cap (`max_wait_s`) ended it, not a quiet machine: the wait was not idle.
    pub capped: bool,
}

/// Where a run's idle baseline comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineFrom {
    /// The mean power of the readings over this window.
    Window(Window),
    /// A baseline measured earlier and stored: the plan's, logged when it started (its
    /// idle lead-in), so a run long after the plan's start still has it.
    Stored(Baseline),
    /// None: the run gets gross figures only.
    None,
}

/// A run's idle baseline, the first that applies:
/// 1. a cooldown that ended because the machine was quiet: the stretch at its end over
///    which the CPU was back at idle (not the busy start of the wait), up to
///    [`BASELINE_MAX_US`], ending where the wait ended;
/// 2. the plan's stored baseline (`plan`: `None` if its lead-in had no power figure), if
///    it ended before the run;
/// 3. [`BASELINE_MAX_US`] ending one maximum gap (`integration.max_gap_us`) before the
///    run's first mark, so the readings joined across the window's end are still idle.
#[must_use]
pub fn run_baseline(
    first_mark_us: u64,
    cooldown: Option<CooldownEnd>,
    plan: Option<Baseline>,
    integration: Integration,
) -> BaselineFrom {
    let before = |end_us: u64, len_us: u64| {
        let from = end_us.saturating_sub(len_us);
        if from < end_us {
            BaselineFrom::Window(Window::spanning(from, end_us))
        } else {
            BaselineFrom::None
        }
    };
    if let Some(c) = cooldown.filter(|c| !c.capped && c.quiet_us > 0) {
        return before(c.end_us.min(first_mark_us), c.quiet_us.min(BASELINE_MAX_US));
    }
    if let Some(p) = plan.filter(|p| p.window.end_us <= first_mark_us) {
        return BaselineFrom::Stored(p);
    }
    before(
        first_mark_us.saturating_sub(integration.max_gap_us),
        BASELINE_MAX_US,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;
    const GAP: Integration = Integration { max_gap_us: 40_000 };

    fn plan() -> Baseline {
        Baseline {
            window: Window::spanning(2 * S, 5 * S),
            power_uw: 2_000_000,
            coverage_ppm: 1_000_000,
        }
    }

    #[test]
    fn a_quiet_cooldown_is_the_baseline_up_to_its_end() {
        let c = CooldownEnd {
            end_us: 99 * S,
            quiet_us: 2 * S,
            capped: false,
        };
        let b = run_baseline(100 * S, Some(c), Some(plan()), GAP);
        assert_eq!(b, BaselineFrom::Window(Window::spanning(97 * S, 99 * S)));
        let long = CooldownEnd {
            quiet_us: 60 * S,
            ..c
        };
        let b = run_baseline(100 * S, Some(long), None, GAP);
        assert_eq!(b, BaselineFrom::Window(Window::spanning(94 * S, 99 * S)));
    }

    #[test]
    fn a_capped_or_empty_cooldown_falls_back_to_the_plans_stored_baseline() {
        for c in [
            CooldownEnd {
                end_us: 99 * S,
                quiet_us: 2 * S,
                capped: true,
            },
            CooldownEnd {
                end_us: 99 * S,
                quiet_us: 0,
                capped: false,
            },
        ] {
            assert_eq!(
                run_baseline(100 * S, Some(c), Some(plan()), GAP),
                BaselineFrom::Stored(plan())
            );
        }
        assert_eq!(
            run_baseline(100 * S, None, Some(plan()), GAP),
            BaselineFrom::Stored(plan())
        );
    }

    #[test]
    fn without_either_the_window_ends_one_maximum_gap_before_the_first_mark() {
        let b = run_baseline(100 * S, None, None, GAP);
        assert_eq!(
            b,
            BaselineFrom::Window(Window::spanning(95 * S - 40_000, 100 * S - 40_000))
        );
        // A plan baseline after the run's start is not its baseline.
        let late = Baseline {
            window: Window::spanning(101 * S, 102 * S),
            ..plan()
        };
        assert_eq!(run_baseline(100 * S, None, Some(late), GAP), b);
        // Nothing before a run at the clock's start.
        assert_eq!(run_baseline(30_000, None, None, GAP), BaselineFrom::None);
    }
}
