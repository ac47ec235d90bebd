//! How `dump` and `inspect` report what the log reader skipped, and their exit status.

use std::process::ExitCode;

use crate::logread::DamageCounts;
use crate::logread::Skip;
use crate::logread::SkipKind;

/// Reports a skip on stderr: damage always, a newer writer's records as a note, an open
/// segment's frame being written only with `-v`.
pub(super) fn report_skip(skip: &Skip) {
    if skip.kind == SkipKind::LiveTail {
        log::debug!("{skip}");
    } else {
        eprintln!("edgewatt: {skip}");
    }
}

/// Tells on stderr, as `command`'s, each file of `dir` named like a segment but not as one
/// (`x.ewlog`): not read, which would otherwise pass without a word.
pub(super) fn tell_misnamed(command: &str, dir: &std::path::Path) {
    for path in crate::store::misnamed_segments(dir) {
        eprintln!(
            "edgewatt: {command}: {}: not named as a segment (its first seq in 20 digits, then \
             .ewlog), so not read: rename it, or read it alone with `edgewatt dump --segment`",
            path.display()
        );
    }
}

/// The exit status after reading: 1 when damage was skipped and not allowed (said once
/// more on stderr, with the counts), else 0.
pub(super) fn damage_status(counts: &DamageCounts, allow_damaged: bool) -> ExitCode {
    if !counts.is_damaged() {
        return ExitCode::SUCCESS;
    }
    if allow_damaged {
        eprintln!("edgewatt: skipped damaged data: {}", counts.damage_text());
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "edgewatt: skipped damaged data: {} (each named above with its file and offset); \
         exit status 1, --allow-damaged to accept",
        counts.damage_text()
    );
    ExitCode::from(1)
}
