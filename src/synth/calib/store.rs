//! Writing a synthetic log: each run's stored energy, then the records through the real
//! writer, as the daemon writes them.

use super::*;

/// Each run's measured energy, integrated by the real integrator as the daemon does.
/// `measured` is in time order; each run is handed only the readings within one maximum gap
/// of its windows (the integrator joins no pair further apart), not the whole log.
pub(super) fn store_energy(
    runs: &mut [Run],
    measured: &[PowerReading],
    label: &str,
    period_us: u64,
) {
    debug_assert!(measured.windows(2).all(|p| p[0].mono_us <= p[1].mono_us));
    let max_gap_us = crate::derive::energy::Integration::for_period(period_us).max_gap_us;
    for run in runs.iter_mut().filter(|_| !measured.is_empty()) {
        let w = Window::spanning(run.phases[0].mono_us, run.phases[3].mono_us);
        let from_us = run
            .idle_lead_in
            .map_or(w.start_us, |l| Window::from(l).start_us.min(w.start_us));
        let lo = measured.partition_point(|r| r.mono_us < from_us.saturating_sub(max_gap_us));
        let hi = measured.partition_point(|r| r.mono_us <= w.end_us.saturating_add(max_gap_us));
        let near = &measured[lo..hi.max(lo)];
        let spec = RunSpec {
            source_label: label,
            period_us,
            run: w,
            phases: &phase_windows(&run.phases),
            baseline: run.idle_lead_in.map_or(BaselineFrom::None, |w| {
                BaselineFrom::Window(Window::from(w))
            }),
            tokens: Tokens {
                prompt: u64::from(run.prompt_tokens),
                generated: u64::from(run.generated_tokens),
            },
        };
        run.energy = Some((&run_energy(near, &spec)).into());
    }
}

pub(super) fn write_records(
    dir: &Path,
    log: &SynthLog,
    points: &[Point],
    power: [Vec<PowerReading>; 2],
    events: Vec<Record>,
    runs: &[Run],
) -> Result<(), StoreError> {
    let opts = crate::config::StoreConfig::default().options(dir.to_path_buf());
    let ident = SegmentIdent {
        device_id: log.device_id.clone(),
        // Two logs of different seeds are two boots (a run is its device, boot and start).
        boot_id: if log.boot_id.is_empty() {
            format!("boot-seed-{}", log.seed)
        } else {
            log.boot_id.clone()
        },
        host: "synth".into(),
    };
    let anchor = Anchor {
        mono_us: 0,
        wall_unix_us: 1_750_000_000_000_000,
    };
    let (mut w, _) = Writer::open(opts, ident, anchor)?;
    if let Some(f) = log.flushing {
        return write_flushed(
            w,
            f,
            log.power_period_us,
            points,
            power,
            events,
            runs,
            anchor,
        );
    }
    let mut samples = SampleBlockBuilder::new(layout());
    for chunk in points.chunks(50) {
        for p in chunk {
            samples.push(&p.sample).expect("the layout fits");
        }
        if let Some(b) = samples.finish() {
            w.append(&Record::Samples(b))?;
        }
    }
    let [ina, pmic] = power;
    write_power(
        &mut w,
        SourceId::Ina219,
        INA_LABEL,
        log.power_period_us,
        ina,
    )?;
    write_power(
        &mut w,
        SourceId::Pmic,
        PMIC_LABEL,
        log.power_period_us,
        pmic,
    )?;
    for r in events {
        w.append(&r)?;
    }
    for run in runs {
        w.append(&Record::Run(Box::new(run.clone())))?;
    }
    let last = points.last().map_or(0, |p| p.t);
    w.close(SealReason::Shutdown, last)?;
    Ok(())
}

fn write_power(
    w: &mut Writer,
    source: SourceId,
    label: &str,
    period_us: u64,
    readings: Vec<PowerReading>,
) -> Result<(), StoreError> {
    let mut b = PowerBlockBuilder::new(source, label, period_us);
    for r in &readings {
        b.push(r).expect("one source");
        if b.len() == 4096 {
            w.append(&Record::Power(b.finish().expect("not empty")))?;
        }
    }
    if let Some(block) = b.finish() {
        w.append(&Record::Power(block))?;
    }
    Ok(())
}

/// What has happened by `t_us`, written as one flush of the daemon: a sample block, a power
/// block per source, the events and the runs that ended.
struct Flush<'a> {
    points: &'a [Point],
    power: [(SourceId, &'static str, &'a [PowerReading]); 2],
    events: &'a [Record],
    runs: &'a [Run],
    /// How much of each is written: points, the two sources, events, runs.
    at: [usize; 5],
}

impl Flush<'_> {
    fn done(&self) -> bool {
        self.at
            == [
                self.points.len(),
                self.power[0].2.len(),
                self.power[1].2.len(),
                self.events.len(),
                self.runs.len(),
            ]
    }

    fn write(
        &mut self,
        w: &mut Writer,
        samples: &mut SampleBlockBuilder,
        period_us: u64,
        t_us: u64,
    ) -> Result<(), StoreError> {
        let upto = |at: &mut usize, len: usize, mono: &dyn Fn(usize) -> u64| {
            let from = *at;
            while *at < len && mono(*at) <= t_us {
                *at += 1;
            }
            from..*at
        };
        let points = self.points;
        for p in &points[upto(&mut self.at[0], points.len(), &|i| points[i].t)] {
            samples.push(&p.sample).expect("the layout fits");
        }
        if let Some(b) = samples.finish() {
            w.append(&Record::Samples(b))?;
        }
        for (k, (source, label, readings)) in self.power.into_iter().enumerate() {
            let new = upto(&mut self.at[1 + k], readings.len(), &|i| {
                readings[i].mono_us
            });
            let mut b = PowerBlockBuilder::new(source, label, period_us);
            for r in &readings[new] {
                b.push(r).expect("one source");
            }
            if let Some(block) = b.finish() {
                w.append(&Record::Power(block))?;
            }
        }
        let events = self.events;
        let mono = |i: usize| match &events[i] {
            Record::Event(e) => e.mono_us,
            _ => 0,
        };
        for r in &events[upto(&mut self.at[3], events.len(), &mono)] {
            w.append(r)?;
        }
        let runs = self.runs;
        let end = |i: usize| runs[i].phases.last().map_or(0, |p| p.mono_us);
        for run in &runs[upto(&mut self.at[4], runs.len(), &end)] {
            w.append(&Record::Run(Box::new(run.clone())))?;
        }
        Ok(())
    }
}

/// Writes as the daemon does ([`Flushing`]), sealing a segment every so many flushes.
#[allow(clippy::too_many_arguments)] // the parts of a log, as `write_records` has them
fn write_flushed(
    mut w: Writer,
    f: Flushing,
    period_us: u64,
    points: &[Point],
    power: [Vec<PowerReading>; 2],
    events: Vec<Record>,
    runs: &[Run],
    anchor: Anchor,
) -> Result<(), StoreError> {
    let [ina, pmic] = &power;
    let mut flush = Flush {
        points,
        power: [
            (SourceId::Ina219, INA_LABEL, ina),
            (SourceId::Pmic, PMIC_LABEL, pmic),
        ],
        events: &events,
        runs,
        at: [0; 5],
    };
    let mut samples = SampleBlockBuilder::new(layout());
    let mut t_us = points.first().map_or(0, |p| p.t);
    let mut flushes = 0;
    while !flush.done() {
        t_us += f.flush_us;
        flush.write(&mut w, &mut samples, period_us, t_us)?;
        flushes += 1;
        if flushes % f.flushes_per_segment.max(1) == 0 && !flush.done() {
            let at = Anchor {
                mono_us: t_us,
                wall_unix_us: anchor.wall_unix_us + t_us as i64,
            };
            w.rotate(t_us, at)?;
            // Every segment starts with a key block, as the daemon's do.
            samples.force_key();
        }
    }
    w.close(SealReason::Shutdown, t_us)?;
    Ok(())
}
