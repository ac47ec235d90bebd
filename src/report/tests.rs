//! The tables on known runs, and a session read back from a log written by the real store.

use std::path::Path;

use super::*;
use crate::derive::energy::MinCoverage;
use crate::derive::runs::RunUsage;
use crate::plan::Plan;
use crate::record::ImageRun;
use crate::record::Outcome;
use crate::record::Run;

fn ok_run(label: &str, prefill_us: u64, decode_us: u64) -> Run {
    Run {
        run_id: 1,
        label: label.into(),
        worker_pid: 1,
        image: Some(ImageRun {
            source: "synthetic:224x224:42".into(),
            width: 224,
            height: 224,
            image_tokens: 64,
            preprocess_us: 1,
            encode_us: 2_500,
        }),
        prompt_tokens: 36,
        generated_tokens: 8,
        load_us: 1,
        prefill_us,
        decode_us,
        ttft_us: 1,
        peak_rss_kb: 2048,
        ..Run::for_test(1, 36, 8, &[])
    }
}

#[test]
fn the_speed_table_has_mean_and_sample_sd_per_case_over_measured_runs() {
    let plan = Plan::parse(
        "name = \"s\"\n[[workload]]\nname = \"v\"\nmodel = \"m.gguf\"\nmmproj = \"p\"\n\
         images = [\"224x224\"]\nprompt_tokens = [36]\ngen_tokens = 8\nthreads = [2]\n",
        Path::new("s.toml"),
    )
    .unwrap();
    let cases = plan.cases();
    let label = "v/pp36/tg8/t2/img224x224";
    assert_eq!(cases[0].label, label);
    // (36 + 64) tokens in 0.1 s and 0.2 s: 1000 and 500 t/s; 8 tokens in 0.1 s / 0.05 s.
    let runs = vec![
        ok_run(label, 100_000, 100_000),
        ok_run(label, 200_000, 50_000),
        ok_run(&format!("{label}#warmup"), 1, 1),
    ];
    let table = speed_table(&cases, &runs);
    let line = table.lines().nth(2).unwrap();
    // sd of {1000, 500} = 353.55…; of {80, 160} = 56.57….
    assert_eq!(
        line,
        "| m.gguf | - | v/pp36/tg8/t2/img224x224 | 2/2 | 750.0 ± 353.6 | 120.0 ± 56.6 | 64 | 2.5 | 2.0 |"
    );
}

#[test]
fn cells_no_successful_run_measured_are_dashes_not_zeros() {
    let plan = Plan::parse(
        "name = \"s\"\n[[workload]]\nname = \"t\"\nmodel = \"m.gguf\"\n\
         prompt_tokens = [36, 72]\ngen_tokens = 8\nthreads = [2]\n",
        Path::new("s.toml"),
    )
    .unwrap();
    let cases = plan.cases();
    let (a, b) = ("t/pp36/tg8/t2", "t/pp72/tg8/t2");
    assert_eq!((cases[0].label.as_str(), cases[1].label.as_str()), (a, b));
    let failed = |label: &str| Run {
        outcome: Outcome::Failed(crate::record::RunError::TimedOut { limit_ms: 5 }),
        image: None,
        peak_rss_kb: 0,
        ..ok_run(label, 0, 0)
    };
    let mut ok = ok_run(b, 100_000, 100_000);
    ok.image = None;
    ok.model = Some(crate::gguf::ModelInfo {
        path: "m.gguf".into(),
        name: Some("Tiny".into()),
        architecture: "llama".into(),
        file_type: Some(1),
        quantization: "F16".into(),
        param_count: 1,
        file_size_bytes: 3 * 1_048_576,
        sha256: String::new(),
    });
    let runs = vec![failed(a), failed(a), failed(b), ok];
    let table = speed_table(&cases, &runs);
    let lines: Vec<&str> = table.lines().skip(2).collect();
    assert_eq!(
        lines,
        [
            "| m.gguf | - | t/pp36/tg8/t2 | 0/2 | - | - | - | - | - |",
            // Only the ok run counts: 36 tokens in 0.1 s, 8 in 0.1 s; one value, sd 0.
            "| Tiny | 3.0 | t/pp72/tg8/t2 | 1/2 | 360.0 ± 0.0 | 80.0 ± 0.0 | - | - | 2.0 |",
        ]
    );
}

/// A machine of 4 cores sampled at 10 Hz for 20 s from 0: 10 % busy and 1000 MB used,
/// 60 % and 1500 MB for the samples in (12 s, 16 s]. (The known truth of
/// `derive::runs`: 200 %·s and 1975 MB·s above a 10 % / 1000 MB idle baseline.)
fn machine() -> Vec<crate::sampler::Sample> {
    use crate::sampler::group;
    use crate::sampler::Sample;
    let layout = system_layout();
    let mut prev = Sample::empty(&layout);
    (0..=200u64)
        .map(|i| {
            let busy = i > 120 && i <= 160;
            let mut s = prev.clone();
            if i > 0 {
                let user = if busy { [10, 10, 4, 0] } else { [4, 0, 0, 0] };
                for (c, u) in user.iter().enumerate() {
                    s.cpu[c + 1].user += u;
                    s.cpu[c + 1].idle += 10 - u;
                }
                s.cpu[0].user = s.cpu[1..].iter().map(|c| c.user).sum();
                s.cpu[0].idle = s.cpu[1..].iter().map(|c| c.idle).sum();
            }
            s.tick = i;
            s.mono_us = i * 100_000;
            s.mem.total = 8_000_000;
            s.mem.available = 8_000_000 - if busy { 1_536_000 } else { 1_024_000 };
            s.set_valid(group::CPU, true);
            s.set_valid(group::MEM, true);
            prev = s.clone();
            s
        })
        .collect()
}

fn system_layout() -> crate::sampler::SampleLayout {
    crate::sampler::SampleLayout {
        cpus: 5,
        ..crate::sampler::SampleLayout::default()
    }
}

fn timed_run(label: &str, start_us: u64, end_us: u64) -> Run {
    use crate::record::RunPhase;
    Run {
        label: label.into(),
        ..Run::for_test(
            9,
            16,
            8,
            &[(RunPhase::Load, start_us), (RunPhase::Done, end_us)],
        )
    }
}

/// One session in `dir`: its samples in 2 s blocks (continuations between key blocks), a
/// plan lead-in at 2–5 s, `runs`. Returns the seq of its first frame.
fn session(dir: &Path, runs: &[Run]) -> u64 {
    use crate::clock::Anchor;
    use crate::record::Event;
    use crate::record::EventKind;
    use crate::record::Record;
    use crate::record::SampleBlockBuilder;
    use crate::record::SealReason;
    use crate::store::SegmentIdent;
    use crate::store::Writer;
    let ident = SegmentIdent::new("pi".into(), "boot".into());
    let anchor = Anchor {
        mono_us: 0,
        wall_unix_us: 1_700_000_000_000_000,
    };
    let (mut w, _) = Writer::open(
        crate::config::StoreConfig::default().options(dir.to_path_buf()),
        ident,
        anchor,
    )
    .unwrap();
    let first_seq = w.next_seq();
    let plan_start = EventKind::PlanStart {
        plan: "p".into(),
        idle_from_us: 2_000_000,
        idle_to_us: 5_000_000,
    };
    w.append(&Record::Event(Event {
        mono_us: 5_000_000,
        kind: plan_start,
    }))
    .unwrap();
    let mut b = SampleBlockBuilder::with_key_every(system_layout(), 60);
    for chunk in machine().chunks(20) {
        for s in chunk {
            b.push(s).unwrap();
        }
        let seq = w.append(&Record::Samples(b.finish().unwrap())).unwrap();
        b.committed(seq);
    }
    for r in runs {
        w.append(&Record::Run(Box::new(r.clone()))).unwrap();
    }
    w.close(SealReason::Shutdown, 21_000_000).unwrap();
    first_seq
}

#[test]
fn a_session_read_back_from_the_log_costs_what_its_samples_say() {
    let plan = Plan::parse(
        "name = \"s\"\n[[workload]]\nname = \"t\"\nmodel = \"m.gguf\"\n\
         prompt_tokens = [16, 32]\ngen_tokens = 8\nthreads = [2]\n",
        Path::new("s.toml"),
    )
    .unwrap();
    let cases = plan.cases();
    let (a, b) = (cases[0].label.clone(), cases[1].label.clone());
    let tmp = tempfile::tempdir().unwrap();
    // An earlier session in the same directory: not this one's.
    session(tmp.path(), &[timed_run(&a, 6_000_000, 7_000_000)]);
    let runs = [
        timed_run(&a, 12_000_000, 16_000_000),
        timed_run(&b, 17_000_000, 19_000_000),
    ];
    let since = session(tmp.path(), &runs);
    let log = BenchLog::read(&crate::logread::LogSource::dir(tmp.path()), since).unwrap();
    assert_eq!(log.runs, runs, "this session's runs only");
    assert!(!log.damage.is_damaged());
    let u = log.usage[0].as_ref().unwrap();
    // Busy over (12, 16] s, 50 % above idle: 200 %·s, the counters' Δ.
    assert!((u.cpu_pct_s - 200.0).abs() < 1e-9, "{}", u.cpu_pct_s);
    assert!((u.ram_mb_s - 1975.0).abs() < 1e-9, "{}", u.ram_mb_s);
    assert_eq!(
        u.baseline_window,
        crate::derive::Window::new(2_000_000, 5_000_000).unwrap()
    );
    // Run b (17–19 s) is idle: nothing above the baseline.
    assert!(log.usage[1].as_ref().unwrap().cpu_pct_s.abs() < 1e-9);
    // The same cost as from the samples in memory.
    let owned: Vec<_> = machine()
        .into_iter()
        .map(|s| (system_layout(), s))
        .collect();
    let idle = crate::derive::Window::new(2_000_000, 5_000_000).ok();
    assert_eq!(
        log.usage,
        crate::derive::runs::run_usage(&owned, &runs, idle)
    );
    let tables = log.tables(&cases, crate::derive::energy::MinCoverage::DEFAULT);
    let cost: Vec<&str> = tables.lines().filter(|l| l.starts_with("| t/")).collect();
    assert_eq!(
        cost,
        [
            "| t/pp16/tg8/t2 | - | - | 200.0 | 1975.0 | - | - | - | none (estimates only) |",
            "| t/pp32/tg8/t2 | - | - | 0.0 | 0.0 | - | - | - | none (estimates only) |",
        ]
    );
    assert!(
        tables.contains("| m.gguf | - | t/pp16/tg8/t2 | 1/1 |"),
        "{tables}"
    );
}

/// A run of `t/pp36/tg8/t2` whose energy integrates 1 W idle over 0–1 s and `watts` over
/// the run 1–3 s from 100 ms readings, except those in `missing`.
fn run_with_energy(watts: i64, missing: std::ops::Range<u64>) -> Run {
    use crate::derive::energy::run_energy;
    use crate::derive::energy::BaselineFrom;
    use crate::derive::energy::RunSpec;
    use crate::derive::energy::Tokens;
    use crate::derive::Window;
    use crate::record::PowerReading;
    use crate::record::SourceId;
    const S: u64 = 1_000_000;
    let readings: Vec<PowerReading> = (0..=30u64)
        .filter(|i| !missing.contains(i))
        .map(|i| {
            let p = if i <= 10 {
                1_000_000
            } else {
                watts * 1_000_000
            };
            PowerReading::power_only(i * 100_000, SourceId::Ina219, p)
        })
        .collect();
    let e = run_energy(
        &readings,
        &RunSpec {
            source_label: "ina219 test",
            period_us: 100_000,
            run: Window::spanning(S, 3 * S),
            phases: &[],
            baseline: BaselineFrom::Window(Window::spanning(0, S)),
            tokens: Tokens {
                prompt: 36,
                generated: 8,
            },
        },
    );
    let mut run = ok_run("t/pp36/tg8/t2", 100_000, 100_000);
    run.image = None;
    run.energy = Some((&e).into());
    run
}

/// The cases of a plan of one workload `t` at 36 prompt tokens (`t/pp36/tg8/t2`).
fn one_case() -> Vec<crate::plan::Case> {
    Plan::parse(
        "name = \"s\"\n[[workload]]\nname = \"t\"\nmodel = \"m.gguf\"\n\
         prompt_tokens = [36]\ngen_tokens = 8\nthreads = [2]\n",
        Path::new("s.toml"),
    )
    .unwrap()
    .cases()
}

#[test]
fn energy_figures_below_the_coverage_threshold_are_left_out_of_the_means_with_the_reason() {
    let cases = one_case();
    let energy_cells = |runs: &[Run], min_pct: u32| {
        let usage = vec![None; runs.len()];
        let table = cost_table(&cases, runs, &usage, MinCoverage::from_pct(min_pct));
        let row = table.lines().nth(2).unwrap().to_owned();
        let cells: Vec<String> = row.split('|').map(|c| c.trim().to_owned()).collect();
        (cells[6].clone(), cells[7].clone(), cells[8].clone())
    };
    // Net 3.9 J (1→3 W ramp over 1.0–1.1 s, then 3 W; minus 1 W × 2 s) and 11.7 J at 7 W.
    let whole = run_with_energy(3, 0..0);
    let also_whole = run_with_energy(7, 0..0);
    assert_eq!(
        energy_cells(&[whole.clone(), also_whole], 95),
        ("7.800".into(), "0.9750".into(), "100.0".into())
    );
    // A 5 W run missing its readings from 1.5 s to 2.4 s is left out: 1.4–2.5 s is longer
    // than a maximum gap (0.4 s), a hole, so coverage is 45 %. The mean is the whole run's
    // alone, and the cell says how many runs were left out and why.
    let holed = run_with_energy(5, 15..25);
    assert_eq!(
        energy_cells(&[whole.clone(), holed.clone()], 95),
        (
            "3.900 (1 of 2 left out: coverage 45 % < 95 %)".into(),
            "0.4875 (1 of 2 left out: coverage 45 % < 95 %)".into(),
            "72.5".into()
        )
    );
    // A threshold it meets takes it in; none trusted is a dash with the reason.
    // (It holds what the covered 0.9 s hold: 4.3 J gross − 1 W × 0.9 s.)
    assert_eq!(energy_cells(std::slice::from_ref(&holed), 45).0, "3.400");
    assert_eq!(energy_cells(&[holed], 95).0, "- (coverage 45 % < 95 %)");
    assert_eq!(energy_cells(&[whole], 95).0, "3.900");
}

#[test]
fn the_cost_table_averages_only_the_usage_the_report_trusts() {
    let cases = one_case();
    let usage = |cpu_pct_s: f64, coverage: f64, baseline_cpu_pct: f64| RunUsage {
        cpu_pct_s,
        cpu_core_pct_s: 4.0 * cpu_pct_s,
        cpu_signed_pct_s: cpu_pct_s,
        ram_mb_s: 10.0,
        ram_signed_mb_s: 10.0,
        coverage,
        baseline_cpu_pct,
        baseline_ram_mb: 500.0,
        baseline_window: crate::derive::Window::spanning(0, 1),
        baseline_is_lead_in: true,
        worker_cpu_s: Some(cpu_pct_s / 100.0),
        worker_rss_mb: Some(100.0),
        worker_rss_mb_s: Some(100.0),
    };
    // Three 0.2 s runs: 20 %·s covered; 60 %·s over half of its run; and −5 %·s under a
    // 60 % baseline (its mean 35 %: a busy lead-in).
    use crate::record::RunPhase;
    let marks = [(RunPhase::Load, 0), (RunPhase::Done, 200_000)];
    let run = Run {
        label: "t/pp36/tg8/t2".into(),
        ..Run::for_test(1, 36, 8, &marks)
    };
    let runs = vec![run; 3];
    assert_eq!(runs[0].duration_s(), Some(0.2));
    let usage = vec![
        Some(usage(20.0, 1.0, 5.0)),
        Some(usage(60.0, 0.5, 5.0)),
        Some(RunUsage {
            cpu_signed_pct_s: -5.0,
            ..usage(0.0, 1.0, 60.0)
        }),
    ];
    let table = cost_table(&cases, &runs, &usage, MinCoverage::DEFAULT);
    let row = table.lines().nth(2).unwrap().to_owned();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    // Machine CPU %·s: the first run's alone; the worker's CPU s and RSS MB·s (above no
    // baseline): the first and the third's (0.20 and 0.00 s), not the half-covered one's.
    assert_eq!(&cells[2..5], ["0.10", "100.0", "20.0"], "{row}");
}
