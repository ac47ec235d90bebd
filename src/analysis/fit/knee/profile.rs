//! The profile of the knee model: RSS(ψ) of y = a + b·min(x, ψ), and its exact minimum.
//!
//! For a fixed ψ the model is a line in z = min(x, ψ), so RSS(ψ) is an OLS fit. Between two
//! consecutive tested values uⱼ < ψ < uⱼ₊₁ the points split into a left set (x ≤ uⱼ, on
//! the line) and a right set (x ≥ uⱼ₊₁, on the plateau c = a + b·ψ). The least-squares
//! line through the left set and the mean of the right set, met at ψ* = (c − a)/b, are the
//! minimum over that open segment when ψ* falls inside it (Hudson 1966); otherwise the
//! minimum is at an end, a tested value, which is evaluated anyway. So the search is
//! exact, not limited to a grid.

/// Points sorted by x, with the distinct x values and the sums that give RSS(ψ) in
/// O(log n).
pub(super) struct Profile {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    /// `first[k]`: the index in `x` of the first point with x = u[k].
    pub first: Vec<usize>,
    pub curve: Curve,
}

/// RSS(ψ) from running sums taken only where x steps to the next tested value: which
/// points are on the line and which on the plateau changes only there, so that is all a
/// fit at any ψ reads (the bootstrap refills these sums per resample).
pub(super) struct Curve {
    /// Distinct x values, ascending.
    pub u: Vec<f64>,
    /// Shifts (mean x, mean y) taken off before summing, which keeps the sums of squares
    /// free of cancellation.
    pub shift: (f64, f64),
    /// `bounds[k]`: sums over the points with x < u[k] (shifted), summed in x order;
    /// `bounds[u.len()]`: over all of them.
    pub bounds: Vec<Sums>,
}

/// Σ1, Σx, Σx², Σxy, Σy, Σy² of a set of (shifted) points.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Sums {
    pub n: f64,
    pub x: f64,
    pub xx: f64,
    pub xy: f64,
    pub y: f64,
    pub yy: f64,
}

impl Sums {
    pub fn add(self, x: f64, y: f64) -> Self {
        Self {
            n: self.n + 1.0,
            x: self.x + x,
            xx: self.xx + x * x,
            xy: self.xy + x * y,
            y: self.y + y,
            yy: self.yy + y * y,
        }
    }

    fn minus(self, o: Self) -> Self {
        Self {
            n: self.n - o.n,
            x: self.x - o.x,
            xx: self.xx - o.xx,
            xy: self.xy - o.xy,
            y: self.y - o.y,
            yy: self.yy - o.yy,
        }
    }

    /// These points joined by those of `right` moved to x = `at`.
    fn with_flat(self, right: Self, at: f64) -> Self {
        Self {
            n: self.n + right.n,
            x: self.x + right.n * at,
            xx: self.xx + right.n * at * at,
            xy: self.xy + at * right.y,
            y: self.y + right.y,
            yy: self.yy + right.yy,
        }
    }

    /// Σ(y − ȳ)².
    fn syy(self) -> f64 {
        (self.yy - self.y * self.y / self.n).max(0.0)
    }

    /// The least-squares line (a, b, rss); `None` when x does not vary.
    fn line(self) -> Option<(f64, f64, f64)> {
        let sxx = self.xx - self.x * self.x / self.n;
        let sxy = self.xy - self.x * self.y / self.n;
        if sxx <= 0.0 {
            return None;
        }
        let b = sxy / sxx;
        let a = (self.y - b * self.x) / self.n;
        Some((a, b, (self.syy() - b * sxy).max(0.0)))
    }
}

impl Profile {
    pub fn new(x: &[f64], y: &[f64]) -> Self {
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
        let xs: Vec<f64> = order.iter().map(|&i| x[i]).collect();
        let ys: Vec<f64> = order.iter().map(|&i| y[i]).collect();
        Self::sorted(xs, ys)
    }

    /// From points already sorted by x.
    pub fn sorted(x: Vec<f64>, y: Vec<f64>) -> Self {
        let mut u = Vec::new();
        let mut first = Vec::new();
        for (i, v) in x.iter().enumerate() {
            if u.last() != Some(v) {
                u.push(*v);
                first.push(i);
            }
        }
        let shift = (mean(&x), mean(&y));
        let mut bounds = Vec::with_capacity(u.len() + 1);
        let mut acc = Sums::default();
        let mut next = first.iter().peekable();
        for (i, (xi, yi)) in x.iter().zip(&y).enumerate() {
            if next.next_if(|&&f| f == i).is_some() {
                bounds.push(acc);
            }
            acc = acc.add(xi - shift.0, yi - shift.1);
        }
        bounds.push(acc);
        Self {
            x,
            y,
            first,
            curve: Curve { u, shift, bounds },
        }
    }
}

impl Curve {
    /// The sums of the model's points at ψ, z = min(x, ψ), and whether z varies.
    fn sums_at(&self, psi: f64) -> (Sums, bool) {
        let left = self.u.partition_point(|&v| v < psi);
        let below = self.bounds[left];
        let all = self.bounds[self.u.len()];
        let z = below.with_flat(all.minus(below), psi - self.shift.0);
        let flat = usize::from(left < self.u.len());
        (z, left + flat >= 2)
    }

    /// RSS of the knee model at ψ (ψ ≤ u₀ is the flat model, ψ ≥ u_max the line).
    pub fn rss_at(&self, psi: f64) -> f64 {
        let (z, varies) = self.sums_at(psi);
        varies
            .then(|| z.line())
            .flatten()
            .map_or_else(|| z.syy(), |(_, _, rss)| rss)
    }

    /// (a, b) of the knee model at ψ; b = 0 for the flat model.
    pub fn coefficients_at(&self, psi: f64) -> (f64, f64) {
        let (sx, sy) = self.shift;
        let (z, varies) = self.sums_at(psi);
        varies
            .then(|| z.line())
            .flatten()
            .map_or((z.y / z.n + sy, 0.0), |(a, b, _)| (a + sy - b * sx, b))
    }

    /// The exact minimiser ψ̂ over [u₁, u_max] and its RSS. Ties go to the smaller ψ.
    pub fn minimise(&self) -> (f64, f64) {
        let mut best = (self.u[1], self.rss_at(self.u[1]));
        let mut consider = |psi: f64, rss: f64| {
            if rss < best.1 {
                best = (psi, rss);
            }
        };
        for k in 1..self.u.len() {
            consider(self.u[k], self.rss_at(self.u[k]));
            if let Some((psi, rss)) = self.interior_minimum(k) {
                consider(psi, rss);
            }
        }
        best
    }

    /// The minimum inside (u[k], u[k+1]), if it lies strictly inside (k ≥ 1: the left set
    /// needs two x values for a line).
    fn interior_minimum(&self, k: usize) -> Option<(f64, f64)> {
        let next = *self.u.get(k + 1)?;
        let left = self.bounds[k + 1];
        let right = self.bounds[self.u.len()].minus(left);
        let (a, b, rss_left) = left.line()?;
        if b == 0.0 {
            return None;
        }
        // Shifted, the plateau's mean meets the line at ψ* − shift.
        let psi = (right.y / right.n - a) / b + self.shift.0;
        (psi > self.u[k] && psi < next).then_some((psi, rss_left + right.syy()))
    }

    /// The tested values on either side of ψ: the segment holding it, or, when ψ is a
    /// tested value, its two neighbours.
    pub fn bracket(&self, psi: f64) -> (f64, f64) {
        let last = self.u.len() - 1;
        match self.u.iter().position(|&v| v >= psi) {
            None => (self.u[last], self.u[last]),
            Some(k) if self.u[k] == psi => (self.u[k.saturating_sub(1)], self.u[(k + 1).min(last)]),
            Some(0) => (self.u[0], self.u[0]),
            Some(k) => (self.u[k - 1], self.u[k]),
        }
    }

    /// ψ values to scan for the profile CI: every tested value and `per_segment` − 1
    /// points inside each segment, ascending.
    pub fn scan(&self, per_segment: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.u.len() * per_segment);
        for w in self.u.windows(2) {
            for s in 0..per_segment {
                out.push(w[0] + (w[1] - w[0]) * s as f64 / per_segment as f64);
            }
        }
        out.extend(self.u.last());
        out
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// RSS at ψ the direct way: z = min(x, ψ), then a two-pass least-squares line.
    fn direct_rss(x: &[f64], y: &[f64], psi: f64) -> f64 {
        let z: Vec<f64> = x.iter().map(|v| v.min(psi)).collect();
        let (mz, my) = (mean(&z), mean(y));
        let sxx: f64 = z.iter().map(|v| (v - mz) * (v - mz)).sum();
        let sxy: f64 = z.iter().zip(y).map(|(a, b)| (a - mz) * (b - my)).sum();
        let syy: f64 = y.iter().map(|v| (v - my) * (v - my)).sum();
        if z.iter().all(|v| *v == z[0]) {
            syy
        } else {
            (syy - sxy * sxy / sxx).max(0.0)
        }
    }

    proptest! {
        /// The running sums give what z = min(x, ψ) and a fresh fit give, at tested
        /// values, between them and outside their range; and ψ̂ is at least as good as
        /// every one of them.
        #[test]
        fn running_sums_agree_with_a_direct_fit(
            pts in prop::collection::vec((0u32..12, -1e3f64..1e3), 3..40),
            offset in prop::sample::select(vec![0.0, 1e6, -5e5]),
        ) {
            let x: Vec<f64> = pts.iter().map(|p| f64::from(p.0) * 100.0 + offset).collect();
            let y: Vec<f64> = pts.iter().map(|p| p.1 + 1e5).collect();
            let profile = Profile::new(&x, &y);
            let scale = direct_rss(&x, &y, f64::NEG_INFINITY).max(1.0);
            let curve = &profile.curve;
            let mut psis = curve.scan(3);
            psis.extend([offset - 50.0, offset + 5e3]);
            for &psi in &psis {
                let (got, want) = (curve.rss_at(psi), direct_rss(&profile.x, &profile.y, psi));
                prop_assert!((got - want).abs() <= 1e-7 * scale, "ψ {psi}: {got} vs {want}");
            }
            if curve.u.len() >= 2 {
                let (_, best) = curve.minimise();
                for &psi in &psis {
                    prop_assert!(best <= direct_rss(&profile.x, &profile.y, psi) + 1e-7 * scale);
                }
            }
        }
    }

    #[test]
    fn coefficients_are_in_the_units_of_the_data() {
        let x = [1e6, 2e6, 3e6, 4e6, 5e6];
        let y: Vec<f64> = x.iter().map(|v: &f64| 7.0 + 2e-6 * v.min(3e6)).collect();
        let profile = Profile::new(&x, &y);
        let (a, b) = profile.curve.coefficients_at(3e6);
        assert!(
            (a - 7.0).abs() < 1e-9 && (b - 2e-6).abs() < 1e-15,
            "{a} {b}"
        );
        assert!(profile.curve.rss_at(3e6) < 1e-18);
        let (flat, zero) = profile.curve.coefficients_at(1e6);
        assert!((flat - mean(&y)).abs() < 1e-12 && zero == 0.0);
    }
}
