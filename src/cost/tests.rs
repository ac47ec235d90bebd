//! Cost rows of synthetic logs whose power model is known (`synth::calib`).

use super::*;
use crate::logread::Filter;
use crate::logread::LogSource;
use crate::synth::calib::write;
use crate::synth::calib::PowerTruth;
use crate::synth::calib::SynthCase;
use crate::synth::calib::SynthLog;
use crate::synth::calib::SynthRun;

const TRUTH: PowerTruth = PowerTruth {
    idle_w: 3.0,
    cpu_w_per_pct: 0.035,
    ram_w_per_mb: 0.002,
    cpu_ghz_w_per_pct_ghz: 0.0,
};

fn run(load_pct: f64, duration_s: f64, ok: bool) -> SynthRun {
    SynthRun {
        load_pct,
        duration_s,
        ram_mb: 200.0,
        freq_mhz: 2400,
        prompt_tokens: 64,
        ok,
        case: SynthCase::default(),
    }
}

fn read(log: &SynthLog) -> (tempfile::TempDir, CostLog) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), log).unwrap();
    let costs = CostLog::read(
        &LogSource::dir(dir.path()),
        Filter::default(),
        CostOptions::default(),
    )
    .unwrap();
    (dir, costs)
}

fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs()
}

#[test]
fn a_runs_cost_row_holds_the_known_usage_and_energy() {
    let (_dir, costs) = read(&SynthLog::new(TRUTH, vec![run(50.0, 10.0, true)]));
    assert!(!costs.damage.is_damaged());
    let kinds: Vec<RowKind> = costs.rows.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [RowKind::Idle, RowKind::Run],
        "the plan's lead-in, then its run"
    );
    let r = &costs.rows[1];
    assert_eq!(r.device_id.as_deref(), Some("synthetic-pi"));
    assert_eq!((r.run_id, r.ok, r.error.as_deref()), (Some(0), true, None));
    assert_eq!(r.duration_s, Some(10.0));
    // Load 10 %, prefill 30 %, decode 60 % of the run.
    assert_eq!(r.phase_s, [Some(1.0), None, Some(3.0), None, Some(6.0)]);
    let u = r.usage.as_ref().unwrap();
    assert!(u.baseline_is_lead_in);
    assert!(
        (u.baseline_cpu_pct - 2.5).abs() < 1e-9,
        "{}",
        u.baseline_cpu_pct
    );
    // 50 % above idle for 10 s: the counters' Δ, exactly (each interval's CPU % holds
    // over the interval; a point at its end would lose the first 100 ms: 497.5).
    assert!(
        (u.cpu_signed_pct_s - 500.0).abs() < 1e-6,
        "{}",
        u.cpu_signed_pct_s
    );
    assert!((u.cpu_pct_s - 500.0).abs() < 1e-6);
    assert!((u.cpu_core_pct_s - 4.0 * 500.0).abs() < 1e-6);
    // 200 MB for 10 s, less the ramp: 2000 − 10.
    assert!(
        (u.ram_signed_mb_s - 1990.0).abs() < 1e-6,
        "{}",
        u.ram_signed_mb_s
    );
    assert!((r.cpu_mean_pct().unwrap() - 52.5).abs() < 1e-9);
    // The gross energy is the truth's: 3 W × 10 s + 0.035 × 500 + 0.002 × 1990.
    let want = 30.0 + 0.035 * 500.0 + 0.002 * 1990.0;
    let gross = r.trusted_gross_j().unwrap();
    assert!(close(gross, want, 0.002), "{gross} vs {want}");
    let net = r.trusted_net_j().unwrap();
    assert!(close(net, want - 30.0, 0.01), "{net}");
    assert_eq!(r.energy_source_kind(), Some("ina219"));
    assert!(r.trust.energy && r.trust.energy_net && r.trust.usage);
    assert_eq!(r.trust.reasons_text(), "");
    // Samples at 2400 MHz but the one at the start (idle, 1500 MHz).
    let f = r.conditions.freq_mean_mhz.unwrap();
    assert!(close(f, (1500.0 + 100.0 * 2400.0) / 101.0, 1e-9), "{f}");
    assert_eq!(r.conditions.throttled_bits, Some(0));
    assert_eq!(r.conditions.temp_peak_c, Some(55.5));
    let ghz = r.conditions.cpu_ghz_signed_pct_ghz_s.unwrap();
    // Every interval of the run ends at a 2400 MHz sample.
    assert!(close(ghz, 500.0 * 2.4, 1e-9), "{ghz}");
}

#[test]
fn an_idle_row_is_the_lead_in_at_idle_power() {
    let (_dir, costs) = read(&SynthLog::new(TRUTH, vec![run(50.0, 5.0, true)]));
    let idle = &costs.rows[0];
    assert_eq!((idle.kind, idle.run_id), (RowKind::Idle, None));
    assert_eq!(idle.label, "idle:calibrate");
    assert_eq!(idle.duration_s, Some(3.0));
    let u = idle.usage.as_ref().unwrap();
    assert!(u.cpu_signed_pct_s.abs() < 1e-9 && u.ram_signed_mb_s.abs() < 1e-9);
    let gross = idle.trusted_gross_j().unwrap();
    assert!(close(gross, 9.0, 0.002), "{gross}");
    assert_eq!(costs.runs().count(), 1);
    // Its wall time is its start's, on the run's clock (outside review, stop 27: it was the
    // plan start's, 3 s later).
    let offset = |r: &RunCost| r.start_unix_us.unwrap() - r.start_mono_us.unwrap() as i64;
    let run = costs.runs().next().unwrap();
    assert_eq!(offset(idle), offset(run));
}

#[test]
fn an_idle_row_off_the_ticks_takes_its_edge_intervals_share() {
    // A lead-in starts when its plan does, not on a tick: its first and last sample
    // intervals are half inside it here. A CPU % holds over its interval, so they count
    // pro rata, as a run's edges do: the 3 s are covered whole (they lost a tick, 0.1 s,
    // when the row read only the samples inside it: 96.7 %; 83 % at 2 Hz, untrusted).
    let log = SynthLog {
        lead_in_offset_us: 50_000,
        ..SynthLog::new(TRUTH, vec![run(50.0, 5.0, true)])
    };
    let (_dir, costs) = read(&log);
    let idle = &costs.rows[0];
    assert_eq!(idle.kind, RowKind::Idle);
    assert_eq!(idle.duration_s, Some(3.0));
    let u = idle.usage.as_ref().unwrap();
    assert!((u.coverage - 1.0).abs() < 1e-12, "{}", u.coverage);
    assert!(idle.trust.usage, "{}", idle.trust.reasons_text());
    // The run's baseline is the same lead-in, read the same way.
    let run = costs.runs().next().unwrap();
    let b = run.usage.as_ref().unwrap().baseline_cpu_pct;
    assert_eq!(
        b.to_bits(),
        u.baseline_cpu_pct.to_bits(),
        "{b} vs {}",
        u.baseline_cpu_pct
    );
    assert!(close(b, 2.5, 1e-12), "{b}");
}

#[test]
fn untrusted_figures_say_why() {
    let mut log = SynthLog::new(TRUTH, vec![run(60.0, 10.0, true), run(30.0, 5.0, false)]);
    log.outage = 0.1;
    let (_dir, costs) = read(&log);
    let runs: Vec<&RunCost> = costs.runs().collect();
    let r = runs[0];
    assert!(!r.trust.energy && !r.trust.energy_net && r.trust.usage);
    assert_eq!(
        r.trusted_gross_j(),
        None,
        "shown as untrusted, not averaged in"
    );
    let text = r.trust.reasons_text();
    // A 1 s hole in 10 s, and the readings' joins next to it: 89.8 % covered.
    assert_eq!(text, "energy coverage 89.8 % < 95 %");
    assert!(!runs[1].ok);
    assert!(runs[1].error.as_deref().unwrap().contains("time limit"));
}

#[test]
fn a_run_without_power_has_usage_but_no_energy() {
    let mut log = SynthLog::new(TRUTH, vec![run(40.0, 4.0, true)]);
    log.ina219 = false;
    let (_dir, costs) = read(&log);
    let r = costs.runs().next().unwrap();
    assert!(r.energy.is_none() && r.usage.is_some());
    assert_eq!(r.trust.reasons, [Untrusted::NoEnergy]);
    assert!(r.trust.usage);
}

/// The reference for the one-pass stream: each row's samples picked out of all the
/// samples of its boot, read again from the index.
fn brute_force(
    index: &crate::logread::LogIndex,
    needs: &[super::stream::Need],
    f: &mut dyn FnMut(usize, super::stream::RowSamples<'_, '_>),
) -> Result<(), crate::logread::LogError> {
    let everything = crate::derive::Window::spanning(0, u64::MAX);
    for (i, n) in needs.iter().enumerate() {
        let boot = index.samples_in(n.boot, everything)?.samples;
        let inside = |w: crate::derive::Window| {
            boot.iter()
                .filter(move |(_, s)| w.contains(s.mono_us))
                .map(|(l, s)| (&**l, s))
        };
        let mut samples: Vec<_> = n.lead_in.map(|w| inside(w).collect()).unwrap_or_default();
        let after = samples.last().map_or(0, |(_, s)| s.mono_us + 1);
        samples.extend(inside(n.main).filter(|(_, s)| s.mono_us >= after));
        f(i, &samples);
    }
    Ok(())
}

#[test]
fn the_one_pass_rows_equal_the_rows_read_again_per_row() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    for (k, plan) in [3, 5].into_iter().enumerate() {
        let mut runs: Vec<SynthRun> = (0..13)
            .map(|i| {
                run(
                    10.0 + 6.0 * i as f64,
                    1.0 + (i % 4) as f64 * 2.5,
                    i % 6 != 5,
                )
            })
            .collect();
        runs[7].case.image = Some((448, 448, 256));
        let mut log = SynthLog::new(TRUTH, runs);
        log.runs_per_plan = plan;
        log.outage = 0.05 * k as f64;
        log.pmic = (k == 1).then_some((1.1, 0.5));
        let dir = tmp.path().join(format!("d{k}"));
        std::fs::create_dir(&dir).unwrap();
        write(&dir, &log).unwrap();
        dirs.push(dir);
    }
    let source = LogSource::dirs(dirs);
    let filter = Filter::kinds(&[
        crate::logread::RecordKind::Sample,
        crate::logread::RecordKind::Power,
        crate::logread::RecordKind::Event,
        crate::logread::RecordKind::Run,
    ]);
    let index = crate::logread::LogIndex::build(&source, filter).unwrap();
    let opts = CostOptions::default();
    let fast = CostLog::read(&source, Filter::default(), opts).unwrap();
    assert_eq!(
        (&fast.skips[..], &fast.damage),
        (index.skips(), index.damage())
    );
    let fast = fast.rows;
    let reference = read::rows_with(&index, opts, brute_force)
        .unwrap()
        .finish(&index, opts)
        .unwrap();
    assert_eq!(
        fast.len(),
        2 * 13 + 5 + 3,
        "every run and every plan lead-in"
    );
    assert!(
        fast.iter().all(|r| r.usage.is_some()),
        "every row has samples"
    );
    for (a, b) in fast.iter().zip(&reference) {
        assert_eq!(a, b, "row {}", a.label);
    }
}

#[test]
fn a_net_energy_whose_idle_baseline_is_poorly_covered_is_not_trusted() {
    use crate::derive::energy::run_energy;
    use crate::derive::energy::BaselineFrom;
    use crate::derive::energy::Figure;
    use crate::derive::energy::RunSpec;
    use crate::derive::energy::Tokens;
    use crate::derive::Window;
    use crate::record::PowerReading;
    use crate::record::SourceId;
    const S: u64 = 1_000_000;
    // 100 ms readings: 5 W over 95–96 s (the tail of something), none over 96.1–99.9 s
    // (the machine idled at 3 W unseen), 6 W over the run 100–110 s. The baseline window
    // 95–100 s is 20 % covered and reads 5 W: net 60 − 5 × 10 = 10 J, not 60 − 30 = 30 J.
    let readings: Vec<PowerReading> = (950..=1100)
        .filter(|i| !(961..1000).contains(i))
        .map(|i| {
            let uw = if i >= 1000 { 6_000_000 } else { 5_000_000 };
            PowerReading::power_only(i * S / 10, SourceId::Ina219, uw)
        })
        .collect();
    let e = run_energy(
        &readings,
        &RunSpec {
            source_label: "ina219 test",
            period_us: S / 10,
            run: Window::spanning(100 * S, 110 * S),
            phases: &[],
            baseline: BaselineFrom::Window(Window::spanning(95 * S, 100 * S)),
            tokens: Tokens::default(),
        },
    );
    let b = e.baseline.unwrap();
    assert_eq!((b.power_uw, b.coverage_ppm), (5_000_000, 200_000));
    assert_eq!(
        (e.run.gross_uj, e.run.net_uj),
        (60_000_000, Some(10_000_000))
    );
    assert!(e
        .figure(Figure::NetJ, crate::derive::energy::MinCoverage::DEFAULT)
        .is_err());
    let (_dir, costs) = read(&SynthLog::new(TRUTH, vec![run(50.0, 10.0, true)]));
    let mut row = costs.runs().next().unwrap().clone();
    row.energy = Some(e);
    row.trust = trust::trust(&row, CostOptions::default());
    // The gross figure stands; the net one is not trusted, as the bench tables say.
    assert!(row.trust.energy);
    assert!(!row.trust.energy_net);
    assert_eq!(row.trusted_net_j(), None);
    assert_eq!(
        row.trust.reasons_text(),
        "idle power baseline coverage 20.0 % < 95 %"
    );
}

#[test]
fn a_run_after_a_capped_cooldown_keeps_its_gross_energy_but_not_its_net() {
    let mut capped = run(50.0, 10.0, true);
    capped.case.cooldown_capped = true;
    let (_dir, costs) = read(&SynthLog::new(TRUTH, vec![run(50.0, 10.0, true), capped]));
    let rows: Vec<&RunCost> = costs.runs().collect();
    assert!(rows[0].trust.energy_net && !rows[0].cooldown_capped);
    let r = rows[1];
    assert!(r.cooldown_capped && r.trust.energy && !r.trust.energy_net);
    assert_eq!(
        r.trust.reasons_text(),
        "cooldown capped: not idle before the run"
    );
    assert_eq!(r.trusted_net_j(), None);
    assert!(r.trusted_gross_j().is_some());
    // The bench, status and metrics figure says the same of it.
    let e = r.energy.as_ref().unwrap();
    assert_eq!(
        e.figure(
            crate::derive::energy::Figure::NetJ,
            crate::derive::energy::MinCoverage::DEFAULT
        ),
        Err(crate::derive::energy::Untrusted::CooldownCapped)
    );
}

#[test]
fn a_run_below_its_idle_baseline_has_untrusted_usage_and_is_flagged() {
    let (_dir, costs) = read(&SynthLog::new(TRUTH, vec![run(50.0, 10.0, true)]));
    let mut row = costs.runs().next().unwrap().clone();
    assert!(row.trust.usage);
    // The same run over a lead-in that was busier (60 % instead of 2.5 %): the run's mean
    // (52.5 %) is below it, so the figures above it are not the run's.
    let u = row.usage.as_mut().unwrap();
    u.cpu_signed_pct_s -= 57.5 * 10.0;
    u.baseline_cpu_pct = 60.0;
    row.trust = trust::trust(&row, CostOptions::default());
    assert!(!row.trust.usage);
    // The worker's own figures are above no baseline: a busy one leaves them trusted, and
    // in the worker RSS law, while the machine's CPU AUC is out.
    assert!(row.trust.worker);
    row.usage.as_mut().unwrap().worker_rss_mb_s = Some(10.0);
    use crate::report::laws::Metric;
    assert_eq!(Metric::WorkerRssAuc.of(&row), Some(10.0));
    assert_eq!(Metric::CpuAuc.of(&row), None);
    assert_eq!(
        row.trust.reasons_text(),
        "idle baseline busier than the run: CPU 60.0 % vs its mean 52.5 %"
    );
    let flags = crate::report::laws::RunRow::of(&row).flags;
    assert_eq!(
        flags,
        ["idle baseline busier than the run: CPU 60.0 % vs its mean 52.5 %"]
    );
    // Within the 1-point margin it is noise, not a busy baseline.
    let u = row.usage.as_mut().unwrap();
    u.cpu_signed_pct_s = -0.9 * 10.0;
    u.baseline_cpu_pct = 10.0;
    row.trust = trust::trust(&row, CostOptions::default());
    assert!(row.trust.usage, "{}", row.trust.reasons_text());
}

/// Of two copies of one run (a log read twice, one copy lagging), the one with trusted
/// energy is kept whichever comes first; of equally trusted copies, the better meter's; of
/// equal ones, the first (rev-d: the first named was kept, lagging or not).
#[test]
fn a_run_read_twice_keeps_its_best_derived_copy() {
    use crate::estimate::fit::copy_rank;
    let log = SynthLog::new(TRUTH, vec![run(50.0, 5.0, true)]);
    let (_dir, costs) = read(&log);
    let whole = costs.runs().next().unwrap().clone();
    assert!(whole.trust.energy && whole.trust.usage);
    let mut lagging = whole.clone();
    lagging.trust.energy = false;
    lagging.label = "lagging".into();
    let mut rows = vec![lagging.clone(), whole.clone()];
    assert_eq!(drop_repeats(&mut rows, RowKey::of, copy_rank), 1);
    assert_eq!(rows, std::slice::from_ref(&whole));
    // Equal copies: the first.
    let mut first = whole.clone();
    first.label = "first".into();
    let mut rows = vec![first.clone(), whole.clone()];
    drop_repeats(&mut rows, RowKey::of, copy_rank);
    assert_eq!(rows, [first]);
    // Trusted energy outranks the meter: an INA219 copy without it loses to a PMIC one.
    let mut pmic = whole.clone();
    if let Some(e) = pmic.energy.as_mut() {
        e.source = "pmic via mailbox".into();
    }
    assert!(copy_rank(&pmic) < copy_rank(&lagging));
    assert!(copy_rank(&whole) < copy_rank(&pmic));
}

/// Runs whose plan's idle lead-in was lost with its segment: their CPU/RAM above idle are
/// over another baseline, and say so (rev-k: they were trusted, above the quietest
/// stretch before each, as if the plan had measured it).
#[test]
fn a_run_whose_lead_in_was_lost_has_untrusted_usage() {
    let mut log = SynthLog::new(
        TRUTH,
        (0..8)
            .map(|i| run(20.0 + 8.0 * f64::from(i), 4.0, true))
            .collect(),
    );
    log.runs_per_plan = 8;
    log.flushing = Some(crate::synth::calib::Flushing::SHORT_SEGMENTS);
    let (dir, whole) = read(&log);
    let lost = |rows: &[RunCost]| {
        rows.iter()
            .filter(|r| r.kind == RowKind::Run)
            .map(|r| r.trust.reasons.contains(&Untrusted::LeadInLost))
            .collect::<Vec<_>>()
    };
    assert!(lost(&whole.rows).iter().all(|&l| !l), "{:?}", whole.rows);
    let segs: Vec<_> = (crate::store::list_segments(dir.path()).unwrap().into_iter())
        .map(|s| s.path)
        .collect();
    assert!(segs.len() >= 3, "{segs:?}");
    std::fs::remove_file(&segs[0]).unwrap(); // the plan's start and lead-in
    let cut = CostLog::read(
        &LogSource::dir(dir.path()),
        Filter::default(),
        CostOptions::default(),
    )
    .unwrap();
    // The first after the cut: samples in it, none before it to take a baseline from. Its
    // reason says so, not "no samples around the run" (rev-k: run 1075, 65 % covered).
    let no_base: Vec<&RunCost> = (cut.rows.iter())
        .filter(|r| r.kind == RowKind::Run && r.usage.is_none())
        .collect();
    assert_eq!(no_base.len(), 1, "{no_base:?}");
    assert_eq!(
        no_base[0].trust.reasons.last(),
        Some(&Untrusted::NoUsageBaseline)
    );
    assert!(!no_base[0].trust.reasons.contains(&Untrusted::NoSamples));
    // Its clock and heat from its own samples; no CPU×GHz above a baseline it has not.
    let c = &no_base[0].conditions;
    assert_eq!(c.freq_mean_mhz, Some(2400.0), "{c:?}");
    assert_eq!(c.cpu_ghz_signed_pct_ghz_s, None, "{c:?}");
    // Those with samples around them.
    let runs: Vec<&RunCost> = (cut.rows.iter())
        .filter(|r| r.kind == RowKind::Run && r.usage.is_some())
        .collect();
    assert!(runs.len() >= 4, "{}", runs.len());
    for r in runs {
        assert!(
            !r.usage.as_ref().unwrap().baseline_is_lead_in,
            "{}",
            r.label
        );
        assert!(
            r.trust.reasons.contains(&Untrusted::LeadInLost),
            "{:?}",
            r.trust
        );
        assert!(!r.trust.usage && r.trust.worker, "{:?}", r.trust);
        assert!(r.trust.reasons_text().contains("idle lead-in lost"));
    }
}
