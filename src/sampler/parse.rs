//! Parsers from file content (a slice of a reused buffer) to raw readings, built on
//! `procfs`'s `FromRead`/`FromBufRead` parsers.
//!
//! procfs allocates inside its parsers (a `String` per line, a map for meminfo); the
//! file buffers themselves are the caller's and are reused every tick.

use std::path::Path;

use procfs::process::Stat;
use procfs::process::StatM;
use procfs::CpuTime;
use procfs::ExplicitSystemInfo;
use procfs::FromBufRead;
use procfs::FromBufReadSI;
use procfs::FromRead;
use procfs::KernelStats;
use procfs::Meminfo;

use super::error::SourceError;
use crate::record::CpuTicks;
use crate::record::MemKb;
use crate::record::ProcCounters;

/// A readable message for a procfs parse failure: procfs reports malformed input as an
/// "internal error … please report this procfs bug", so name the offending line ourselves.
fn procfs_error(path: &Path, bytes: &[u8], e: &procfs::ProcError) -> SourceError {
    let detail = match e {
        procfs::ProcError::InternalError(ie) => ie
            .msg
            .trim_start_matches("Internal Unwrap Error: ")
            .replace("NoneError", "a field or line is missing"),
        other => other.to_string(),
    };
    let what = match first_bad_line(bytes) {
        Some((n, line)) => format!("line {n} {line:?} does not parse ({detail})"),
        None => format!("does not parse ({detail})"),
    };
    SourceError::Malformed {
        path: path.to_path_buf(),
        what,
    }
}

/// First line (1-based) whose numeric fields are not all unsigned integers, for
/// `/proc/stat` (`cpuN n n n …`), `/proc/meminfo` (`Key: n kB`) and the one-line pid
/// files; unit words (`kB`) and names are skipped.
fn first_bad_line(bytes: &[u8]) -> Option<(usize, String)> {
    let text = String::from_utf8_lossy(bytes);
    text.lines().enumerate().find_map(|(i, line)| {
        let fields = line
            .rsplit_once(')')
            .map_or(line, |(_, rest)| rest)
            .split_whitespace();
        let bad = if line.starts_with("cpu") {
            line.split_whitespace()
                .skip(1)
                .any(|f| f.parse::<u64>().is_err())
        } else if line.contains(':') {
            line.split_whitespace()
                .nth(1)
                .is_none_or(|v| v.parse::<u64>().is_err())
        } else if line.contains('(') || !line.starts_with(|c: char| c.is_ascii_alphabetic()) {
            // pid stat (after the command name) or statm: numbers, one state letter.
            fields
                .filter(|f| f.len() > 1 || !f.starts_with(|c: char| c.is_ascii_alphabetic()))
                .any(|f| f.parse::<i64>().is_err() && f.parse::<u64>().is_err())
        } else {
            false
        };
        bad.then(|| (i + 1, line.chars().take(80).collect()))
    })
}

/// System information procfs wants for `/proc/stat`; only the tick rate is used, and
/// only by procfs's own `*_ms` helpers, which edgewatt never calls (it keeps raw ticks).
pub(crate) fn system_info(page_size: u64) -> ExplicitSystemInfo {
    ExplicitSystemInfo {
        boot_time_secs: 0,
        ticks_per_second: 100,
        page_size,
        is_little_endian: cfg!(target_endian = "little"),
    }
}

fn ticks(t: &CpuTime) -> CpuTicks {
    CpuTicks {
        user: t.user,
        nice: t.nice,
        system: t.system,
        idle: t.idle,
        iowait: t.iowait.unwrap_or(0),
        irq: t.irq.unwrap_or(0),
        softirq: t.softirq.unwrap_or(0),
        steal: t.steal.unwrap_or(0),
    }
}

/// `/proc/stat` → the aggregate line and every per-core line, in file order.
pub(crate) fn kernel_stats(
    path: &Path,
    bytes: &[u8],
    si: &ExplicitSystemInfo,
) -> Result<KernelStats, SourceError> {
    KernelStats::from_buf_read(bytes, si).map_err(|e| procfs_error(path, bytes, &e))
}

/// Number of `cpu` lines (aggregate + per core) in `/proc/stat`, without parsing them.
pub(crate) fn count_cpu_lines(bytes: &[u8]) -> usize {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"cpu"))
        .count()
}

/// Fills `out` (aggregate first, then `cpu0`…) from `/proc/stat`; all or nothing.
pub(crate) fn cpu_ticks(
    path: &Path,
    bytes: &[u8],
    si: &ExplicitSystemInfo,
    out: &mut [CpuTicks],
) -> Result<(), SourceError> {
    let ks = kernel_stats(path, bytes, si)?;
    let found = 1 + ks.cpu_time.len();
    if found != out.len() {
        return Err(SourceError::CpuCount {
            path: path.to_path_buf(),
            found,
            expected: out.len(),
        });
    }
    out[0] = ticks(&ks.total);
    for (slot, t) in out[1..].iter_mut().zip(&ks.cpu_time) {
        *slot = ticks(t);
    }
    Ok(())
}

/// `/proc/meminfo` → the six fields, in kB.
///
/// procfs returns bytes (it multiplies the file's kB by 1024), so dividing by 1024 gives
/// the file's numbers back exactly.
pub(crate) fn mem_kb(path: &Path, bytes: &[u8]) -> Result<MemKb, SourceError> {
    let m = Meminfo::from_buf_read(bytes).map_err(|e| procfs_error(path, bytes, &e))?;
    let available = m.mem_available.ok_or_else(|| SourceError::Malformed {
        path: path.to_path_buf(),
        what: "no MemAvailable line (kernel older than 3.14?)".to_owned(),
    })?;
    Ok(MemKb {
        total: m.mem_total / 1024,
        available: available / 1024,
        free: m.mem_free / 1024,
        cached: m.cached / 1024,
        swap_total: m.swap_total / 1024,
        swap_free: m.swap_free / 1024,
    })
}

/// `/proc/PID/stat` → utime, stime (ticks), minflt, majflt; `rss_kb` is left as is.
pub(crate) fn pid_stat(
    path: &Path,
    bytes: &[u8],
    out: &mut ProcCounters,
) -> Result<(), SourceError> {
    let s = Stat::from_read(bytes).map_err(|e| procfs_error(path, bytes, &e))?;
    out.utime_ticks = s.utime;
    out.stime_ticks = s.stime;
    out.minflt = s.minflt;
    out.majflt = s.majflt;
    Ok(())
}

/// `/proc/PID/statm` → resident set in kB (resident pages × page size / 1024).
pub(crate) fn statm_rss_kb(path: &Path, bytes: &[u8], page_size: u64) -> Result<u64, SourceError> {
    let s = StatM::from_read(bytes).map_err(|e| procfs_error(path, bytes, &e))?;
    Ok(s.resident * (page_size / 1024))
}

#[cfg(test)]
mod tests;
