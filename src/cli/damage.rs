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
