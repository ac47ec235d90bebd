//! Parsers from file content (a slice of a reused buffer) to raw readings, in one pass
//! and without allocating: each reads only the fields edgewatt records and stops once it
//! has them.
//!
//! The formats are the kernel's (proc(5)); `parse/tests.rs` checks every parser against
//! the `procfs` crate's on generated files and on this machine's own, and against
//! arbitrary bytes. A file that does not parse gives `Malformed`, naming the line and
//! the field.

use std::path::Path;

use super::error::SourceError;
use crate::record::CpuTicks;
use crate::record::MemKb;
use crate::record::ProcCounters;

/// Non-empty lines of `bytes` with their 1-based numbers.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.is_empty())
}

/// Whitespace-separated fields of a line.
fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty())
}

/// An unsigned decimal field: digits only, no sign, no overflow.
fn number(field: &[u8]) -> Option<u64> {
    if field.is_empty() {
        return None;
    }
    field.iter().try_fold(0u64, |v, &b| {
        let d = b.wrapping_sub(b'0');
        (d <= 9).then_some(())?;
        v.checked_mul(10)?.checked_add(u64::from(d))
    })
}

fn lossy(bytes: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(max)]).into_owned()
}

/// `Malformed`: line `n` (its first 80 bytes quoted) and why it does not parse.
fn bad_line(path: &Path, n: usize, line: &[u8], why: &str) -> SourceError {
    SourceError::Malformed {
        path: path.to_path_buf(),
        what: format!("line {n} {:?} does not parse ({why})", lossy(line, 80)),
    }
}

fn not_a_number(field_no: usize, field: &[u8]) -> String {
    format!(
        "field {field_no} {:?} is not an unsigned integer",
        lossy(field, 24)
    )
}

/// The leading `cpu` lines of `/proc/stat` (the kernel prints them first), with their
/// line numbers; the long `intr` line after them is never scanned.
fn cpu_lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    lines(bytes).take_while(|(_, l)| l.starts_with(b"cpu"))
}

/// One `cpu` line: user nice system idle iowait irq softirq steal. Kernels before 2.6.11
/// print fewer than 8 (at least 4); the missing ones are 0. Guest time, already counted
/// in user and nice, is not read.
fn cpu_line(path: &Path, n: usize, line: &[u8]) -> Result<CpuTicks, SourceError> {
    let mut a = [0u64; CpuTicks::FIELDS];
    let mut found = 0;
    for (i, f) in fields(line).skip(1).take(CpuTicks::FIELDS).enumerate() {
        a[i] = number(f).ok_or_else(|| bad_line(path, n, line, &not_a_number(i + 2, f)))?;
        found += 1;
    }
    if found < 4 {
        return Err(bad_line(
            path,
            n,
            line,
            "expected at least 4 counters: user nice system idle",
        ));
    }
    Ok(CpuTicks::from_array(a))
}

/// Number of `cpu` lines (aggregate + per core) in `/proc/stat`, without parsing them.
pub(crate) fn count_cpu_lines(bytes: &[u8]) -> usize {
    cpu_lines(bytes).count()
}

/// The aggregate `cpu` line, which must be the first line of `/proc/stat`.
pub(crate) fn cpu_total(path: &Path, bytes: &[u8]) -> Result<CpuTicks, SourceError> {
    match cpu_lines(bytes).next() {
        Some((n, line)) if fields(line).next() == Some(b"cpu") => cpu_line(path, n, line),
        _ => Err(SourceError::Malformed {
            path: path.to_path_buf(),
            what: format!(
                "the first line is not the aggregate \"cpu\" line, got {:?}",
                lossy(bytes, 64)
            ),
        }),
    }
}

/// Fills `out` (aggregate first, then `cpu0`…) from `/proc/stat`; all or nothing.
/// `scratch` holds the lines while they are checked, so a bad line leaves `out` as it was.
pub(crate) fn cpu_ticks(
    path: &Path,
    bytes: &[u8],
    scratch: &mut Vec<CpuTicks>,
    out: &mut [CpuTicks],
) -> Result<(), SourceError> {
    scratch.clear();
    scratch.push(cpu_total(path, bytes)?);
    for (n, line) in cpu_lines(bytes).skip(1) {
        scratch.push(cpu_line(path, n, line)?);
    }
    if scratch.len() != out.len() {
        return Err(SourceError::CpuCount {
            path: path.to_path_buf(),
            found: scratch.len(),
            expected: out.len(),
        });
    }
    out.copy_from_slice(scratch);
    Ok(())
}

/// The `/proc/meminfo` keys read, in [`MemKb::from_array`] order.
const MEM_KEYS: [&[u8]; MemKb::FIELDS] = [
    b"MemTotal",
    b"MemAvailable",
    b"MemFree",
    b"Cached",
    b"SwapTotal",
    b"SwapFree",
];

/// `/proc/meminfo` → the six fields, in kB (the file's own unit: its numbers as printed).
pub(crate) fn mem_kb(path: &Path, bytes: &[u8]) -> Result<MemKb, SourceError> {
    let mut v = [None::<u64>; MemKb::FIELDS];
    for (n, line) in lines(bytes) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let Some(i) = MEM_KEYS.iter().position(|k| *k == &line[..colon]) else {
            continue;
        };
        let value = fields(&line[colon + 1..]).next().unwrap_or_default();
        v[i] = Some(number(value).ok_or_else(|| bad_line(path, n, line, &not_a_number(2, value)))?);
        if v.iter().all(Option::is_some) {
            break;
        }
    }
    let mut a = [0u64; MemKb::FIELDS];
    for (i, (slot, value)) in a.iter_mut().zip(v).enumerate() {
        *slot = value.ok_or_else(|| SourceError::Malformed {
            path: path.to_path_buf(),
            what: match MEM_KEYS[i] {
                b"MemAvailable" => "no MemAvailable line (kernel older than 3.14?)".to_owned(),
                key => format!("no {} line", String::from_utf8_lossy(key)),
            },
        })?;
    }
    Ok(MemKb::from_array(a))
}

/// State letter of a process that has exited and is waiting to be reaped (`Z`), or is
/// being torn down (`X`, `x`): its counters are final and its `statm` is all zeros.
pub(crate) const fn has_exited(state: u8) -> bool {
    matches!(state, b'Z' | b'X' | b'x')
}

/// `/proc/PID/stat` → utime, stime (ticks), minflt, majflt into `out` (`rss_kb` is left as
/// is; nothing is written on error). Returns the state letter (`R`, `S`, `Z` …).
///
/// The command name (field 2) may hold spaces and parentheses, so the fields are counted
/// from the last `)`.
pub(crate) fn pid_stat(
    path: &Path,
    bytes: &[u8],
    out: &mut ProcCounters,
) -> Result<u8, SourceError> {
    let line = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let close = line
        .iter()
        .rposition(|&b| b == b')')
        .ok_or_else(|| bad_line(path, 1, line, "no \")\" closing the command name"))?;
    let mut state = None;
    // Fields 10 minflt, 12 majflt, 14 utime, 15 stime (proc(5) numbering).
    let mut v = [0u64; 4];
    let mut seen = 0;
    for (i, f) in fields(&line[close + 1..]).take(13).enumerate() {
        let field_no = i + 3;
        let slot = match field_no {
            3 => {
                state = (f.len() == 1 && f[0].is_ascii_alphabetic()).then_some(f[0]);
                if state.is_none() {
                    let why = format!("field 3 {:?} is not a state letter", lossy(f, 24));
                    return Err(bad_line(path, 1, line, &why));
                }
                continue;
            }
            10 => 0,
            12 => 1,
            14 => 2,
            15 => 3,
            _ => continue,
        };
        v[slot] = number(f).ok_or_else(|| bad_line(path, 1, line, &not_a_number(field_no, f)))?;
        seen += 1;
    }
    match state {
        Some(state) if seen == v.len() => {
            out.minflt = v[0];
            out.majflt = v[1];
            out.utime_ticks = v[2];
            out.stime_ticks = v[3];
            Ok(state)
        }
        _ => Err(bad_line(
            path,
            1,
            line,
            "expected at least 15 fields, to stime",
        )),
    }
}

/// `/proc/PID/statm` → resident set in kB (resident pages × page size / 1024).
pub(crate) fn statm_rss_kb(path: &Path, bytes: &[u8], page_size: u64) -> Result<u64, SourceError> {
    let line = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let mut f = fields(line);
    let size = f.next();
    match (size.and_then(number), f.next()) {
        (Some(_), Some(resident)) => number(resident)
            .map(|pages| pages.saturating_mul(page_size / 1024))
            .ok_or_else(|| bad_line(path, 1, line, &not_a_number(2, resident))),
        (None, _) => Err(bad_line(
            path,
            1,
            line,
            &not_a_number(1, size.unwrap_or_default()),
        )),
        (Some(_), None) => Err(bad_line(
            path,
            1,
            line,
            "expected at least 2 fields: size resident",
        )),
    }
}

#[cfg(test)]
mod tests;
