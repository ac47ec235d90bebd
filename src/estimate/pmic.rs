//! The PMIC→INA219 mapping `total ≈ k·ΣPMIC + c`, fitted where both were logged at once.
//!
//! Both series come from the log: one state directory whose log holds both sources, or two
//! directories of the same device and boot (a second `edgewatt run` logging the PMIC into a
//! state directory of its own while the first logs the INA219; monotonic times of one boot
//! compare across them). Readings are paired by second: the mean power of each source over
//! each second of monotonic time in which both have readings, per device and boot id.

use std::collections::HashMap;

use super::PmicMapping;
use crate::analysis::fit::fit_linear;
use crate::logread::Filter;
use crate::logread::LogError;
use crate::logread::LogItem;
use crate::logread::LogReader;
use crate::logread::LogSource;
use crate::logread::Payload;
use crate::logread::RecordKind;
use crate::record::SourceId;

/// Fewest seconds of overlap the mapping is fitted from.
pub const MIN_PAIRS: usize = 30;
/// Narrowest span of the PMIC's power over those seconds, W.
pub const MIN_SPAN_W: f64 = 0.5;

/// Why the mapping could not be fitted (not an error of `calibrate`: most boards have only
/// one of the two).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MappingError {
    #[error(
        "the INA219 and the PMIC overlap for {pairs} s, at least {MIN_PAIRS} s needed: log \
         both at once (see calibration/README.md)"
    )]
    TooFew { pairs: usize },
    #[error(
        "the PMIC's power spans only {span_w:.2} W over the overlap, at least {MIN_SPAN_W} W \
         needed: run loads while both are logged"
    )]
    Narrow { span_w: f64 },
    #[error("the paired powers cannot be fitted")]
    Singular,
    #[error(
        "the whole board's power falls as the PMIC's rises (k = {k:.4}): the two meters do \
         not measure the same board at the same time; check their wiring and clocks"
    )]
    NotRising { k: f64 },
}

/// Per (boot, second), the boot an index into the boots seen: Σ and count of INA219 and
/// PMIC power, W.
type Bins = HashMap<(usize, u64), [(f64, u32); 2]>;

/// Mean INA219 and PMIC power of each second where both have readings, W: `(pmic, ina)`, in
/// the order of device id, boot id and second; of the device `device` only, if named (a
/// mapping is a board's: another's readings would fit another board).
pub fn pairs(source: &LogSource, device: Option<&str>) -> Result<Vec<(f64, f64)>, LogError> {
    let mut reader = LogReader::open(source, Filter::kinds(&[RecordKind::Power]))?;
    // (device id, boot id) of each boot seen: a reading's is looked up from the newest,
    // without making its strings again.
    let mut boots: Vec<(String, String)> = Vec::new();
    let mut bins = Bins::new();
    for item in &mut reader {
        let LogItem::Entry(e) = item else {
            continue;
        };
        let Payload::Power { reading, .. } = &e.payload else {
            continue;
        };
        let slot = match reading.source {
            SourceId::Ina219 => 0,
            SourceId::Pmic => 1,
            _ => continue,
        };
        if !reading.is_valid() {
            continue;
        }
        let seg = e.segment();
        let (of, boot) = (seg.device_id().unwrap_or(""), seg.boot_id().unwrap_or(""));
        if device.is_some_and(|d| d != of) {
            continue;
        }
        let at = boots
            .iter()
            .rposition(|(d, b)| d == of && b == boot)
            .unwrap_or_else(|| {
                boots.push((of.to_owned(), boot.to_owned()));
                boots.len() - 1
            });
        let b = &mut bins.entry((at, reading.mono_us / 1_000_000)).or_default()[slot];
        b.0 += reading.power_uw as f64 / 1e6;
        b.1 += 1;
    }
    let mut both: Vec<_> = bins
        .into_iter()
        .filter(|(_, [i, p])| i.1 > 0 && p.1 > 0)
        .collect();
    both.sort_unstable_by(|((a, s), _), ((b, t), _)| boots[*a].cmp(&boots[*b]).then(s.cmp(t)));
    Ok(both
        .into_iter()
        .map(|(_, [i, p])| (p.0 / f64::from(p.1), i.0 / f64::from(i.1)))
        .collect())
}

/// `ina ≈ k·pmic + c` by least squares over the paired seconds, with R².
pub fn fit_mapping(pairs: &[(f64, f64)]) -> Result<PmicMapping, MappingError> {
    if pairs.len() < MIN_PAIRS {
        return Err(MappingError::TooFew { pairs: pairs.len() });
    }
    let lo = pairs.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let hi = pairs.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    if hi - lo < MIN_SPAN_W {
        return Err(MappingError::Narrow { span_w: hi - lo });
    }
    let x: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let y: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let line = fit_linear(&x, &y).map_err(|_| MappingError::Singular)?;
    // A calibration file refuses k ≤ 0 (calibration/README.md): never write one.
    if line.slope.value <= 0.0 {
        return Err(MappingError::NotRising {
            k: line.slope.value,
        });
    }
    Ok(PmicMapping {
        k: line.slope.value,
        c_w: line.intercept.value,
        pairs: pairs.len() as u64,
        r2: line.r2.unwrap_or(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::calib::spread;
    use crate::synth::calib::write;
    use crate::synth::calib::PowerTruth;
    use crate::synth::calib::SynthLog;

    const TRUTH: PowerTruth = PowerTruth {
        idle_w: 3.0,
        cpu_w_per_pct: 0.04,
        ram_w_per_mb: 0.0,
        cpu_ghz_w_per_pct_ghz: 0.0,
    };

    #[test]
    fn a_log_with_both_sources_gives_the_known_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = SynthLog::new(TRUTH, spread(8, false));
        log.pmic = Some((1.1451, 0.5879));
        write(dir.path(), &log).unwrap();
        let p = pairs(&LogSource::dir(dir.path()), None).unwrap();
        assert!(p.len() > 60, "{}", p.len());
        let m = fit_mapping(&p).unwrap();
        assert!((m.k - 1.1451).abs() < 0.01 * 1.1451, "{m:?}");
        assert!((m.c_w - 0.5879).abs() < 0.05, "{m:?}");
        assert!(m.r2 > 0.99, "{m:?}");
        // Of this device only: another device's readings are not its board's.
        let mine = pairs(&LogSource::dir(dir.path()), Some(&log.device_id)).unwrap();
        assert_eq!(mine, p);
        assert!(pairs(&LogSource::dir(dir.path()), Some("pi-other"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn one_source_alone_fits_no_mapping() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &SynthLog::new(TRUTH, spread(3, false))).unwrap();
        let p = pairs(&LogSource::dir(dir.path()), None).unwrap();
        assert!(p.is_empty());
        let e = fit_mapping(&p).unwrap_err().to_string();
        assert!(
            e.starts_with("the INA219 and the PMIC overlap for 0 s"),
            "{e}"
        );
        let flat: Vec<(f64, f64)> = (0..40).map(|_| (3.0, 4.0)).collect();
        assert_eq!(
            fit_mapping(&flat).unwrap_err(),
            MappingError::Narrow { span_w: 0.0 }
        );
    }

    #[test]
    fn a_mapping_that_falls_is_refused_not_written() {
        // 60 paired seconds over 3–6 W of PMIC power, the board reading less as it rises.
        let falling: Vec<(f64, f64)> = (0..60)
            .map(|i| {
                let pmic = 3.0 + 3.0 * f64::from(i) / 59.0;
                (pmic, 10.0 - pmic)
            })
            .collect();
        let e = fit_mapping(&falling).unwrap_err();
        assert!(
            matches!(e, MappingError::NotRising { k } if (k + 1.0).abs() < 1e-9),
            "{e:?}"
        );
        assert!(e.to_string().contains("k = -1.0000"), "{e}");
    }
}
