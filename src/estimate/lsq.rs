//! Least squares with a few regressors (Householder QR), for `calibrate`.
//!
//! Small on purpose: the statistics library with standard errors and CIs is being built
//! elsewhere (`analysis::fit`); when both are on main, this is to be replaced by its least
//! squares, which has the same contract (coefficients of `y ≈ X·β`, `None` when `X` has
//! fewer rows than columns or is rank deficient).

/// β minimising ‖y − X·β‖² for `x` given row by row (each row the same length), or `None`
/// when there are fewer rows than columns, a value is not finite, or the columns are
/// (numerically) dependent.
#[must_use]
pub fn solve(x: &[Vec<f64>], y: &[f64]) -> Option<Vec<f64>> {
    let (n, k) = (x.len(), x.first()?.len());
    if n < k || k == 0 || y.len() != n || x.iter().any(|r| r.len() != k) {
        return None;
    }
    if x.iter().flatten().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    // Column scales, so the rank test is relative to each column's size.
    let scale: Vec<f64> = (0..k)
        .map(|j| x.iter().map(|r| r[j].abs()).fold(0.0, f64::max))
        .collect();
    if scale.iter().any(|&s| s == 0.0) {
        return None;
    }
    let mut a: Vec<Vec<f64>> = x
        .iter()
        .map(|r| r.iter().zip(&scale).map(|(v, s)| v / s).collect())
        .collect();
    let mut b = y.to_vec();
    for j in 0..k {
        let norm = (j..n).map(|i| a[i][j] * a[i][j]).sum::<f64>().sqrt();
        if norm < 1e-10 {
            return None;
        }
        let alpha = if a[j][j] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = (j..n).map(|i| a[i][j]).collect();
        v[0] -= alpha;
        let vv = v.iter().map(|t| t * t).sum::<f64>();
        if vv > 0.0 {
            for c in j..k {
                let d = (j..n).map(|i| v[i - j] * a[i][c]).sum::<f64>() * 2.0 / vv;
                (j..n).for_each(|i| a[i][c] -= d * v[i - j]);
            }
            let d = (j..n).map(|i| v[i - j] * b[i]).sum::<f64>() * 2.0 / vv;
            (j..n).for_each(|i| b[i] -= d * v[i - j]);
        }
        if a[j][j].abs() < 1e-9 * norm.max(1.0) {
            return None;
        }
    }
    let mut beta = vec![0.0; k];
    for j in (0..k).rev() {
        let s = (j + 1..k).map(|c| a[j][c] * beta[c]).sum::<f64>();
        beta[j] = (b[j] - s) / a[j][j];
    }
    Some(beta.iter().zip(&scale).map(|(b, s)| b / s).collect())
}

#[cfg(test)]
mod tests {
    use super::solve;

    #[test]
    fn an_exact_plane_is_recovered() {
        // y = 2 + 3·x1 − 0.5·x2.
        let pts = [(0.0, 1.0), (1.0, 0.0), (2.0, 5.0), (3.0, 2.0), (4.0, 8.0)];
        let x: Vec<Vec<f64>> = pts.iter().map(|&(a, b)| vec![1.0, a, b]).collect();
        let y: Vec<f64> = pts.iter().map(|&(a, b)| 2.0 + 3.0 * a - 0.5 * b).collect();
        let beta = solve(&x, &y).unwrap();
        for (got, want) in beta.iter().zip([2.0, 3.0, -0.5]) {
            assert!((got - want).abs() < 1e-9, "{beta:?}");
        }
    }

    #[test]
    fn noisy_points_give_the_least_squares_line() {
        // Points (0, 0), (1, 1), (2, 1): the line 1/6 + x/2 (hand-computed normal equations).
        let x = vec![vec![1.0, 0.0], vec![1.0, 1.0], vec![1.0, 2.0]];
        let beta = solve(&x, &[0.0, 1.0, 1.0]).unwrap();
        assert!((beta[0] - 1.0 / 6.0).abs() < 1e-12 && (beta[1] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn degenerate_input_gives_none_never_nan() {
        let same = vec![vec![1.0, 2.0], vec![1.0, 2.0], vec![1.0, 2.0]];
        assert_eq!(solve(&same, &[1.0, 2.0, 3.0]), None, "dependent columns");
        assert_eq!(solve(&[vec![1.0, 2.0]], &[1.0]), None, "fewer rows than columns");
        assert_eq!(solve(&[], &[]), None);
        let zero = vec![vec![1.0, 0.0], vec![1.0, 0.0]];
        assert_eq!(solve(&zero, &[1.0, 2.0]), None, "a zero column");
        let nan = vec![vec![1.0, f64::NAN], vec![1.0, 1.0]];
        assert_eq!(solve(&nan, &[1.0, 2.0]), None);
    }
}
