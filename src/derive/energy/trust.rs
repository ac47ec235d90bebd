//! Whether a measured energy figure can be trusted, and why not.
//!
//! A figure integrates power readings over a window (the run, or one of its phases); where
//! readings are missing it adds nothing, so a figure whose window is poorly covered is too
//! low by an unknown amount. A net figure also subtracts an idle baseline, which needs a
//! well covered quiet window of its own. Such figures are not averaged in and not shown as
//! numbers: they are shown as `-` with the reason ([`Untrusted`]'s text, e.g.
//! `coverage 91 % < 95 %`). The threshold is the configuration's `[energy]
//! min_coverage_pct` ([`MinCoverage`]).
//!
//! This is the one place that decides trust: the bench tables, the progress lines and any
//! export or report call [`RunEnergy::figure`] (or [`WindowEnergy::check`]).

use std::fmt;

use super::Baseline;
use super::RunEnergy;
use super::WindowEnergy;
use crate::record::RunPhase;

/// The least share of a window valid power readings must cover for its figures to be
/// trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinCoverage {
    pub ppm: u32,
}

impl MinCoverage {
    /// 95 %: `[energy] min_coverage_pct`'s default.
    pub const DEFAULT_PCT: u32 = 95;
    pub const DEFAULT: Self = Self::from_pct(Self::DEFAULT_PCT);

    /// `pct` (0–100; more is read as 100).
    #[must_use]
    pub const fn from_pct(pct: u32) -> Self {
        let pct = if pct > 100 { 100 } else { pct };
        Self { ppm: pct * 10_000 }
    }
}

impl Default for MinCoverage {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why a figure is not trusted. Its text is what is shown next to the `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untrusted {
    /// No valid reading covers any of the window.
    NoReadings,
    /// The window is covered less than the threshold.
    Coverage { coverage_ppm: u32, min_ppm: u32 },
    /// A net figure without an idle baseline to subtract.
    NoBaseline,
    /// The idle baseline's own window is covered less than the threshold.
    BaselineCoverage { coverage_ppm: u32, min_ppm: u32 },
    /// A per-phase figure of a run that has no such phase.
    NoPhase(RunPhase),
    /// A per-token figure of a run without such tokens.
    NoTokens,
    /// A net figure of a run whose cooldown was ended by its cap: the machine had not
    /// settled to the idle baseline subtracted.
    CooldownCapped,
}

/// A share in ppm as a percentage for the reasons: whole when it is whole, else with one
/// decimal, cut (not rounded) so a share just below a threshold never reads as equal to it.
fn pct(ppm: u32) -> String {
    if ppm % 10_000 == 0 {
        format!("{} %", ppm / 10_000)
    } else {
        format!("{}.{} %", ppm / 10_000, ppm % 10_000 / 1_000)
    }
}

impl fmt::Display for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NoReadings => f.write_str("no valid power readings"),
            Self::Coverage {
                coverage_ppm,
                min_ppm,
            } => write!(f, "coverage {} < {}", pct(coverage_ppm), pct(min_ppm)),
            Self::NoBaseline => f.write_str("no idle baseline"),
            Self::BaselineCoverage {
                coverage_ppm,
                min_ppm,
            } => write!(
                f,
                "baseline coverage {} < {}",
                pct(coverage_ppm),
                pct(min_ppm)
            ),
            Self::NoPhase(p) => write!(f, "no {} phase", p.name()),
            Self::NoTokens => f.write_str("no tokens"),
            Self::CooldownCapped => f.write_str("cooldown capped: not idle before the run"),
        }
    }
}

impl WindowEnergy {
    /// Whether this window's gross figure can be trusted.
    pub fn check(&self, min: MinCoverage) -> Result<(), Untrusted> {
        if self.covered_us == 0 && self.coverage_ppm == 0 {
            return Err(Untrusted::NoReadings);
        }
        if self.coverage_ppm < min.ppm {
            return Err(Untrusted::Coverage {
                coverage_ppm: self.coverage_ppm,
                min_ppm: min.ppm,
            });
        }
        Ok(())
    }

    /// Whether this window's net figure can be trusted: its gross figure and the
    /// baseline that was subtracted.
    pub fn check_net(
        &self,
        baseline: Option<&Baseline>,
        min: MinCoverage,
    ) -> Result<(), Untrusted> {
        self.check(min)?;
        let b = baseline.ok_or(Untrusted::NoBaseline)?;
        if self.net_uj.is_none() {
            return Err(Untrusted::NoBaseline);
        }
        if b.coverage_ppm < min.ppm {
            return Err(Untrusted::BaselineCoverage {
                coverage_ppm: b.coverage_ppm,
                min_ppm: min.ppm,
            });
        }
        Ok(())
    }
}

/// The energy figures of a run, each checked by [`RunEnergy::figure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    /// The whole run, J.
    GrossJ,
    NetJ,
    /// The decode phase (the whole run if it has no phases) per generated token, J.
    GrossJPerGeneratedToken,
    NetJPerGeneratedToken,
    /// The prefill phase (all its windows: a VLM's before and after its encode) per prompt
    /// token (text and image tokens), J.
    GrossJPerPromptToken,
    NetJPerPromptToken,
}

impl Figure {
    pub const ALL: [Self; 6] = [
        Self::GrossJ,
        Self::NetJ,
        Self::GrossJPerGeneratedToken,
        Self::NetJPerGeneratedToken,
        Self::GrossJPerPromptToken,
        Self::NetJPerPromptToken,
    ];

    const fn is_net(self) -> bool {
        matches!(
            self,
            Self::NetJ | Self::NetJPerGeneratedToken | Self::NetJPerPromptToken
        )
    }
}

impl RunEnergy {
    /// `figure`, or why it cannot be trusted: the coverage of its window (and, for a net
    /// figure, the baseline and its coverage) against `min`.
    pub fn figure(&self, figure: Figure, min: MinCoverage) -> Result<f64, Untrusted> {
        let (window, tokens) = match figure {
            Figure::GrossJ | Figure::NetJ => (self.run, None),
            Figure::GrossJPerGeneratedToken | Figure::NetJPerGeneratedToken => (
                self.phase(RunPhase::Decode).unwrap_or(self.run),
                Some(self.tokens.generated),
            ),
            Figure::GrossJPerPromptToken | Figure::NetJPerPromptToken => (
                self.phase(RunPhase::Prefill)
                    .ok_or(Untrusted::NoPhase(RunPhase::Prefill))?,
                Some(self.tokens.prompt),
            ),
        };
        let uj = if figure.is_net() {
            window.check_net(self.baseline.as_ref(), min)?;
            if self.cooldown_capped {
                return Err(Untrusted::CooldownCapped);
            }
            window.net_uj.ok_or(Untrusted::NoBaseline)?
        } else {
            window.check(min)?;
            window.gross_uj
        };
        let j = uj as f64 / 1e6;
        match tokens {
            None => Ok(j),
            Some(0) => Err(Untrusted::NoTokens),
            Some(n) => Ok(j / n as f64),
        }
    }
}

/// A checked figure for text output: the value with `digits` decimals, or `-` and why.
#[must_use]
pub fn show(figure: &Result<f64, Untrusted>, digits: usize) -> String {
    match figure {
        Ok(v) => format!("{v:.digits$}"),
        Err(why) => format!("- ({why})"),
    }
}

#[cfg(test)]
mod tests;
