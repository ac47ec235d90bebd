mod compare;
mod dist;
mod knee;
mod linear;
mod multi;

/// |got − want| ≤ tol·max(|want|, 1).
#[track_caller]
fn close(got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * want.abs().max(1.0),
        "got {got}, want {want} (tolerance {tol})"
    );
}
