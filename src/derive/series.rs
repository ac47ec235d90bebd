//! Time series of derived values, with the gap rule that decides what may be integrated.
//!
//! A [`Series`] is a list of points `(t_us, value)` on CLOCK_MONOTONIC µs, strictly
//! increasing in time, plus *breaks*: times where a point is missing (an invalid
//! reading or a counter reset). The interval between two consecutive points is
//! *integrable* unless it is a gap:
//! - a break lies strictly between the two points, or
//! - it is longer than `factor × nominal_interval_us` ([`GapRule`], default 2.5×).
//!
//! Gaps are never integrated (no value is guessed across them); [`Coverage`] says how
//! much of a window was integrated and where the largest hole is.
//!
//! Between two points a series has one of two [`Shape`]s: a gauge read at each point
//! (RAM, RSS) is the straight line through them; a rate averaged over each interval (CPU %
//! from counter deltas) is a step, the later point's value over the whole interval, so an
//! area is the counters' own Δ and a window edge takes its share of the interval.

use serde::Deserialize;
use serde::Serialize;

use super::trapezoid;
use super::trapezoid::Integral;
use super::DeriveError;

/// A closed time window `[start_us, end_us]` on CLOCK_MONOTONIC µs, `start_us ≤ end_us`.
/// AUC needs a non-empty one ([`Window::new`]); an energy figure takes any span, empty
/// included ([`Window::spanning`]), and says so through its coverage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start_us: u64,
    pub end_us: u64,
}

impl Window {
    /// A non-empty window; `end_us` must be after `start_us`.
    pub const fn new(start_us: u64, end_us: u64) -> Result<Self, DeriveError> {
        if end_us > start_us {
            Ok(Self { start_us, end_us })
        } else {
            Err(DeriveError::EmptyWindow { start_us, end_us })
        }
    }

    /// The span between two instants given in either order; may be empty.
    #[must_use]
    pub const fn spanning(a_us: u64, b_us: u64) -> Self {
        if a_us <= b_us {
            Self {
                start_us: a_us,
                end_us: b_us,
            }
        } else {
            Self {
                start_us: b_us,
                end_us: a_us,
            }
        }
    }

    #[must_use]
    pub const fn len_us(&self) -> u64 {
        self.end_us - self.start_us
    }

    #[must_use]
    pub fn len_s(&self) -> f64 {
        self.len_us() as f64 / 1e6
    }

    #[must_use]
    pub const fn contains(&self, t_us: u64) -> bool {
        self.start_us <= t_us && t_us <= self.end_us
    }
}

/// When an interval between two points is too long to integrate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GapRule {
    /// The sampling interval the sampler aimed for, µs (e.g. 200 000 at 5 Hz).
    pub nominal_interval_us: u64,
    /// An interval longer than `factor × nominal_interval_us` is a gap.
    pub factor: f64,
}

impl GapRule {
    pub const DEFAULT_FACTOR: f64 = 2.5;

    /// A rule; the interval must be > 0 and the factor finite and ≥ 1.
    pub fn new(nominal_interval_us: u64, factor: f64) -> Result<Self, DeriveError> {
        if nominal_interval_us == 0 {
            return Err(DeriveError::ZeroInterval);
        }
        if !factor.is_finite() || factor < 1.0 {
            return Err(DeriveError::BadGapFactor { factor });
        }
        Ok(Self {
            nominal_interval_us,
            factor,
        })
    }

    /// Whether an interval of `dt_us` is too long to integrate.
    #[must_use]
    pub fn too_long(&self, dt_us: u64) -> bool {
        dt_us as f64 > self.factor * self.nominal_interval_us as f64
    }
}

/// How much of a window a series could integrate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coverage {
    pub window: Window,
    /// Total length of the integrated parts of the window, µs.
    pub integrated_us: u64,
    /// `integrated_us / window length`, in 0..=1.
    pub fraction: f64,
    /// Longest stretch of the window that was not integrated (gaps, and the parts
    /// before the first or after the last point), µs; 0 when fully covered.
    pub largest_gap_us: u64,
    /// Where that stretch is (the earliest one if several are as long).
    pub largest_gap: Option<Window>,
}

/// The coverage of `window` by an integral of a series' segments.
pub(crate) fn coverage_of(i: &Integral, window: Window) -> Coverage {
    Coverage {
        window,
        integrated_us: i.covered_us,
        fraction: i.covered_us as f64 / window.len_us() as f64,
        largest_gap_us: i.largest_gap_us(),
        largest_gap: i.largest_gap,
    }
}

/// How a series runs between its points (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A gauge read at each point: the straight line between two consecutive points,
    /// integrable unless that interval is a gap.
    Joined,
    /// A rate averaged over an interval: each point is at the end of its own interval
    /// ([`Series::push_step`]; CPU % between two samples, at the later one) and its value
    /// holds over it, integrable unless that interval is longer than the gap rule allows.
    Steps,
}

/// Points `(t_us, value)` and breaks, in time order; see the module doc.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    points: Vec<(u64, f64)>,
    breaks: Vec<u64>,
    gap_rule: GapRule,
    shape: Shape,
    /// For [`Shape::Steps`], where each point's interval starts (one per point).
    starts: Vec<u64>,
    /// Time of the last point or break pushed.
    last_us: Option<u64>,
}

impl Series {
    /// An empty series of a gauge ([`Shape::Joined`]).
    #[must_use]
    pub const fn new(gap_rule: GapRule) -> Self {
        Self {
            points: Vec::new(),
            breaks: Vec::new(),
            gap_rule,
            shape: Shape::Joined,
            starts: Vec::new(),
            last_us: None,
        }
    }

    /// The series with `shape` (a step series keeps each point's start: room for as many
    /// as the points have).
    #[must_use]
    pub fn with_shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        if shape == Shape::Steps {
            self.starts.reserve(self.points.capacity());
        }
        self
    }

    /// An empty series with room for `points` points.
    #[must_use]
    pub fn with_capacity(gap_rule: GapRule, points: usize) -> Self {
        Self {
            points: Vec::with_capacity(points),
            ..Self::new(gap_rule)
        }
    }

    /// A series from points and breaks, each in increasing time order, no break at a
    /// point's time.
    pub fn from_parts(
        points: &[(u64, f64)],
        breaks: &[u64],
        gap_rule: GapRule,
    ) -> Result<Self, DeriveError> {
        let mut s = Self::new(gap_rule);
        let (mut p, mut b) = (points.iter().peekable(), breaks.iter().peekable());
        loop {
            match (p.peek(), b.peek()) {
                (Some(&&(t, v)), Some(&&tb)) if t <= tb => {
                    s.push(t, v)?;
                    p.next();
                }
                (_, Some(&&tb)) => {
                    s.push_break(tb)?;
                    b.next();
                }
                (Some(&&(t, v)), None) => {
                    s.push(t, v)?;
                    p.next();
                }
                (None, None) => return Ok(s),
            }
        }
    }

    fn check_time(&self, t_us: u64) -> Result<(), DeriveError> {
        match self.last_us {
            Some(prev_us) if t_us <= prev_us => Err(DeriveError::SeriesOrder { t_us, prev_us }),
            _ => Ok(()),
        }
    }

    /// Appends a point; its time must be after every point and break so far. On a
    /// [`Shape::Steps`] series its interval starts at the last point or break (none before
    /// it: an empty interval); [`push_step`](Self::push_step) says where.
    pub fn push(&mut self, t_us: u64, value: f64) -> Result<(), DeriveError> {
        self.push_step(self.last_us.unwrap_or(t_us), t_us, value)
    }

    /// Appends a point at `t_us` whose value holds over `[start_us, t_us]` on a
    /// [`Shape::Steps`] series (a joined series keeps the point only). The interval must
    /// start at or after every point and break so far, and not end before its start (an
    /// empty interval holds a value that integrates to nothing).
    pub fn push_step(&mut self, start_us: u64, t_us: u64, value: f64) -> Result<(), DeriveError> {
        self.check_time(t_us)?;
        if start_us > t_us {
            return Err(DeriveError::SeriesOrder {
                t_us,
                prev_us: start_us,
            });
        }
        if let Some(prev_us) = self.last_us.filter(|&p| start_us < p) {
            return Err(DeriveError::SeriesOrder {
                t_us: start_us,
                prev_us,
            });
        }
        if !value.is_finite() {
            return Err(DeriveError::NotFinite { t_us });
        }
        self.points.push((t_us, value));
        if self.shape == Shape::Steps {
            self.starts.push(start_us);
        }
        self.last_us = Some(t_us);
        Ok(())
    }

    /// Appends a break (a missing point); its time must be after everything so far.
    pub fn push_break(&mut self, t_us: u64) -> Result<(), DeriveError> {
        self.check_time(t_us)?;
        self.breaks.push(t_us);
        self.last_us = Some(t_us);
        Ok(())
    }

    #[must_use]
    pub fn points(&self) -> &[(u64, f64)] {
        &self.points
    }

    #[must_use]
    pub fn breaks(&self) -> &[u64] {
        &self.breaks
    }

    #[must_use]
    pub const fn gap_rule(&self) -> GapRule {
        self.gap_rule
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Whether the interval between points `k` and `k + 1` is a gap (also true when
    /// there is no point `k + 1`). On a [`Shape::Steps`] series: whether point `k + 1`'s
    /// own interval is not integrable or does not start at point `k`.
    #[must_use]
    pub fn is_gap(&self, k: usize) -> bool {
        let (Some(&(ta, _)), Some(&(tb, _))) = (self.points.get(k), self.points.get(k + 1)) else {
            return true;
        };
        if self.shape == Shape::Steps {
            let start = self.starts[k + 1];
            return start != ta || self.gap_rule.too_long(tb - start);
        }
        let first_after = self.breaks.partition_point(|&b| b <= ta);
        let broken = self.breaks.get(first_after).is_some_and(|&b| b < tb);
        broken || self.gap_rule.too_long(tb - ta)
    }

    /// The integrable intervals that overlap `window`, whole, as the line the series runs
    /// along: the trapezoid integrator cuts them at its edges. For [`Shape::Joined`],
    /// pairs of consecutive points, not a gap; for [`Shape::Steps`], each point's own
    /// interval, flat at its value, not longer than the gap rule allows.
    pub(crate) fn segments(
        &self,
        window: Window,
    ) -> impl Iterator<Item = ((u64, f64), (u64, f64))> + '_ {
        let (joined, steps) = match self.shape {
            Shape::Joined => (Some(self.joined_segments(window)), None),
            Shape::Steps => (None, Some(self.step_segments(window))),
        };
        joined
            .into_iter()
            .flatten()
            .chain(steps.into_iter().flatten())
    }

    fn joined_segments(
        &self,
        window: Window,
    ) -> impl Iterator<Item = ((u64, f64), (u64, f64))> + '_ {
        // Skip the points that end before the window without scanning them.
        let first = self.points.partition_point(|&(t, _)| t < window.start_us);
        let skip = first.saturating_sub(1);
        self.points[skip..]
            .windows(2)
            .enumerate()
            .take_while(move |(_, w)| w[0].0 < window.end_us)
            .filter(move |&(k, _)| !self.is_gap(skip + k))
            .map(|(_, w)| (w[0], w[1]))
    }

    fn step_segments(&self, window: Window) -> impl Iterator<Item = ((u64, f64), (u64, f64))> + '_ {
        // The first interval that ends at or after the window's start.
        let first = self.points.partition_point(|&(t, _)| t < window.start_us);
        self.points[first..]
            .iter()
            .zip(&self.starts[first..])
            .take_while(move |&(_, &start)| start < window.end_us)
            .filter(move |&(&(t, _), &start)| !self.gap_rule.too_long(t - start))
            .map(|(&(t, v), &start)| ((start, v), (t, v)))
    }

    /// Number of points in `window` (edges included).
    #[must_use]
    pub fn count_in(&self, window: Window) -> usize {
        self.values_in(window).len()
    }

    /// The points in `window` (edges included).
    #[must_use]
    pub fn values_in(&self, window: Window) -> &[(u64, f64)] {
        let a = self.points.partition_point(|&(t, _)| t < window.start_us);
        let b = self.points.partition_point(|&(t, _)| t <= window.end_us);
        &self.points[a..b]
    }

    /// How much of `window` is integrable, and its largest hole.
    #[must_use]
    pub fn coverage(&self, window: Window) -> Coverage {
        let zero = |(t, _): (u64, f64)| (t, 0);
        let segments = self.segments(window).map(|(a, b)| (zero(a), zero(b)));
        coverage_of(&trapezoid::integrate(segments, window), window)
    }
}
