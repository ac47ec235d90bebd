use super::*;

fn parse(text: &str) -> Config {
    Config::parse(text, std::path::Path::new("test.toml")).unwrap()
}

#[test]
fn changes_are_split_into_applied_and_kept_for_the_next_start() {
    let old = parse("state_dir = \"/a\"\n[store]\nfsync_interval_ms = 1000\n");
    let new = parse(
        "state_dir = \"/b\"\nplans = [\"p.toml\"]\n[sampler]\nrate_hz = 20\n\
         [store]\nfsync_interval_ms = 200\nretain_bytes = 5000000\n[clock]\nstep_threshold_ms = 9\n\
         [power]\nsource = \"none\"\n",
    );
    let changed = changed_keys(&old, &new);
    let (applied, restart): (Vec<String>, Vec<String>) =
        changed.into_iter().partition(|k| is_live(k));
    assert_eq!(
        applied,
        [
            "clock.step_threshold_ms",
            "plans",
            "power.source",
            "store.fsync_interval_ms"
        ]
    );
    assert_eq!(
        restart,
        ["sampler.rate_hz", "state_dir", "store.retain_bytes"]
    );
    // Applying the live parts applies exactly those: what is left is what needs a restart.
    let effective = with_live_parts(&old, &new);
    let mut left = changed_keys(&effective, &new);
    left.sort();
    assert_eq!(left, restart);
    let mut done = changed_keys(&old, &effective);
    done.sort();
    assert_eq!(done, applied);
}

#[test]
fn a_live_key_is_a_key_or_in_a_live_table() {
    assert!(is_live("plans") && is_live("power.ina219.bus") && is_live("power"));
    assert!(!is_live("powerx") && !is_live("store.retain_bytes") && !is_live("store"));
}

#[test]
fn the_source_applies_the_command_line_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.toml");
    std::fs::write(&path, "state_dir = \"/file\"\n[sampler]\nrate_hz = 5\n").unwrap();
    let mut src = ConfigSource {
        path: Some(path.clone()),
        ..ConfigSource::default()
    };
    assert_eq!(src.load().unwrap().sampler.rate_hz, 5);
    src.state_dir = Some("/flag".into());
    src.rate_hz = Some(50);
    let cfg = src.load().unwrap();
    assert_eq!(
        (cfg.state_dir.to_str(), cfg.sampler.rate_hz),
        (Some("/flag"), 50)
    );
    std::fs::write(&path, "[sampler]\nrate_hz = 5\nbogus = 1\n").unwrap();
    let err = src.load().unwrap_err().to_string();
    assert!(err.contains("e.toml:3:1") && err.contains("bogus"), "{err}");
}
