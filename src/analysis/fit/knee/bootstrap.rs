//! The seeded residual bootstrap of ψ: ŷ plus residuals drawn with replacement (scaled by
//! √(n/(n − 3))), ψ refitted on each resample, and the percentile interval of the ψs.
//!
//! Each resample is the fit a fresh [`Profile`] of (x, ŷ + e*) would give, to the bit:
//! the same sums in the same order. What is not redone is what does not change between
//! resamples:
//! - the draws depend only on the seed and n, so fits with the same n share them;
//! - x, its shift and the x parts of the running sums are those of the fitted profile;
//! - the minimum reads the sums only where x steps to the next tested value
//!   ([`Curve`]), so only those are kept.
//!
//! Resamples go [`LANES`] at a time: independent running sums side by side, which the CPU
//! overlaps (a lone running sum waits on each addition).

use super::profile::Curve;
use super::profile::Profile;
use super::profile::Sums;
use super::KneeOptions;
use crate::analysis::fit::Interval;
use crate::synth::Rng;

/// Resamples fitted side by side.
const LANES: usize = 4;

/// The percentile CI of ψ for each (profile, ψ̂) (none with 0 resamples), as a lone
/// bootstrap of each gives it: the draws of a resample are the same for every fit of
/// the same n, so they are drawn once per n.
pub(super) fn percentile_cis(jobs: &[(&Profile, f64)], options: &KneeOptions) -> Vec<Interval> {
    let reps = options.bootstrap_reps;
    if reps == 0 {
        return Vec::new();
    }
    let mut resamplers: Vec<Resampler> = jobs
        .iter()
        .map(|(profile, psi)| Resampler::new(profile, *psi))
        .collect();
    let mut psis: Vec<Vec<f64>> = vec![Vec::with_capacity(reps); jobs.len()];
    let mut sizes: Vec<usize> = resamplers.iter().map(Resampler::len).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut scratch = Scratch::default();
    for n in sizes {
        let mut rng = Rng::new(options.seed);
        let below = Below::new(n as u64);
        // draws[i][lane]: the residual that point i of the lane's resample gets.
        let mut draws = vec![[0usize; LANES]; n];
        let mut done = 0;
        while done < reps {
            let lanes = LANES.min(reps - done);
            // Resample after resample, as one at a time would draw them; the lanes left
            // over in the last round keep old draws and their ψs are dropped.
            for lane in 0..lanes {
                for d in &mut draws {
                    d[lane] = below.of(rng.next_u64()) as usize;
                }
            }
            for (r, out) in resamplers.iter_mut().zip(&mut psis) {
                if r.len() == n {
                    out.extend(&r.psis(&draws, &mut scratch)[..lanes]);
                }
            }
            done += lanes;
        }
    }
    let tail = (1.0 - options.level) / 2.0;
    psis.into_iter()
        .map(|mut p| {
            p.sort_by(f64::total_cmp);
            Interval {
                lo: percentile(&p, tail),
                hi: percentile(&p, 1.0 - tail),
            }
        })
        .collect()
}

/// `x % n` for a fixed n without a division (Lemire, Kaser & Kurz 2019, "Faster remainder
/// by direct computation", with 128 fractional bits: exact for every u64 x and n ≥ 1).
/// It is what `Rng::below` computes, at a fraction of the cost of a 64-bit division,
/// which was the most of drawing a resample.
#[derive(Debug, Clone, Copy)]
struct Below {
    n: u64,
    /// ⌈2¹²⁸ / n⌉ (0 for n = 1, where every remainder is 0).
    inverse: u128,
}

impl Below {
    fn new(n: u64) -> Self {
        let inverse = match n {
            0 | 1 => 0,
            _ => u128::MAX / u128::from(n) + 1,
        };
        Self { n, inverse }
    }

    /// `x % n`: the fraction x/n in 128 bits, times n, is the remainder in its top bits.
    fn of(self, x: u64) -> u64 {
        let fraction = self.inverse.wrapping_mul(u128::from(x));
        let (hi, lo) = ((fraction >> 64) as u64, fraction as u64);
        let carry = (u128::from(lo) * u128::from(self.n)) >> 64;
        ((u128::from(hi) * u128::from(self.n) + carry) >> 64) as u64
    }
}

/// Buffers reused from resample to resample.
#[derive(Default)]
struct Scratch {
    /// The resampled y of each point, per lane.
    y: Vec<[f64; LANES]>,
    /// The y parts (Σy, Σxy, Σy²) of the running sums at each tested value, per lane.
    at: Vec<[[f64; 3]; LANES]>,
}

/// One fit's bootstrap: ŷ, the scaled residuals and the fixed x side of its profile.
struct Resampler<'a> {
    profile: &'a Profile,
    fitted: Vec<f64>,
    residuals: Vec<f64>,
    /// x − mean x, as the profile sums it.
    x_shifted: Vec<f64>,
    /// The curve each resample's sums are written into.
    curve: Curve,
}

impl<'a> Resampler<'a> {
    fn new(profile: &'a Profile, psi: f64) -> Self {
        let curve = &profile.curve;
        let (a, b) = curve.coefficients_at(psi);
        let fitted: Vec<f64> = profile.x.iter().map(|x| a + b * x.min(psi)).collect();
        let n = fitted.len();
        let scale = (n as f64 / (n - 3) as f64).sqrt();
        let residuals = profile
            .y
            .iter()
            .zip(&fitted)
            .map(|(y, f)| (y - f) * scale)
            .collect();
        let x_shifted = profile.x.iter().map(|x| x - curve.shift.0).collect();
        Self {
            profile,
            fitted,
            residuals,
            x_shifted,
            curve: Curve {
                u: curve.u.clone(),
                shift: curve.shift,
                bounds: curve.bounds.clone(),
            },
        }
    }

    fn len(&self) -> usize {
        self.fitted.len()
    }

    /// ψ̂ of the resample of each lane.
    fn psis(&mut self, draws: &[[usize; LANES]], scratch: &mut Scratch) -> [f64; LANES] {
        let n = self.len();
        scratch.y.resize(n, [0.0; LANES]);
        let total = resample(&self.fitted, &self.residuals, draws, &mut scratch.y);
        let shift_y = total.map(|t| t / n as f64);
        // The running sums of Profile::sorted, y parts only, kept where x steps.
        let first = &self.profile.first;
        scratch.at.clear();
        let mut acc = [[0.0; 3]; LANES];
        for (k, &start) in first.iter().enumerate() {
            scratch.at.push(acc);
            let end = first.get(k + 1).copied().unwrap_or(n);
            for (x, y) in self.x_shifted[start..end]
                .iter()
                .zip(&scratch.y[start..end])
            {
                for lane in 0..LANES {
                    let v = y[lane] - shift_y[lane];
                    let s = &mut acc[lane];
                    s[0] += v;
                    s[1] += x * v;
                    s[2] += v * v;
                }
            }
        }
        scratch.at.push(acc);
        let fixed = &self.profile.curve.bounds;
        let curve = &mut self.curve;
        std::array::from_fn(|lane| {
            curve.shift.1 = shift_y[lane];
            for ((bound, x_side), y_side) in curve.bounds.iter_mut().zip(fixed).zip(&scratch.at) {
                let [y, xy, yy] = y_side[lane];
                *bound = Sums {
                    xy,
                    y,
                    yy,
                    ..*x_side
                };
            }
            curve.minimise().0
        })
    }
}

/// Fills `y` with ŷ plus the drawn residuals, lane by lane, and gives each lane's Σy
/// as `mean` sums it (f64's sum starts at −0). Not inlined: on its own the sums stay in
/// registers (inlined in the bootstrap's loop they were kept on the stack, each addition
/// waiting on a store and a load).
#[inline(never)]
fn resample(
    fitted: &[f64],
    residuals: &[f64],
    draws: &[[usize; LANES]],
    y: &mut [[f64; LANES]],
) -> [f64; LANES] {
    let mut total = [-0.0; LANES];
    for ((f, d), y) in fitted.iter().zip(draws).zip(y) {
        for lane in 0..LANES {
            y[lane] = f + residuals[d[lane]];
            total[lane] += y[lane];
        }
    }
    total
}

/// The `q` quantile of sorted values (linear interpolation between order statistics).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    match sorted.get(i + 1) {
        Some(next) => sorted[i] + frac * (next - sorted[i]),
        None => sorted[i],
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    // Not proptest's (rand's) Rng.
    use crate::synth::Rng;

    /// The bootstrap one resample at a time, as it was first written: a fresh profile of
    /// (x, ŷ + e*) per resample.
    fn direct(profile: &Profile, psi: f64, options: &KneeOptions) -> Interval {
        let (a, b) = profile.curve.coefficients_at(psi);
        let fitted: Vec<f64> = profile.x.iter().map(|x| a + b * x.min(psi)).collect();
        let n = fitted.len();
        let scale = (n as f64 / (n - 3) as f64).sqrt();
        let residuals: Vec<f64> = profile
            .y
            .iter()
            .zip(&fitted)
            .map(|(y, f)| (y - f) * scale)
            .collect();
        let mut rng = Rng::new(options.seed);
        let mut psis: Vec<f64> = (0..options.bootstrap_reps)
            .map(|_| {
                let y: Vec<f64> = fitted
                    .iter()
                    .map(|f| f + residuals[rng.below(n as u64) as usize])
                    .collect();
                Profile::sorted(profile.x.clone(), y).curve.minimise().0
            })
            .collect();
        psis.sort_by(f64::total_cmp);
        let tail = (1.0 - options.level) / 2.0;
        Interval {
            lo: percentile(&psis, tail),
            hi: percentile(&psis, 1.0 - tail),
        }
    }

    fn points() -> impl Strategy<Value = Vec<(u32, f64)>> {
        prop::collection::vec((0u32..9, -50.0f64..50.0), 4..60).prop_filter(
            "3 or more x values",
            |p| {
                let mut x: Vec<u32> = p.iter().map(|q| q.0).collect();
                x.sort_unstable();
                x.dedup();
                x.len() >= 3
            },
        )
    }

    fn profile_of(pts: &[(u32, f64)], psi_true: f64) -> Profile {
        let x: Vec<f64> = pts.iter().map(|p| f64::from(p.0) * 64.0 + 1e5).collect();
        let y: Vec<f64> = pts
            .iter()
            .zip(&x)
            .map(|(p, x)| 3.0 + 0.25 * x.min(psi_true + 1e5) + p.1)
            .collect();
        Profile::new(&x, &y)
    }

    proptest! {
        /// Lanes, shared draws and sums kept only at the tested values give each fit
        /// exactly what a lone, one-resample-at-a-time bootstrap gives (bit for bit),
        /// whatever the number of resamples (a multiple of the lanes or not) and
        /// whichever other fits share the call.
        #[test]
        fn shared_lanes_match_the_direct_bootstrap(
            a in points(),
            b in points(),
            psi_true in 0.0f64..600.0,
            reps in 1usize..23,
            seed in any::<u64>(),
        ) {
            let options = KneeOptions { bootstrap_reps: reps, seed, ..KneeOptions::default() };
            let (pa, pb) = (profile_of(&a, psi_true), profile_of(&b, psi_true));
            // Same points, other y: the same n, so it shares the draws of `a`.
            let shifted: Vec<(u32, f64)> = a.iter().map(|p| (p.0, -p.1)).collect();
            let pc = profile_of(&shifted, psi_true);
            let jobs: Vec<(&Profile, f64)> = [&pa, &pb, &pc]
                .into_iter()
                .map(|p| (p, p.curve.minimise().0))
                .collect();
            let got = percentile_cis(&jobs, &options);
            prop_assert_eq!(got.len(), 3);
            for ((profile, psi), ci) in jobs.iter().zip(&got) {
                let want = direct(profile, *psi, &options);
                prop_assert_eq!(ci.lo.to_bits(), want.lo.to_bits());
                prop_assert_eq!(ci.hi.to_bits(), want.hi.to_bits());
            }
        }
    }

    proptest! {
        /// The division-free remainder is the remainder, for any x and n, near the
        /// edges too.
        #[test]
        fn below_is_the_remainder(
            x in prop_oneof![any::<u64>(), Just(u64::MAX), Just(0u64), 0u64..100],
            n in prop_oneof![1u64..5000, any::<u64>().prop_map(|v| v.max(1)), Just(u64::MAX), Just(1u64 << 63)],
        ) {
            prop_assert_eq!(Below::new(n).of(x), x % n);
        }
    }

    #[test]
    fn below_at_the_edges() {
        for n in [
            1,
            2,
            3,
            4,
            7,
            2500,
            1 << 32,
            (1 << 63) + 1,
            u64::MAX - 1,
            u64::MAX,
        ] {
            for x in [0, 1, n - 1, n, n.wrapping_add(1), u64::MAX - 1, u64::MAX] {
                assert_eq!(Below::new(n).of(x), x % n, "{x} % {n}");
            }
        }
    }

    #[test]
    fn no_resamples_no_interval() {
        let profile = profile_of(&[(0, 0.0), (1, 1.0), (2, -1.0), (3, 0.5)], 100.0);
        let options = KneeOptions {
            bootstrap_reps: 0,
            ..KneeOptions::default()
        };
        assert!(percentile_cis(&[(&profile, 128.0)], &options).is_empty());
        assert!(percentile_cis(&[], &KneeOptions::default()).is_empty());
    }
}
