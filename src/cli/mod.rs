//! Command line.
use std::process::ExitCode;

pub fn main() -> ExitCode {
    // Early dispatch of the llama subcommands (issue 3) until the lead wires them into
    // the clap definition: `edgewatt worker` (hidden; the supervised llama.cpp worker)
    // and `edgewatt bench PLAN`.
    #[cfg(feature = "llama")]
    {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        match (args.get(1).and_then(|a| a.to_str()), args.get(2)) {
            (Some("worker"), _) => return crate::llama::worker_main(),
            (Some("bench"), Some(plan)) => {
                return crate::llama::bench_main(std::path::Path::new(plan))
            }
            _ => {}
        }
    }
    ExitCode::SUCCESS
}
