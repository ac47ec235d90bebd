//! Known truth: the token law's slope, the knee, base vs compressed, and CI coverage over
//! seeded repetitions.

use edgewatt::synth::calib::SynthCase;
use edgewatt::synth::calib::SynthRun;

use super::ci;
use super::fit;
use super::llm_run;
use super::log_dir;
use super::report;
use super::LOAD_PCT;
use super::S_PER_TOKEN;
use super::TRUTH;

const TOKENS: [u32; 6] = [50, 100, 200, 300, 400, 500];

fn sweep(reps: usize) -> Vec<SynthRun> {
    (0..reps)
        .flat_map(|_| {
            TOKENS
                .iter()
                .map(|&t| llm_run(t, LOAD_PCT, SynthCase::default()))
        })
        .collect()
}

/// The CPU AUC slope per token: LOAD_PCT % above idle for S_PER_TOKEN s per token.
const CPU_SLOPE: f64 = LOAD_PCT * S_PER_TOKEN;

#[test]
fn the_token_law_recovers_the_slope_within_2_percent_on_cpu_ram_energy_and_time() {
    let dir = log_dir(sweep(3), 7, |_| {});
    let (code, json, stderr) = report(&[dir.path()], &[]);
    assert_eq!(code, 0, "{stderr}");
    let law = &json["llm"][0];
    assert_eq!(law["runs"], 18);
    let slope = |metric: &str| ci(&fit(&law["fits"], metric)["slope"]);
    let cpu = slope("cpu_auc");
    eprintln!("CPU AUC slope {cpu:?} (truth {CPU_SLOPE})");
    assert!(
        (cpu[0] / CPU_SLOPE - 1.0).abs() < 0.02,
        "CPU AUC slope {cpu:?} vs {CPU_SLOPE}"
    );
    assert!(
        cpu[1] <= CPU_SLOPE && CPU_SLOPE <= cpu[2],
        "CI {cpu:?} misses {CPU_SLOPE}"
    );
    let ram_slope = 200.0 * S_PER_TOKEN;
    let ram = slope("ram_auc");
    assert!(
        (ram[0] / ram_slope - 1.0).abs() < 0.02,
        "RAM AUC slope {ram:?} vs {ram_slope}"
    );
    let time = slope("time");
    assert!(
        (time[0] / S_PER_TOKEN - 1.0).abs() < 0.02,
        "time slope {time:?}"
    );
    // Net energy per token: the CPU and RAM terms of the power model over the extra time.
    let j_per_token = (TRUTH.cpu_w_per_pct * LOAD_PCT + TRUTH.ram_w_per_mb * 200.0) * S_PER_TOKEN;
    let measured = fit(&law["fits"], "energy_measured");
    let e = ci(&measured["slope"]);
    assert!(
        (e[0] / j_per_token - 1.0).abs() < 0.02,
        "energy slope {e:?} vs {j_per_token}"
    );
    assert!(measured["source"]
        .as_str()
        .unwrap()
        .starts_with("measured:ina219"));
    let estimated = fit(&law["fits"], "energy_estimated");
    assert!(
        estimated["source"]
            .as_str()
            .unwrap()
            .starts_with("estimate:"),
        "{estimated}"
    );
    assert!(fit(&law["fits"], "cpu_auc")["r2"].as_f64().unwrap() > 0.99);
}

#[test]
fn the_token_law_cis_cover_the_truth_at_about_their_nominal_rate() {
    let reps = 24;
    let mut covered = 0;
    for seed in 0..reps {
        let dir = log_dir(sweep(2), 100 + seed, |_| {});
        let (_, json, _) = report(&[dir.path()], &["--bootstrap", "0"]);
        let [_, lo, hi] = ci(&fit(&json["llm"][0]["fits"], "cpu_auc")["slope"]);
        assert!(
            hi > lo,
            "a CI of width 0 covers nothing: the log has no noise"
        );
        covered += usize::from(lo <= CPU_SLOPE && CPU_SLOPE <= hi);
    }
    let rate = covered as f64 / reps as f64;
    eprintln!("CPU AUC slope CI coverage {covered}/{reps}");
    // 95 % nominal; over 24 repetitions 19 or fewer covered has probability < 1 %.
    assert!(rate >= 0.8, "coverage {covered}/{reps}");
}

/// Image sides tested, and the clamp in pixels (between 448² and 672²).
const SIDES: [u32; 6] = [224, 336, 448, 672, 896, 1344];
const PSI_PX: f64 = 600.0 * 600.0;

fn vlm_run(side: u32) -> SynthRun {
    let px = f64::from(side * side);
    let duration = 1.0 + 5.0 * px.min(PSI_PX) / PSI_PX;
    let tokens = (px.min(PSI_PX) / 784.0).round() as u32;
    SynthRun {
        load_pct: 60.0,
        duration_s: (duration * 10.0).round() / 10.0,
        ram_mb: 300.0,
        freq_mhz: 2400,
        prompt_tokens: 16,
        ok: true,
        case: SynthCase {
            workload: Some("vlm"),
            image: Some((side, side, tokens)),
            ..SynthCase::default()
        },
    }
}

#[test]
fn the_knee_is_found_within_one_grid_step_with_its_ci() {
    let runs: Vec<SynthRun> = (0..3).flat_map(|_| SIDES.map(vlm_run)).collect();
    let dir = log_dir(runs, 11, |_| {});
    let (code, json, stderr) = report(&[dir.path()], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        json["llm"].as_array().unwrap().len(),
        0,
        "VLM runs are not in the token law"
    );
    let knee = &json["knees"][0];
    assert_eq!(knee["workload"], "vlm");
    let cpu = knee["fits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["metric"] == "cpu_auc" && f["axis"] == "pixels")
        .unwrap();
    assert_eq!(cpu["verdict"], "knee", "{cpu}");
    let [psi, lo, hi] = ci(&cpu["psi"]);
    eprintln!(
        "knee ψ {psi} [{lo}, {hi}] (truth {PSI_PX}), bootstrap {}",
        cpu["psi_bootstrap"]
    );
    let (below, above) = (448.0 * 448.0, 672.0 * 672.0);
    assert!(
        psi >= below && psi <= above,
        "ψ {psi} outside the grid step around {PSI_PX}"
    );
    assert!(
        lo <= PSI_PX && PSI_PX <= hi,
        "ψ CI [{lo}, {hi}] misses {PSI_PX}"
    );
    // The plateau: 60 % for 6 s.
    let [plateau, ..] = ci(&cpu["plateau"]);
    assert!((plateau / 360.0 - 1.0).abs() < 0.03, "plateau {plateau}");
    assert!(cpu["psi_bootstrap"].is_array());
}

#[test]
fn base_vs_compressed_recovers_a_60_percent_cut_with_its_ci() {
    let case = |w: &'static str,
                q: &'static str,
                base: Option<&'static str>,
                rep: u32,
                out: &'static str| SynthCase {
        workload: Some(w),
        base_workload: base,
        quantization: Some(q),
        repetition: rep,
        output: out,
        ..SynthCase::default()
    };
    let mut runs = Vec::new();
    for rep in 0..3 {
        for t in [100, 300] {
            runs.push(llm_run(
                t,
                80.0,
                case("f16", "F16", None, rep, "Paris is the capital of France."),
            ));
            runs.push(llm_run(
                t,
                32.0,
                case("q4", "Q4_1", Some("f16"), rep, "Paris is the capital."),
            ));
        }
    }
    let dir = log_dir(runs, 5, |l| l.runs_per_plan = 12);
    let (code, json, stderr) = report(&[dir.path()], &[]);
    assert_eq!(code, 0, "{stderr}");
    let c = &json["comparisons"][0];
    assert_eq!(c["base_workload"], "f16");
    assert_eq!(c["workload"], "q4");
    assert_eq!(c["cases"], 2);
    let row = |what: &str| {
        c["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["what"] == what)
            .unwrap()
            .clone()
    };
    let [change, lo, hi] = ci(&row("cpu_auc")["pct_change"]);
    eprintln!("CPU AUC change {change} % [{lo}, {hi}] (truth -60 %)");
    assert!((change + 60.0).abs() < 1.5, "CPU AUC change {change}");
    assert!(lo <= -60.0 && -60.0 <= hi, "CI [{lo}, {hi}]");
    // Case by case: the 3× spread between 100- and 300-token runs is not in the CI.
    assert_eq!(row("cpu_auc")["method"], "case means");
    assert!(hi - lo < 10.0, "CI [{lo}, {hi}]");
    // Same durations: RAM AUC unchanged; energy falls by less than CPU (RAM term).
    let [ram, ..] = ci(&row("ram_auc")["pct_change"]);
    assert!(ram.abs() < 1.0, "RAM change {ram}");
    let agreement = ci(&c["agreement"]);
    assert!(agreement[0] > 0.5 && agreement[0] < 1.0, "{agreement:?}");
    assert_eq!(c["agreement_pairs"], 6);
}

#[test]
fn the_knee_ci_covers_the_clamp_over_seeded_repetitions() {
    let reps: u64 = 8;
    let mut covered = 0;
    for seed in 0..reps {
        let runs: Vec<SynthRun> = (0..2).flat_map(|_| SIDES.map(vlm_run)).collect();
        let dir = log_dir(runs, 300 + seed, |_| {});
        let (_, json, _) = report(&[dir.path()], &["--bootstrap", "0"]);
        let cpu = json["knees"][0]["fits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["metric"] == "cpu_auc" && f["axis"] == "pixels")
            .unwrap()
            .clone();
        let [psi, lo, hi] = ci(&cpu["psi"]);
        assert!((448.0 * 448.0..=672.0 * 672.0).contains(&psi), "ψ {psi}");
        covered += u64::from(lo <= PSI_PX && PSI_PX <= hi);
    }
    eprintln!("knee ψ CI coverage {covered}/{reps}");
    // The reported CI is conservative by design (never narrower than the grid step).
    assert_eq!(covered, reps);
}
