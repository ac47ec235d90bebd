use std::path::Path;

use super::*;

const PLAN: &str = r#"
name = "demo"
repetitions = 2
warmup = 1
shuffle_seed = 7

[cooldown]
temp_below_mc = 60000

[[workload]]
name = "llm"
model = "m.gguf"
prompt_tokens = [16, 64]
gen_tokens = 8
threads = [2]

[[workload]]
name = "vlm"
model = "/abs/m.gguf"
mmproj = "p.gguf"
images = ["224x224", "cat.jpg"]
image_max_tokens = [64, 256]
threads = [2]
"#;

fn plan() -> Plan {
    Plan::parse(PLAN, Path::new("demo.toml")).unwrap()
}

#[test]
fn a_plan_expands_to_every_combination_in_plan_order() {
    let cases = plan().cases();
    // llm: 2 prompt lengths; vlm: 2 images × 2 clamps.
    assert_eq!(cases.len(), 2 + 4);
    let labels: Vec<&str> = cases.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "llm/pp16/tg8/t2",
            "llm/pp64/tg8/t2",
            "vlm/pp64/tg32/t2/img224x224/max64",
            "vlm/pp64/tg32/t2/img224x224/max256",
            "vlm/pp64/tg32/t2/img:cat.jpg/max64",
            "vlm/pp64/tg32/t2/img:cat.jpg/max256",
        ]
    );
    assert_eq!(
        cases[2].image,
        Some(CaseImage::Synthetic {
            width: 224,
            height: 224
        })
    );
    assert_eq!(cases[4].image, Some(CaseImage::File("cat.jpg".into())));
    assert_eq!(
        (cases[0].n_ctx, cases[0].n_batch, cases[0].seed),
        (4096, 512, 42)
    );
    assert_eq!(plan().cooldown.unwrap().max_wait_s, 120);
}

#[test]
fn warmups_come_first_and_the_measured_runs_are_a_seeded_permutation() {
    let s = plan().schedule();
    assert_eq!(s.runs.len(), 6 + 2 * 6);
    assert!(s.runs[..6]
        .iter()
        .enumerate()
        .all(|(i, r)| r.warmup && r.case == i));
    let mut measured: Vec<(usize, u32)> = s.runs[6..]
        .iter()
        .map(|r| {
            assert!(!r.warmup);
            (r.case, r.repetition)
        })
        .collect();
    let in_order: Vec<(usize, u32)> = (0..2).flat_map(|r| (0..6).map(move |c| (c, r))).collect();
    assert_ne!(measured, in_order, "seed 7 shuffles");
    assert_eq!(plan().schedule(), s, "same seed, same order");
    measured.sort_unstable();
    let mut sorted = in_order;
    sorted.sort_unstable();
    assert_eq!(measured, sorted);
}

#[test]
fn relative_paths_are_taken_from_the_plan_directory() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("demo.toml");
    std::fs::write(&p, PLAN).unwrap();
    let plan = Plan::load(&p).unwrap();
    assert_eq!(plan.workloads[0].model, dir.path().join("m.gguf"));
    assert_eq!(plan.workloads[1].model, Path::new("/abs/m.gguf"));
    assert_eq!(
        plan.workloads[1].mmproj.as_deref(),
        Some(&*dir.path().join("p.gguf"))
    );
    assert_eq!(plan.workloads[1].images[0], "224x224");
    assert_eq!(
        plan.workloads[1].images[1],
        dir.path().join("cat.jpg").display().to_string()
    );
}

fn error(text: &str) -> String {
    Plan::parse(text, Path::new("bad.toml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn unknown_keys_and_impossible_values_name_the_file_and_key() {
    let e = error("name = \"x\"\nrepetition = 2\n[[workload]]\nname = \"a\"\nmodel = \"m\"\n");
    assert!(
        e.starts_with("bad.toml:2:1: unknown field `repetition`"),
        "{e}"
    );
    let e = error("name = \"x\"\n[[workload]]\nname = \"a\"\nmodel = \"m\"\nthreads = [0]\n");
    assert_eq!(
        e,
        "bad.toml: workload \"a\": key threads: must be at least 1"
    );
    let e = error("name = \"x\"\n[[workload]]\nname = \"a\"\nmodel = \"m\"\nprompt_tokens = [4000]\ngen_tokens = 200\n");
    assert_eq!(
        e,
        "bad.toml: workload \"a\": key prompt_tokens: 4000 prompt + 200 generated tokens exceed n_ctx = 4096"
    );
    let e = error("name = \"x\"\n[[workload]]\nname = \"a\"\nmodel = \"m\"\nimages = [\"2x2\"]\n");
    assert_eq!(
        e,
        "bad.toml: workload \"a\": key mmproj/images: a VLM workload needs both"
    );
    let e = error("name = \"x\"\nworkload = []\n");
    assert_eq!(e, "bad.toml: key workload: the plan has no [[workload]]");
    let e = error("name = \"x\"\n[[workload]]\nname = \"a\"\nmodel = \"m\"\nmmproj = \"p\"\nimages = [\"0x5\"]\n");
    assert_eq!(
        e,
        "bad.toml: workload \"a\": key images: \"0x5\" is not WxH with W, H ≥ 1"
    );
}

#[test]
fn a_base_workload_reaches_its_cases_and_must_name_another_workload() {
    let two = "name = \"x\"\n[[workload]]\nname = \"f16\"\nmodel = \"m\"\n\
               [[workload]]\nname = \"q4\"\nmodel = \"n\"\nbase_workload = \"f16\"\n";
    let p = Plan::parse(two, Path::new("ok.toml")).unwrap();
    let cases = p.cases();
    let bases: Vec<Option<&str>> = cases.iter().map(|c| c.base_workload.as_deref()).collect();
    assert_eq!(bases, [None, Some("f16")]);
    for base in ["q4", "f32"] {
        let e = error(&two.replace(
            "base_workload = \"f16\"",
            &format!("base_workload = \"{base}\""),
        ));
        assert_eq!(
            e,
            format!(
                "bad.toml: workload \"q4\": key base_workload: \"{base}\" is not another \
                 workload of this plan"
            )
        );
    }
}

#[test]
fn cooldown_keys_have_defaults_and_impossible_values_name_the_key() {
    let c = plan().cooldown.unwrap();
    assert_eq!(
        c,
        Cooldown {
            cpu_margin_pct: 5,
            cpu_busy_below_pct: 15,
            temp_below_mc: Some(60_000),
            max_wait_s: 120,
        }
    );
    let with = |cooldown: &str| {
        error(&format!(
            "name = \"x\"\n[cooldown]\n{cooldown}\n[[workload]]\nname = \"a\"\nmodel = \"m\"\n"
        ))
    };
    assert_eq!(
        with("cpu_margin_pct = 101"),
        "bad.toml: key cooldown.cpu_margin_pct: 101 is not a share of 0..=100 %"
    );
    assert_eq!(
        with("cpu_busy_below_pct = 0"),
        "bad.toml: key cooldown.cpu_busy_below_pct: 0 is not in 1..=100 %"
    );
    assert_eq!(
        with("temp_below_mc = 60"),
        "bad.toml: key cooldown.temp_below_mc: 60 m°C is not in 1000..=150000 (m°C: 60 °C is 60000)"
    );
    assert_eq!(
        with("max_wait_s = 0"),
        "bad.toml: key cooldown.max_wait_s: must be at least 1 (for no cooldown, leave out [cooldown])"
    );
    let e = with("cpu_margin = 5");
    assert!(
        e.starts_with("bad.toml:3:1: ") && e.contains("cpu_margin") && e.contains("unknown field"),
        "{e}"
    );
}

#[test]
fn the_shipped_plans_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans");
    let demo = Plan::load(&dir.join("demo.toml")).unwrap();
    // f16, q4_1, q2_k: 4 prompt lengths each; vlm: 5 sizes × 2 clamps.
    assert_eq!(demo.cases().len(), 3 * 4 + 10);
    // One warm-up and two repetitions per case.
    assert_eq!(demo.schedule().runs.len(), 22 + 2 * 22);
    assert_eq!(demo.workloads[1].base_workload.as_deref(), Some("f16"));
    assert_eq!(
        demo.workloads[3].mmproj.as_deref(),
        Some(Path::new("generate:qwen2vl"))
    );
    assert!(demo.workloads[0].model.starts_with(&dir));
    assert_eq!(
        Plan::load(&dir.join("quick.toml")).unwrap().cases().len(),
        2
    );
    // The plan `calibrate`'s errors name (estimate::fit::COLLECT): 1 to 4 threads, several
    // lengths, enough runs for the fit's minimum.
    assert!(crate::estimate::fit::COLLECT.contains("plans/calibrate.toml"));
    let calibrate = Plan::load(&dir.join("calibrate.toml")).unwrap();
    assert_eq!(calibrate.workloads[0].threads, [1, 2, 3, 4]);
    assert_eq!(calibrate.workloads[0].prompt_tokens.len(), 3);
    assert!(calibrate.cooldown.is_some());
    let measured = calibrate
        .schedule()
        .runs
        .iter()
        .filter(|r| !r.warmup)
        .count();
    assert_eq!(measured, 36);
    // Four threads fit a Pi 5; on two CPUs it is said at the plan's start.
    assert_eq!(calibrate.more_threads_than(4), None);
    let said = calibrate.more_threads_than(2).unwrap();
    assert!(
        said.starts_with(
            "plan calibrate: workloads ask for up to 4 threads and 2 CPUs are available"
        ) && said.ends_with("(keep threads at most 2 on this machine)"),
        "{said}"
    );
    assert_eq!(demo.more_threads_than(2), None, "the demo runs on 2 cores");
    assert!(measured >= crate::estimate::fit::MIN_POINTS);
}

#[test]
fn the_latest_time_of_day_in_a_window_on_the_local_clock() {
    use jiff::tz::TimeZone;
    // 2023-11-14 22:13:20 UTC.
    const NOW: i64 = 1_700_000_000;
    const MIDNIGHT_UTC: i64 = 1_699_920_000;
    let at = When {
        at_start: false,
        every_s: None,
        at: vec!["03:00".into(), "23:30".into()],
    };
    let utc = TimeZone::UTC;
    assert_eq!(at.last_time_of_day_in(NOW - 3600, NOW, &utc), None);
    assert_eq!(
        at.last_time_of_day_in(NOW, NOW + 5000, &utc),
        Some((MIDNIGHT_UTC + 84_600, "23:30"))
    );
    // The window's end is in it, its start is not.
    let t = MIDNIGHT_UTC + 10_800;
    assert_eq!(at.last_time_of_day_in(t - 1, t, &utc), Some((t, "03:00")));
    assert_eq!(at.last_time_of_day_in(t, t + 1, &utc), None);
    // Days long: the latest one.
    assert_eq!(
        at.last_time_of_day_in(NOW - 30 * 86_400, NOW, &utc),
        Some((MIDNIGHT_UTC + 10_800, "03:00"))
    );
    // At UTC+1 03:00 local is 02:00 UTC.
    let plus1 = TimeZone::fixed(jiff::tz::offset(1));
    assert_eq!(
        at.last_time_of_day_in(NOW - 86_400, NOW, &plus1),
        Some((MIDNIGHT_UTC + 7_200, "03:00"))
    );
    let none = When::default();
    assert_eq!(none.last_time_of_day_in(0, NOW, &utc), None);
}

#[test]
fn the_next_time_of_day_on_the_local_clock_across_a_dst_change() {
    use jiff::tz::TimeZone;
    const NOW: i64 = 1_700_000_000; // 2023-11-14 22:13:20 UTC
    const MIDNIGHT_UTC: i64 = 1_699_920_000;
    let at = When {
        at_start: false,
        every_s: None,
        at: vec!["03:00".into(), "23:30".into()],
    };
    let utc = TimeZone::UTC;
    assert_eq!(
        at.next_time_of_day_after(NOW, &utc),
        Some((MIDNIGHT_UTC + 84_600, "23:30"))
    );
    // Strictly after: at 23:30 itself the next one is tomorrow's 03:00.
    let t = MIDNIGHT_UTC + 84_600;
    assert_eq!(
        at.next_time_of_day_after(t, &utc),
        Some((MIDNIGHT_UTC + 86_400 + 10_800, "03:00"))
    );
    // CET → CEST on 2024-03-31: 02:30 local does not exist that day and happens at 03:30
    // CEST (01:30 UTC), as the scheduler runs it.
    let cet = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
    let night = When {
        at: vec!["02:30".into()],
        ..at.clone()
    };
    let sat_noon_utc = 1_711_800_000; // 2024-03-30 12:00 UTC
    let sun_0130_utc = 1_711_848_600; // 2024-03-31 01:30 UTC
    assert_eq!(
        night.next_time_of_day_after(sat_noon_utc, &cet),
        Some((sun_0130_utc, "02:30"))
    );
    assert_eq!(
        night.last_time_of_day_in(sat_noon_utc, sun_0130_utc, &cet),
        Some((sun_0130_utc, "02:30"))
    );
    assert_eq!(When::default().next_time_of_day_after(NOW, &utc), None);
}

#[test]
fn at_start_defaults_to_true_only_for_a_plan_without_times_or_interval() {
    let when = |table: &str| {
        let text = format!("name = \"x\"\n{table}\n[[workload]]\nname = \"a\"\nmodel = \"m\"\n");
        Plan::parse(&text, Path::new("p.toml")).unwrap().when
    };
    assert!(when("").at_start, "no [when]: at start");
    assert!(when("[when]").at_start);
    // A nightly plan is not also started by every (re)start of the daemon…
    assert!(!when("[when]\nat = [\"03:00\"]").at_start);
    assert!(!when("[when]\nevery_s = 3600").at_start);
    // …unless it says so.
    let w = when("[when]\nat_start = true\nat = [\"03:00\"]");
    assert!(w.at_start);
    assert_eq!(w.at, ["03:00"]);
    let e = error(
        "name = \"x\"\n[when]\nat = []\nevery = 5\n[[workload]]\nname = \"a\"\nmodel = \"m\"\n",
    );
    assert!(e.starts_with("bad.toml:4:1: unknown field `every`"), "{e}");
}

#[test]
fn times_of_day_and_intervals_are_checked() {
    assert_eq!(parse_time_of_day("03:00"), Some(10_800));
    assert_eq!(parse_time_of_day("23:59"), Some(86_340));
    for bad in ["24:00", "3:7", "12:60", "noon", "-1:00"] {
        assert_eq!(parse_time_of_day(bad), None, "{bad}");
    }
    let plan =
        "name = \"x\"\n[when]\nat = [\"25:00\"]\n[[workload]]\nname = \"a\"\nmodel = \"m\"\n";
    assert_eq!(
        error(plan),
        "bad.toml: key when.at: \"25:00\" is not HH:MM (00:00 to 23:59)"
    );
    let plan = "name = \"x\"\n[when]\nevery_s = 0\n[[workload]]\nname = \"a\"\nmodel = \"m\"\n";
    assert_eq!(
        error(plan),
        "bad.toml: key when.every_s: must be at least 1"
    );
    let plan = "name = \"x\"\n[when]\nevery = 5\n[[workload]]\nname = \"a\"\nmodel = \"m\"\n";
    assert!(error(plan).contains("every"), "unknown key");
}
