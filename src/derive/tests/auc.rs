use super::close;
use super::series;
use super::us;
use super::win;
use crate::derive::auc;
use crate::derive::phase_auc;
use crate::derive::runs::phase_windows;
use crate::derive::DeriveError;
use crate::derive::GapRule;
use crate::derive::Series;
use crate::derive::Window;
use crate::record::PhaseMark;
use crate::record::RunPhase;

#[test]
fn brief_example_trapezoids_above_baseline() {
    // (0 s, 10 %), (1 s, 30 %), (3 s, 30 %), baseline 10:
    // (0 + 20)/2 · 1 + (20 + 20)/2 · 2 = 10 + 40 = 50 %·s. The 2 s interval is within
    // 2.5 × the 1 s nominal interval, so it is integrated.
    let s = series(&[(0.0, 10.0), (1.0, 30.0), (3.0, 30.0)], &[], 1.0);
    let a = auc(&s, win(0.0, 3.0), 10.0);
    close(a.above, 50.0);
    close(a.signed, 50.0);
    assert_eq!(a.baseline, 10.0);
    assert_eq!(a.n_points, 3);
    assert_eq!(a.coverage.integrated_us, 3_000_000);
    assert_eq!(a.coverage.fraction, 1.0);
    assert_eq!(a.coverage.largest_gap_us, 0);
    assert_eq!(a.coverage.largest_gap, None);
}

#[test]
fn irregular_intervals() {
    // (0, 0), (0.5, 40), (2, 10), (2.2, 10), baseline 0:
    // (0 + 40)/2 · 0.5 = 10; (40 + 10)/2 · 1.5 = 37.5; (10 + 10)/2 · 0.2 = 2 → 49.5.
    let s = series(
        &[(0.0, 0.0), (0.5, 40.0), (2.0, 10.0), (2.2, 10.0)],
        &[],
        1.0,
    );
    let a = auc(&s, win(0.0, 2.2), 0.0);
    close(a.above, 49.5);
    close(a.signed, 49.5);
    assert_eq!(a.coverage.fraction, 1.0);
}

#[test]
fn long_interval_is_a_gap_and_not_integrated() {
    // Points at 0 1 2 | 6 7 8 s, nominal 1 s: 2 → 6 is 4 s > 2.5 s, a gap.
    // Integrated: (10+20)/2 + (20+30)/2 + (100+20)/2 + (20+10)/2 = 15 + 25 + 60 + 15 = 115.
    // Window [0, 10]: integrated 2 s + 2 s = 4 s → coverage 0.4; holes [2, 6] (4 s) and
    // [8, 10] (2 s) → largest gap 4 s at [2, 6].
    let pts = [
        (0.0, 10.0),
        (1.0, 20.0),
        (2.0, 30.0),
        (6.0, 100.0),
        (7.0, 20.0),
        (8.0, 10.0),
    ];
    let s = series(&pts, &[], 1.0);
    assert!(s.is_gap(2));
    assert!(!s.is_gap(1));
    let a = auc(&s, win(0.0, 10.0), 0.0);
    close(a.above, 115.0);
    assert_eq!(a.coverage.integrated_us, 4_000_000);
    assert_eq!(a.coverage.fraction, 0.4);
    assert_eq!(a.coverage.largest_gap_us, 4_000_000);
    assert_eq!(a.coverage.largest_gap, Some(win(2.0, 6.0)));
    assert_eq!(a.n_points, 6);
}

#[test]
fn exactly_the_gap_factor_is_still_integrated() {
    // 2.5 s with nominal 1 s: not longer than 2.5 ×, so integrated: 4 · 2.5 = 10.
    let s = series(&[(0.0, 4.0), (2.5, 4.0)], &[], 1.0);
    close(auc(&s, win(0.0, 2.5), 0.0).above, 10.0);
    // 2.500001 s is longer: nothing integrated.
    let rule = GapRule::new(1_000_000, 2.5).unwrap();
    let s = Series::from_parts(&[(0, 4.0), (2_500_001, 4.0)], &[], rule).unwrap();
    let a = auc(&s, Window::new(0, 2_500_001).unwrap(), 0.0);
    assert_eq!(a.above, 0.0);
    assert_eq!(a.coverage.fraction, 0.0);
}

#[test]
fn break_between_points_is_a_gap() {
    // (0, 10), (1, 10), (3, 10) with a missing point at 2 s: 1 → 3 is short (2 s) but
    // broken. Integrated: 10 · 1 = 10 over 1 s of 3 → coverage 1/3, largest gap [1, 3].
    let s = series(&[(0.0, 10.0), (1.0, 10.0), (3.0, 10.0)], &[2.0], 1.0);
    let a = auc(&s, win(0.0, 3.0), 0.0);
    close(a.above, 10.0);
    assert_eq!(a.coverage.fraction, 1.0 / 3.0);
    assert_eq!(a.coverage.largest_gap, Some(win(1.0, 3.0)));
}

#[test]
fn window_edges_between_points_take_their_fraction() {
    // Line (0, 0) → (2, 20): f(0.5) = 5, f(1.5) = 15 → (5 + 15)/2 · 1 = 10.
    let s = series(&[(0.0, 0.0), (2.0, 20.0), (4.0, 20.0)], &[], 2.0);
    let a = auc(&s, win(0.5, 1.5), 0.0);
    close(a.above, 10.0);
    assert_eq!(a.n_points, 0);
    assert_eq!(a.coverage.fraction, 1.0);
    // [1, 4]: f(1) = 10 → (10 + 20)/2 · 1 + (20 + 20)/2 · 2 = 15 + 40 = 55.
    close(auc(&s, win(1.0, 4.0), 0.0).above, 55.0);
    // Window running past the last point: [3, 6] → 20 · 1 = 20, coverage 1/3, the
    // uncovered tail [4, 6] is the largest gap.
    let a = auc(&s, win(3.0, 6.0), 0.0);
    close(a.above, 20.0);
    assert_eq!(a.coverage.fraction, 1.0 / 3.0);
    assert_eq!(a.coverage.largest_gap, Some(win(4.0, 6.0)));
}

#[test]
fn edge_interpolates_the_clamped_excess() {
    // (0, 0), (2, 40), baseline 20. Clamped f = 0, 20; at the edge t = 1: 10 →
    // (10 + 20)/2 · 1 = 15. Signed f = −20, 20; at t = 1: 0 → (0 + 20)/2 · 1 = 10.
    let s = series(&[(0.0, 0.0), (2.0, 40.0)], &[], 1.0);
    let a = auc(&s, win(1.0, 2.0), 20.0);
    close(a.above, 15.0);
    close(a.signed, 10.0);
}

#[test]
fn negative_excursions_clamped_versus_signed() {
    // (0, 10), (1, 0), (2, 10), (3, 30), baseline 10 → f = 0, −10, 0, 20.
    // Signed: (0 − 10)/2 + (−10 + 0)/2 + (0 + 20)/2 = −5 − 5 + 10 = 0.
    // Clamped: f = 0, 0, 0, 20 → 0 + 0 + 10 = 10.
    let s = series(
        &[(0.0, 10.0), (1.0, 0.0), (2.0, 10.0), (3.0, 30.0)],
        &[],
        1.0,
    );
    let a = auc(&s, win(0.0, 3.0), 10.0);
    close(a.signed, 0.0);
    close(a.above, 10.0);
    // [0, 2] below a baseline of 20: f = −10, −20, −10 → clamped 0;
    // signed (−10 − 20)/2 + (−20 − 10)/2 = −30.
    let a = auc(&s, win(0.0, 2.0), 20.0);
    assert_eq!(a.above, 0.0);
    close(a.signed, -30.0);
}

#[test]
fn empty_series_and_window_outside_it() {
    let s = series(&[], &[], 1.0);
    let a = auc(&s, win(0.0, 5.0), 0.0);
    assert_eq!((a.above, a.signed, a.n_points), (0.0, 0.0, 0));
    assert_eq!(a.coverage.largest_gap, Some(win(0.0, 5.0)));
    let s = series(&[(10.0, 1.0), (11.0, 1.0)], &[], 1.0);
    assert_eq!(auc(&s, win(0.0, 5.0), 0.0).coverage.integrated_us, 0);
    assert_eq!(auc(&s, win(12.0, 15.0), 0.0).coverage.integrated_us, 0);
}

#[test]
fn phases_split_the_window() {
    // (0, 10), (1, 30), (3, 30), baseline 10 → f = 0, 20, 20 (20 at 2 s too).
    // load [0, 1]: 10; prefill [1, 2]: 20; decode [2, 3]: 20 → sum 50, the whole AUC.
    let s = series(&[(0.0, 10.0), (1.0, 30.0), (3.0, 30.0)], &[], 1.0);
    let marks = [
        (RunPhase::Load, 0.0),
        (RunPhase::Prefill, 1.0),
        (RunPhase::Decode, 2.0),
        (RunPhase::Done, 3.0),
    ]
    .map(|(phase, t)| PhaseMark {
        phase,
        mono_us: us(t),
    });
    let phases = phase_windows(&marks);
    assert_eq!(phases[1], (RunPhase::Prefill, win(1.0, 2.0)));
    let got = phase_auc(&s, &phases, 10.0).unwrap();
    let names: Vec<RunPhase> = got.iter().map(|p| p.phase).collect();
    assert_eq!(names, [RunPhase::Load, RunPhase::Prefill, RunPhase::Decode]);
    close(got[0].auc.above, 10.0);
    close(got[1].auc.above, 20.0);
    close(got[2].auc.above, 20.0);
    assert_eq!(got[1].auc.n_points, 1);
    let empty = [(RunPhase::Decode, Window::spanning(us(2.0), us(2.0)))];
    let err = phase_auc(&s, &empty, 10.0).unwrap_err();
    assert_eq!(
        err,
        DeriveError::EmptyPhase {
            phase: RunPhase::Decode,
            t_start_us: 2_000_000,
            t_end_us: 2_000_000
        }
    );
    assert_eq!(
        err.to_string(),
        "phase decode [2000000, 2000000] µs is empty: its end must be after its start"
    );
}

#[test]
fn series_rejects_disorder_and_non_finite_values() {
    let rule = GapRule::new(1_000, 2.5).unwrap();
    let mut s = Series::new(rule);
    s.push(5, 1.0).unwrap();
    assert_eq!(
        s.push(5, 1.0),
        Err(DeriveError::SeriesOrder {
            t_us: 5,
            prev_us: 5
        })
    );
    assert_eq!(
        s.push_break(4),
        Err(DeriveError::SeriesOrder {
            t_us: 4,
            prev_us: 5
        })
    );
    assert_eq!(s.push(6, f64::NAN), Err(DeriveError::NotFinite { t_us: 6 }));
    assert_eq!(
        Window::new(3, 3),
        Err(DeriveError::EmptyWindow {
            start_us: 3,
            end_us: 3
        })
    );
    assert_eq!(GapRule::new(0, 2.5), Err(DeriveError::ZeroInterval));
    assert_eq!(
        GapRule::new(10, 0.5),
        Err(DeriveError::BadGapFactor { factor: 0.5 })
    );
}
