//! What the report keeps apart: a workload is its plan's, and a base-vs-compressed row is
//! one compressed model against one base model.

use edgewatt::synth::calib::SynthCase;

use super::llm_run;
use super::log_dir;
use super::markdown;
use super::report;
use super::LOAD_PCT;
use super::S_PER_TOKEN;

/// The slope of `metric` in `law`.
fn slope(law: &serde_json::Value, metric: &str) -> f64 {
    let fits = law["fits"].as_array().unwrap();
    let fit = fits.iter().find(|f| f["metric"] == metric).unwrap();
    fit["slope"]["value"].as_f64().unwrap()
}

/// Two plans with a workload of one name whose runs differ (another prompt spread and 3 s
/// more of generation in one): two laws, each with its own slope, named `plan/workload`
/// (rev-g: one law of their mix, its slope 16 % off, with no note).
#[test]
fn a_workload_of_one_name_in_two_plans_is_two_laws() {
    let mut runs = Vec::new();
    for rep in 0..2 {
        for (plan, tokens, extra_s) in [
            ("calibrate", [64, 256, 1024].as_slice(), 3.0),
            ("quick", [64, 256].as_slice(), 0.0),
        ] {
            for &t in tokens {
                let mut r = llm_run(
                    t,
                    LOAD_PCT,
                    SynthCase {
                        plan: Some(plan),
                        repetition: rep,
                        ..SynthCase::default()
                    },
                );
                r.duration_s += extra_s;
                runs.push(r);
            }
        }
    }
    // A plan's runs one after another, each plan started once per repetition.
    let dir = log_dir(runs, 3, |l| l.runs_per_plan = 100);
    let (code, json, stderr) = report(&[dir.path()], &[]);
    assert_eq!(code, 0, "{stderr}");
    let laws = json["llm"].as_array().unwrap();
    let names: Vec<&str> = laws
        .iter()
        .map(|l| l["workload"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["calibrate/llm", "quick/llm"], "{json}");
    let plans: Vec<&str> = laws.iter().map(|l| l["plan"].as_str().unwrap()).collect();
    assert_eq!(plans, ["calibrate", "quick"], "{json}");
    for law in laws {
        let time = slope(law, "time");
        assert!(
            (time / S_PER_TOKEN - 1.0).abs() < 0.02,
            "{}: {time}",
            law["workload"]
        );
    }
}

/// Repetition `rep` of workload `w` of `plan`, with `q` weights, naming `base` as its base.
fn case(
    plan: &'static str,
    w: &'static str,
    q: &'static str,
    base: Option<&'static str>,
    rep: u32,
) -> SynthCase {
    SynthCase {
        plan: Some(plan),
        workload: Some(w),
        base_workload: base,
        quantization: Some(q),
        repetition: rep,
        ..SynthCase::default()
    }
}

/// A workload run with Q4_1 in one session and Q2_K in another, against one base: a row
/// per compressed model, each with its own cut (rev-g: one row of their mix, −40 % for
/// −60 % and −20 %, labelled Q4_1).
#[test]
fn each_compressed_model_is_compared_with_the_base_on_its_own() {
    let mut runs = Vec::new();
    for (q, load) in [("Q4_1", 32.0), ("Q2_K", 64.0)] {
        for rep in 0..2 {
            for t in [100, 300] {
                runs.push(llm_run(t, 80.0, case("calibrate", "f16", "F16", None, rep)));
                runs.push(llm_run(
                    t,
                    load,
                    case("calibrate", "q", q, Some("f16"), rep),
                ));
            }
        }
    }
    let dir = log_dir(runs, 4, |l| l.runs_per_plan = 100);
    let (code, json, stderr) = report(&[dir.path()], &[]);
    assert_eq!(code, 0, "{stderr}");
    let rows = json["comparisons"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{json}");
    for (row, want) in rows.iter().zip([-60.0, -20.0]) {
        let cpu = row["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["what"] == "cpu_auc")
            .unwrap();
        let change = cpu["pct_change"]["value"].as_f64().unwrap();
        assert!((change - want).abs() < 2.0, "{}: {change} %", row["model"]);
    }
    assert_eq!(rows[0]["model"], "synthetic-Q4_1");
    assert_eq!(rows[1]["model"], "synthetic-Q2_K");
}

/// A base and a compressed workload of the same names in two plans: two comparisons, each
/// named `plan/workload` in the table (rev-i: two blocks that read alike).
#[test]
fn a_comparison_in_two_plans_names_its_plan() {
    let mut runs = Vec::new();
    for plan in ["nightly", "quick"] {
        for rep in 0..2 {
            for t in [100, 300] {
                runs.push(llm_run(t, 80.0, case(plan, "f16", "F16", None, rep)));
                runs.push(llm_run(t, 32.0, case(plan, "q", "Q4_1", Some("f16"), rep)));
            }
        }
    }
    let dir = log_dir(runs, 5, |l| l.runs_per_plan = 8);
    let (code, json, stderr) = report(&[dir.path()], &[]);
    assert_eq!(code, 0, "{stderr}");
    let plans: Vec<&str> = (json["comparisons"].as_array().unwrap().iter())
        .map(|c| c["plan"].as_str().unwrap())
        .collect();
    assert_eq!(plans, ["nightly", "quick"], "{json}");
    let md = markdown(dir.path());
    for plan in ["nightly", "quick"] {
        let row = format!("| {plan}/f16 (synthetic-F16) | {plan}/q (synthetic-Q4_1) |");
        assert!(md.contains(&row), "{row} not in {md}");
    }
}

/// Workload `llm` of plan `text` (no image) and of plan `vision` (images): ambiguous among
/// the runs fitted, so `plan/llm` in every section, the token law and the knee too, whose
/// own runs hold one plan each (rev-i: the law said `llm`, the phases `text/llm`).
#[test]
fn a_workload_has_one_name_in_every_section() {
    let mut runs = Vec::new();
    for rep in 0..2 {
        for t in [64, 256, 1024] {
            runs.push(llm_run(t, LOAD_PCT, case("text", "llm", "Q4_1", None, rep)));
        }
        for side in [128, 256, 384, 512, 768] {
            runs.push(llm_run(
                64,
                LOAD_PCT,
                SynthCase {
                    image: Some((side, side, side.min(512) / 4)),
                    ..case("vision", "llm", "Q4_1", None, rep)
                },
            ));
        }
    }
    let dir = log_dir(runs, 7, |l| l.runs_per_plan = 100);
    let (code, json, stderr) = report(&[dir.path()], &["--bootstrap", "0"]);
    assert_eq!(code, 0, "{stderr}");
    let names = |part: &str| -> Vec<String> {
        let mut v: Vec<String> = (json[part].as_array().unwrap().iter())
            .map(|l| l["workload"].as_str().unwrap().to_owned())
            .collect();
        v.dedup();
        v
    };
    assert_eq!(names("llm"), ["text/llm"], "{json}");
    assert_eq!(names("knees"), ["vision/llm"], "{json}");
    assert_eq!(names("phases"), ["text/llm", "vision/llm"], "{json}");
}
