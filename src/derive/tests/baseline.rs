use super::close;
use super::series;
use super::win;
use crate::derive::baseline;
use crate::derive::quietest_window;
use crate::derive::DeriveError;
use crate::derive::MIN_BASELINE_POINTS;

#[test]
fn baseline_statistics_over_an_explicit_window() {
    // Window [1, 4] s holds 1, 2, 3, 10 (edges included; 50 at 0 s and 7 at 5 s are out).
    // mean = 16/4 = 4; median = (2 + 3)/2 = 2.5; deviations −3 −2 −1 6 → Σ² = 50,
    // sd = √(50/3).
    let s = series(
        &[
            (0.0, 50.0),
            (1.0, 1.0),
            (2.0, 2.0),
            (3.0, 3.0),
            (4.0, 10.0),
            (5.0, 7.0),
        ],
        &[],
        1.0,
    );
    let b = baseline(&s, win(1.0, 4.0)).unwrap();
    assert_eq!(b.n, 4);
    close(b.mean, 4.0);
    close(b.median, 2.5);
    close(b.sd, (50.0_f64 / 3.0).sqrt());
    assert_eq!(b.window, win(1.0, 4.0));
    // Odd count: [1, 3] → 1, 2, 3: median 2, sd 1.
    let b = baseline(&s, win(1.0, 3.0)).unwrap();
    close(b.median, 2.0);
    close(b.sd, 1.0);
}

#[test]
fn baseline_needs_enough_points() {
    // [0.5, 2.5] holds the points at 1 and 2 s only.
    let s = series(&[(0.0, 5.0), (1.0, 5.0), (2.0, 5.0), (3.0, 5.0)], &[], 1.0);
    assert_eq!(
        baseline(&s, win(0.5, 2.5)),
        Err(DeriveError::TooFewPoints {
            what: "baseline".into(),
            t0_us: 500_000,
            t1_us: 2_500_000,
            n: 2,
            min: MIN_BASELINE_POINTS,
        })
    );
}

#[test]
fn quietest_window_finds_the_lowest_mean_and_the_earliest_tie() {
    // 1 Hz values 50 50 10 12 11 40 10 12 11 60 at 0..9 s; windows of 2 s hold 3 points:
    // means 36.7 24 11 21 20.3 20.7 11 27.7 (starts 0..7 s). 11 at 2 s and at 6 s tie →
    // the earliest, [2, 4] s: 10 12 11 → mean 11, median 11, sd 1.
    let v = [50.0, 50.0, 10.0, 12.0, 11.0, 40.0, 10.0, 12.0, 11.0, 60.0];
    let pts: Vec<(f64, f64)> = v.iter().enumerate().map(|(i, &x)| (i as f64, x)).collect();
    let s = series(&pts, &[], 1.0);
    let b = quietest_window(&s, 2_000_000).unwrap();
    assert_eq!(b.window, win(2.0, 4.0));
    assert_eq!(b.n, 3);
    close(b.mean, 11.0);
    close(b.median, 11.0);
    close(b.sd, 1.0);
}

#[test]
fn quietest_window_skips_windows_with_too_few_points() {
    // 0 0 | gap | 5 5 5 at 0 1 | 10 11 12 s. Windows of 2 s starting at 0 or 1 s hold
    // fewer than 3 points (1 and 2); the only candidate is [10, 12] with mean 5.
    let s = series(
        &[
            (0.0, 0.0),
            (1.0, 0.0),
            (10.0, 5.0),
            (11.0, 5.0),
            (12.0, 5.0),
        ],
        &[],
        1.0,
    );
    let b = quietest_window(&s, 2_000_000).unwrap();
    assert_eq!(b.window, win(10.0, 12.0));
    close(b.mean, 5.0);
    // No 3 s window fits at all.
    assert_eq!(
        quietest_window(&s, 3_000_000),
        Err(DeriveError::NoQuietWindow {
            len_us: 3_000_000,
            n: 5,
            min: MIN_BASELINE_POINTS
        })
    );
}
