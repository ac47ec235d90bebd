//! `edgewatt upload`: one upload pass over the state directory, in the foreground.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::Cli;
use crate::upload::Stop;
use crate::upload::Uploader;

#[derive(Debug, Args)]
pub struct UploadArgs {}

pub fn run(cli: &Cli, _args: &UploadArgs) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(cli)?;
    let roots = cfg.sampler.roots();
    let device = crate::sampler::device_id(&roots, Path::new("/etc"), cfg.device_id.as_deref())
        .unwrap_or_else(|e| {
            log::warn!("{e}; segments with a damaged header go under device \"unknown\"");
            "unknown".to_owned()
        });
    // A signal ends the process: what the server acknowledged is in the manifest already,
    // and the next pass goes on from there.
    let mut uploader = Uploader::new(&cfg.upload, &cfg.state_dir, &device, Stop::new())?;
    let report = uploader.pass();
    let mut out = std::io::stdout();
    for done in &report.done {
        writeln!(
            out,
            "uploaded {} ({} objects, {} bytes, {} sent, {} ms)",
            done.name, done.objects, done.bytes, done.sent_bytes, done.duration_ms
        )?;
    }
    writeln!(
        out,
        "{} segments uploaded, {} pending, to {}",
        report.done.len(),
        report.pending,
        cfg.upload.destination()
    )?;
    match report.error {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => Err(anyhow::Error::new(e).context(format!(
            "upload stopped with {} segments pending (acknowledged objects are kept in the \
             manifest; the next upload goes on from there)",
            report.pending
        ))),
    }
}
