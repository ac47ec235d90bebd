//! The schedule across a SIGHUP reload, and after the workload thread died.

use super::*;

/// SIGHUP: a plan kept by name keeps its schedule (here: running, and its `every_s`
/// counted from its last start), takes its new `[when]`; a new plan runs at start; a
/// removed one is gone.
#[test]
fn a_reload_keeps_the_schedule_of_plans_kept_by_name() {
    let clock = VirtualClock::at(local(2026, 6, 10, 12, 0));
    let mut s = Scheduler::new(
        vec![
            ("kept".to_owned(), when(true, Some(600), &[])),
            ("gone".to_owned(), when(true, None, &[])),
        ],
        cet(),
        None,
        clock.now(),
    )
    .0;
    let due: Vec<usize> = s.poll(clock.now()).iter().map(|d| d.index).collect();
    assert_eq!(due, [0, 1]);
    clock.mono.advance_us(100_000_000);
    s.reload(
        vec![
            ("new".to_owned(), when(true, None, &[])),
            ("kept".to_owned(), when(false, Some(300), &[])),
        ],
        clock.now(),
    );
    assert_eq!((s.index_of("kept"), s.index_of("gone")), (Some(1), None));
    let due: Vec<String> = s
        .poll(clock.now())
        .iter()
        .map(|d| format!("{:?}", (d.index, &d.trigger)))
        .collect();
    assert_eq!(due, ["(0, AtStart)"], "kept is still running, new starts");
    s.finished(1);
    // kept started 100 s ago; its new every_s (300) is due 200 s from now.
    clock.mono.advance_us(199_000_000);
    assert!(s.poll(clock.now()).is_empty());
    clock.mono.advance_us(1_000_000);
    let due: Vec<(usize, Trigger)> = s
        .poll(clock.now())
        .into_iter()
        .map(|d| (d.index, d.trigger))
        .collect();
    assert_eq!(due, [(1, Trigger::Every)]);
}

#[test]
fn abandoned_plans_are_not_busy_any_more() {
    let clock = VirtualClock::at(local(2026, 6, 10, 12, 0));
    let (mut s, _) = scheduler(when(true, Some(60), &[]), None, &clock);
    assert_eq!(s.poll(clock.now()).len(), 1);
    clock.mono.advance_us(61_000_000);
    assert!(s.poll(clock.now()).is_empty(), "busy: not due again");
    s.abandon();
    assert!(s.settled());
    assert_eq!(s.poll(clock.now()).len(), 1, "due again by its every_s");
}
