//! Each `fdatasync` takes about half a second: the sampling loop is never late for it.

use super::*;

const RATE_HZ: u64 = 50;

/// The daemon's main thread (its sampling loop) has waited this long for a CPU, µs.
fn cpu_wait_us(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/schedstat")).ok()?;
    Some(text.split_whitespace().nth(1)?.parse::<u64>().ok()? / 1000)
}

/// `(fdatasync calls, longest ms)` from the daemon's last line.
fn syncs(lines: &[String]) -> (u64, u64) {
    let line = lines
        .iter()
        .find(|l| l.contains("fdatasync (longest"))
        .unwrap_or_else(|| panic!("no summary line in {lines:#?}"));
    let number_before = |marker: &str| -> u64 {
        let head = &line[..line.find(marker).unwrap()];
        head.rsplit(|c: char| !c.is_ascii_digit())
            .find(|w| !w.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    (number_before(" fdatasync"), number_before(" ms)"))
}

#[test]
fn a_half_second_fdatasync_makes_no_tick_late() {
    if skip() {
        return;
    }
    let fs = LoopFs::new(64);
    let throttle = Throttle::new(&fs.device, 2);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("edgewatt.toml");
    std::fs::write(
        &config,
        "[store]\nfsync_interval_ms = 100\n[power]\nsource = \"none\"\n",
    )
    .unwrap();
    let state = fs.mnt().join("state");
    let ready = Ready::new(dir.path());
    let (config, state) = (config.to_str().unwrap(), state.to_str().unwrap());
    let rate = RATE_HZ.to_string();
    let args = [
        "run",
        "--rate-hz",
        &rate,
        "--duration-s",
        "4",
        "--config",
        config,
        "--state-dir",
        state,
    ];
    let script = format!("{}; exec \"$0\" \"$@\"", throttle.join());
    let mut child = spawn_piped(&ready, &mut fs.command(&script, &args));
    let err = StderrLines::of(&mut child);
    let pid = child.id();
    let waited_from_us = cpu_wait_us(pid).expect("schedstat of the daemon");
    let mut waited_us = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if let Some(w) = cpu_wait_us(pid) {
            waited_us = w - waited_from_us;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let lines = err.rest();
    assert!(status.success(), "{status}: {lines:#?}");
    let (syncs, longest_ms) = syncs(&lines);
    assert!(
        syncs >= 3 && longest_ms >= 300,
        "the disk was slow: {syncs} fdatasync, the longest {longest_ms} ms"
    );

    let copy = tempfile::tempdir().unwrap();
    let records = records(&fs.copy_out(copy.path()));
    assert_no_sample_lost(&records);
    let tick_us = 1_000_000 / RATE_HZ;
    let late_us: u64 = records
        .iter()
        .filter(|r| r["event"] == "sampler_late")
        .map(|r| r["missed"].as_u64().unwrap() * tick_us + r["late_us"].as_u64().unwrap())
        .sum();
    eprintln!(
        "{syncs} fdatasync, the longest {longest_ms} ms; ticks late by {late_us} µs in all, \
         the sampling thread waited {waited_us} µs for a CPU"
    );
    // A sync on the sampling thread would make it late by about the sync's length each
    // time; what lateness there is must be the machine's (CPU wait, measured).
    assert!(
        late_us <= waited_us + tick_us,
        "ticks late by {late_us} µs, more than the {waited_us} µs the sampling thread waited \
         for a CPU"
    );
    assert!(records.iter().any(|r| r["event"] == "stop"));
}
