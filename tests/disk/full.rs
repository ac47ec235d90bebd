//! The disk is full when the daemon starts: it samples anyway, and once there is room
//! again every sample taken meanwhile is written.

use super::*;

#[test]
fn a_full_disk_at_start_up_keeps_sampling_and_loses_nothing_once_there_is_room() {
    if skip() {
        return;
    }
    let fs = LoopFs::new(8);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("edgewatt.toml");
    std::fs::write(
        &config,
        "[store]\nfsync_interval_ms = 100\n[power]\nsource = \"none\"\n",
    )
    .unwrap();
    let state = fs.mnt().join("state");
    let (config, state) = (config.to_str().unwrap(), state.to_str().unwrap());
    let args = [
        "run",
        "--rate-hz",
        "50",
        "--config",
        config,
        "--state-dir",
        state,
    ];
    let ready = Ready::new(dir.path());
    // A first daemon, killed: its segment is left open for the next start to repair.
    let mut first = ready.spawn(&mut fs.command("exec \"$0\" \"$@\"", &args));
    first.kill().unwrap();
    first.wait().unwrap();

    // The disk fills up while no daemon runs (three rounds: ext4 gives back blocks it
    // had reserved once the data is on disk); then one starts on it.
    let filler = fs.mnt().join("filler");
    let script = format!(
        "for i in 1 2 3; do dd if=/dev/zero of='{}'$i bs=1k 2>/dev/null; sync; done; \
         exec \"$0\" \"$@\"",
        filler.display()
    );
    // A watchdog ping every 50 ms of the sampling loop's progress.
    let mut cmd = fs.command(&script, &args);
    cmd.env("WATCHDOG_USEC", "100000");
    let mut child = spawn_piped(&ready, &mut cmd);
    let mut err = StderrLines::of(&mut child);
    let refused = err.wait_for("No space left on device");
    assert!(refused.contains("sampling goes on"), "{refused}");
    assert!(
        refused.contains("segment header") || refused.contains("seal frame"),
        "the segment could not be repaired or opened: {refused}"
    );
    // A second of sampling on the full disk (at 50 Hz), its samples kept in memory.
    ready.wait_for("WATCHDOG=1", 20);
    // Room again. The filesystem is mounted in the daemon's own mount namespace only.
    for i in 1..=3 {
        let path = format!("/proc/{}/root{}{i}", child.id(), filler.display());
        std::fs::remove_file(path).unwrap();
    }
    err.wait_for("writing the log works again");
    stop(&mut child);
    eprintln!("{:#?}", err.rest());

    let copy = tempfile::tempdir().unwrap();
    let state = fs.copy_out(copy.path());
    let records = records(&state);
    let second_start = records.iter().rposition(|r| r["event"] == "start").unwrap();
    let run = &records[second_start..];
    assert_no_sample_lost(run);
    let samples = run.iter().filter(|r| r["type"] == "sample").count();
    assert!(samples >= 50, "this run's {samples} samples are there");
    assert!(
        run.iter().any(|r| r["event"] == "store_error"
            && r["message"].as_str().unwrap().contains("No space left")),
        "the failure is in the log too"
    );
    assert_eq!(
        run.iter().find(|r| r["event"] == "stop").unwrap()["reason"],
        "SIGTERM"
    );
    let segments = crate::common::inspect(&state);
    for s in &segments {
        assert_eq!(
            (s["open"].as_bool(), s["corrupt_frames"].as_u64()),
            (Some(false), Some(0)),
            "{s}"
        );
    }
    let repaired = segments
        .iter()
        .filter(|s| s["seal_reason"] == "Recovered")
        .count();
    assert_eq!(repaired, 1, "the killed daemon's segment was repaired");
}
