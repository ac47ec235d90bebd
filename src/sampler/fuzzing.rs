//! The body of the `parse_proc` fuzz target (fuzz/), shared with a stable-Rust property
//! test that runs it over random and damaged inputs. Not part of the supported API.

use std::path::Path;

use super::error::SourceError;
use super::parse;
use crate::record::CpuTicks;
use crate::record::ProcCounters;

/// Feeds `data` to every parser of the tick path as each of its files. Panics only when
/// an invariant breaks: a parser panics, an error is not `Malformed` (or `CpuCount`) about
/// the file, an aggregate line read on its own differs from the same line read with the
/// cores, or a failed parse wrote into its output.
pub fn parse_proc(data: &[u8]) {
    let path = Path::new("fuzz-input");
    let about_the_file = |e: &SourceError| {
        assert_eq!(e.path(), path);
        assert!(
            matches!(
                e,
                SourceError::Malformed { .. } | SourceError::CpuCount { .. }
            ),
            "{e}"
        );
        assert!(!e.to_string().is_empty());
    };
    let cpus = parse::count_cpu_lines(data);
    let sentinel = CpuTicks::from_array([7; CpuTicks::FIELDS]);
    let mut out = vec![sentinel; cpus];
    match parse::cpu_ticks(path, data, &mut Vec::new(), &mut out) {
        Ok(()) => assert_eq!(Some(out[0]), parse::cpu_total(path, data).ok()),
        Err(e) => {
            about_the_file(&e);
            assert!(out.iter().all(|c| *c == sentinel), "written on error");
        }
    }
    if let Err(e) = parse::cpu_total(path, data) {
        about_the_file(&e);
    }
    if let Err(e) = parse::mem_kb(path, data) {
        about_the_file(&e);
    }
    let before = ProcCounters::from_array([9; ProcCounters::FIELDS]);
    let mut c = before;
    match parse::pid_stat(path, data, &mut c) {
        Ok(state) => assert!(state.is_ascii_alphabetic()),
        Err(e) => {
            about_the_file(&e);
            assert_eq!(c, before, "written on error");
        }
    }
    for page_size in [4096, 16_384] {
        if let Err(e) = parse::statm_rss_kb(path, data, page_size) {
            about_the_file(&e);
        }
    }
}
