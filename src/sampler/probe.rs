//! A few readings now and then, for code outside the tick loop (the cooldown before a
//! run): the same kept-open files, `pread` and parsers as the [`super::Sampler`].

use super::error::SourceError;
use super::file::parse_i64;
use super::file::KeptFile;
use super::parse;
use super::roots::Roots;
use crate::record::CpuTicks;

/// `/proc/stat`'s aggregate line and the SoC's thermal zone (`thermal_zone0`, the
/// `cpu-thermal` zone of a Pi 5), each a file kept open between reads.
#[derive(Debug)]
pub struct Probe {
    stat: KeptFile,
    soc_temp: KeptFile,
    buf: Vec<u8>,
}

impl Probe {
    #[must_use]
    pub fn new(roots: &Roots) -> Self {
        Self {
            stat: KeptFile::new(roots.proc("stat")),
            soc_temp: KeptFile::new(roots.thermal_dir().join("thermal_zone0/temp")),
            buf: Vec::new(),
        }
    }

    /// All-CPU ticks: the aggregate `cpu` line of `/proc/stat`.
    pub fn cpu_total(&mut self) -> Result<CpuTicks, SourceError> {
        let bytes = self.stat.read(&mut self.buf)?;
        parse::cpu_total(self.stat.path(), bytes)
    }

    /// `thermal_zone0/temp`, m°C.
    pub fn soc_temp_mc(&mut self) -> Result<i64, SourceError> {
        let bytes = self.soc_temp.read(&mut self.buf)?;
        parse_i64(self.soc_temp.path(), bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_follow_the_files_and_missing_ones_are_errors_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        let zone = roots.thermal_dir().join("thermal_zone0");
        std::fs::create_dir_all(&zone).unwrap();
        std::fs::create_dir_all(&roots.proc_root).unwrap();
        let mut p = Probe::new(&roots);
        let stat_path = roots.proc("stat");
        let err = p.cpu_total().unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("cannot open {}: ", stat_path.display())),
            "{err}"
        );
        std::fs::write(&stat_path, "cpu  10 1 5 100 2 3 4 6 0 0\ncpu0 1 1 1 1\n").unwrap();
        std::fs::write(zone.join("temp"), "51230\n").unwrap();
        assert_eq!(
            p.cpu_total().unwrap(),
            CpuTicks::from_array([10, 1, 5, 100, 2, 3, 4, 6])
        );
        assert_eq!(p.soc_temp_mc().unwrap(), 51_230);
        // Rewritten in place: the kept files give the new content.
        std::fs::write(&stat_path, "cpu  20 1 5 190 2 3 4 6 0 0\ncpu0 1 1 1 1\n").unwrap();
        std::fs::write(zone.join("temp"), "-500\n").unwrap();
        assert_eq!(p.cpu_total().unwrap().idle, 190);
        assert_eq!(p.soc_temp_mc().unwrap(), -500);
        std::fs::write(&stat_path, "cpu0 1 1 1 1\n").unwrap();
        let err = p.cpu_total().unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: malformed: the first line is not the aggregate \"cpu\" line, got \
                 \"cpu0 1 1 1 1\\n\"",
                stat_path.display()
            )
        );
    }

    #[test]
    fn this_machines_proc_stat_gives_moving_counters() {
        let mut p = Probe::new(&Roots::default());
        let a = p.cpu_total().unwrap();
        assert!(a.total() > 0 && a.total() >= a.busy());
        let b = p.cpu_total().unwrap();
        assert!(b.total() >= a.total(), "counters never go back");
    }
}
