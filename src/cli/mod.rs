//! The command line: one subcommand per mode, each with its `Args` in its own module.
//! Library errors are typed; here they become `anyhow` errors with context.

#[cfg(feature = "llama")]
mod bench;
mod calibrate;
mod config_cmd;
mod cost_args;
mod damage;
mod dump;
mod export;
mod fleet;
mod inspect;
#[cfg(feature = "llama")]
mod quantize;
pub mod render;
mod report;
mod rows;
mod run;
mod sample;
pub mod sensors;
pub mod status;
pub mod time;
mod upload;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use clap::Subcommand;

use crate::config::Config;

/// Measures what local LLM and VLM inference costs on a Raspberry Pi 5.
#[derive(Debug, Parser)]
#[command(name = "edgewatt", version, about, long_about = None)]
pub struct Cli {
    /// Read configuration from FILE (default: /etc/edgewatt/edgewatt.toml if it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Keep segments and the lock in DIR (overrides `state_dir` of the config).
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Log more (-v debug, -vv trace); RUST_LOG also works.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sample and log until SIGTERM/SIGINT (or --duration-s), then flush and seal.
    Run(run::RunArgs),
    /// Show live readings in the terminal; nothing is logged.
    Sample(sample::SampleArgs),
    /// Print records as text or JSON lines, filtered by time and type.
    #[command(after_help = DAMAGE_EXIT_HELP)]
    Dump(dump::DumpArgs),
    /// Summarise each segment: span, record counts, gaps, late ticks, what was skipped.
    #[command(after_help = DAMAGE_EXIT_HELP)]
    Inspect(inspect::InspectArgs),
    /// Show the llama.cpp CPU backend loaded here; detect power sources and show live V, A, W.
    #[command(long_about = crate::power::registry::sensors_help())]
    Sensors(sensors::SensorsArgs),
    /// Fit the energy estimate's coefficients on runs with measured energy; print the
    /// error before and after; write the calibration file.
    #[command(after_help = CALIBRATE_EXIT_HELP)]
    Calibrate(calibrate::CalibrateArgs),
    /// Write the runs (the cost record) or the samples as CSV, JSON lines or Parquet.
    #[command(after_help = DAMAGE_EXIT_HELP)]
    Export(export::ExportArgs),
    /// Upload sealed segments to the `[upload]` bucket now (idempotent, resumable).
    Upload(upload::UploadArgs),
    /// Check or print the configuration.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Is the daemon healthy? Uptime, segment, last sample, sensor, plans, disk; text or JSON.
    #[command(after_help = status::STATUS_EXIT_HELP)]
    Status(status::StatusArgs),
    /// Run a plan of LLM/VLM workloads now; progress on stderr, then tables made from its log.
    #[cfg(feature = "llama")]
    Bench(bench::BenchArgs),
    /// The laws, the knee, base vs compressed and the estimate's error, from one or several
    /// logs: a terminal table, markdown, JSON or one HTML page with charts.
    Report(report::ReportArgs),
    /// Make a compressed (or F16) variant of a model with llama.cpp's quantizer.
    #[cfg(feature = "llama")]
    Quantize(quantize::QuantizeArgs),
    /// The supervised llama.cpp worker: framed jobs on stdin, replies on stdout.
    #[cfg(feature = "llama")]
    #[command(hide = true)]
    Worker,
}

/// Exit status of the commands that read the log.
const DAMAGE_EXIT_HELP: &str = "Exit status: 0 when everything was read (frames of a newer \
edgewatt and the frame a running daemon is writing are skipped without failing); 1 when \
damaged data was skipped (corrupt frames, a truncated segment, undecodable blocks, unreadable \
segments, damaged headers; each named on stderr with its file and offset), unless \
--allow-damaged; 2 on an error.";

/// Exit status of `calibrate`.
const CALIBRATE_EXIT_HELP: &str = "Exit status: 0 when the calibration was written; 2 when \
none could be fitted (no or too few runs with trusted measured energy, too narrow a load \
range, runs of several devices without --device or --pool: the message says what to \
collect, e.g. with plans/calibrate.toml), or on another error.";

/// Loads the config file and applies the global flags.
pub(crate) fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    Ok(config_source(cli).load()?)
}

/// The config file and the global flags that override it.
pub(crate) fn config_source(cli: &Cli) -> crate::daemon::ConfigSource {
    crate::daemon::ConfigSource {
        path: cli.config.clone(),
        state_dir: cli.state_dir.clone(),
        rate_hz: None,
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let env = env_logger::Env::default().default_filter_or(level);
    let _ = env_logger::Builder::from_env(env)
        .format_timestamp_millis()
        .try_init();
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes, each cause only once: typed errors already quote their
/// source in their own message.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text
}

/// Tunes glibc's malloc for a command that reads a log whole, allocates tens of megabytes
/// and exits (`report`, `export`, `calibrate`): blocks of any size come from the heap and
/// go back to it, and the heaps grow in 64 MiB steps and are not trimmed, where by default
/// each large block is mapped and unmapped on its own and every heap grows a page at a
/// time (measured on a cached report over 10 000 runs: a third of its CPU time went to the
/// kernel, zeroing and mapping pages). The daemon keeps the defaults.
fn malloc_for_a_batch() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const HEAP_STEP_BYTES: libc::c_int = 64 << 20;
        for (param, value) in [
            (libc::M_MMAP_THRESHOLD, HEAP_STEP_BYTES),
            (libc::M_TOP_PAD, HEAP_STEP_BYTES),
            (libc::M_TRIM_THRESHOLD, libc::c_int::MAX),
        ] {
            // A refused setting (0) leaves glibc's default: slower, never wrong.
            // SAFETY: mallopt only sets malloc's parameters; it is called before any
            // thread of this process is started.
            unsafe { libc::mallopt(param, value) };
        }
    }
}

/// Entry point of the `edgewatt` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::Report(_) | Command::Export(_) | Command::Calibrate(_)
    ) {
        malloc_for_a_batch();
    }
    init_logging(cli.verbose);
    let result = match &cli.command {
        Command::Run(args) => run::run(&cli, args),
        Command::Sample(args) => sample::run(&cli, args),
        Command::Dump(args) => dump::run(&cli, args),
        Command::Inspect(args) => inspect::run(&cli, args),
        Command::Sensors(args) => sensors::run(&cli, args).map(|()| ExitCode::SUCCESS),
        Command::Calibrate(args) => calibrate::run(&cli, args),
        Command::Export(args) => export::run(&cli, args),
        Command::Config(cmd) => config_cmd::run(&cli, cmd),
        Command::Report(args) => report::run(&cli, args),
        Command::Status(args) => status::run(&cli, args),
        Command::Upload(args) => upload::run(&cli, args),
        #[cfg(feature = "llama")]
        Command::Bench(args) => bench::run(&cli, args),
        #[cfg(feature = "llama")]
        Command::Quantize(args) => quantize::run(args),
        #[cfg(feature = "llama")]
        Command::Worker => Ok(crate::llama::worker_main()),
    };
    match result {
        Ok(code) => code,
        // The reader went away (`edgewatt dump | head`): a normal end, not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgewatt: error: {}", error_text(&e));
            ExitCode::from(2)
        }
    }
}
