//! The profile of the knee model: RSS(ψ) of y = a + b·min(x, ψ), and its exact minimum.
//!
//! For a fixed ψ the model is a line in z = min(x, ψ), so RSS(ψ) is an OLS fit. Between two
//! consecutive tested values uⱼ < ψ < uⱼ₊₁ the points split into a left set (x ≤ uⱼ, on
//! the line) and a right set (x ≥ uⱼ₊₁, on the plateau c = a + b·ψ). The least-squares
//! line through the left set and the mean of the right set, met at ψ* = (c − a)/b, are the
//! minimum over that open segment when ψ* falls inside it (Hudson 1966); otherwise the
//! minimum is at an end, a tested value, which is evaluated anyway. So the search is
//! exact, not limited to a grid.

/// Points sorted by x, with the distinct x values.
pub(super) struct Profile {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    /// Distinct x values, ascending.
    pub u: Vec<f64>,
    /// `first[k]`: the index in `x` of the first point with x = u[k].
    first: Vec<usize>,
}

/// A line fitted to points: (a, b, rss).
fn line(x: &[f64], y: &[f64]) -> Option<(f64, f64, f64)> {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (xi, yi) in x.iter().zip(y) {
        sxx += (xi - mx) * (xi - mx);
        sxy += (xi - mx) * (yi - my);
        syy += (yi - my) * (yi - my);
    }
    if sxx <= 0.0 {
        return None;
    }
    let b = sxy / sxx;
    Some((my - b * mx, b, (syy - b * sxy).max(0.0)))
}

/// (mean, Σ(y − mean)²).
fn level(y: &[f64]) -> (f64, f64) {
    let m = y.iter().sum::<f64>() / y.len() as f64;
    (m, y.iter().map(|v| (v - m) * (v - m)).sum())
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
        Self { x, y, u, first }
    }

    /// The same x with other y (for the bootstrap).
    pub fn with_y(&self, y: Vec<f64>) -> Self {
        Self {
            x: self.x.clone(),
            y,
            u: self.u.clone(),
            first: self.first.clone(),
        }
    }

    /// RSS of the knee model at ψ (ψ ≤ u₀ is the flat model, ψ ≥ u_max the line).
    pub fn rss_at(&self, psi: f64) -> f64 {
        let z: Vec<f64> = self.x.iter().map(|x| x.min(psi)).collect();
        line(&z, &self.y).map_or_else(|| level(&self.y).1, |(_, _, rss)| rss)
    }

    /// (a, b) of the knee model at ψ; b = 0 for the flat model.
    pub fn coefficients_at(&self, psi: f64) -> (f64, f64) {
        let z: Vec<f64> = self.x.iter().map(|x| x.min(psi)).collect();
        line(&z, &self.y).map_or_else(|| (level(&self.y).0, 0.0), |(a, b, _)| (a, b))
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
        let split = *self.first.get(k + 1)?;
        let (a, b, rss_left) = line(&self.x[..split], &self.y[..split])?;
        let (c, rss_right) = level(&self.y[split..]);
        if b == 0.0 {
            return None;
        }
        let psi = (c - a) / b;
        (psi > self.u[k] && psi < self.u[k + 1]).then_some((psi, rss_left + rss_right))
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
