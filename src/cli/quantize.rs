//! `edgewatt quantize IN OUT --type T`: a compressed (or F16) variant of a model, made by
//! llama.cpp's own quantizer ([`crate::llama::quantize`]), to compare against the base.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::gguf::FileType;
use crate::llama::QuantizeOptions;

#[derive(Debug, clap::Args)]
#[command(after_help = TYPES_HELP)]
pub struct QuantizeArgs {
    /// The model to quantize (GGUF).
    pub input: PathBuf,
    /// Where to write the new model (GGUF); it must not exist unless --force.
    pub output: PathBuf,
    /// The file type to make: Q8_0, Q4_0, Q4_1, Q4_K_M, Q3_K_S, Q2_K, F16, … (see below).
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_type)]
    pub file_type: &'static FileType,
    /// Replace OUTPUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// Quantize an input that is already quantized (adds to its rounding error; an F16
    /// made from it is no better than it).
    #[arg(long)]
    pub allow_requantize: bool,
    /// Threads to quantize with (0: every core).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub threads: u32,
}

const TYPES_HELP: &str = "Types (bits per weight): F32, F16, BF16; Q8_0 8.5; Q6_K 6.6; Q5_K_M, \
Q5_K_S, Q5_1, Q5_0; Q4_K_M 4.8, Q4_K_S, Q4_1 5.0, Q4_0 4.5, IQ4_NL, IQ4_XS; Q3_K_L, Q3_K_M, \
Q3_K_S 3.4, IQ3_M, IQ3_S, IQ3_XS; Q2_K 2.6. IQ1_*, IQ2_*, IQ3_XXS and Q2_K_S need an \
importance matrix and are refused. Tensors whose rows do not fit a type's block (256 \
for the k-quants) fall back to a nearby type, so small models come out larger than the \
bits per weight suggest.";

fn parse_type(name: &str) -> Result<&'static FileType, String> {
    crate::llama::file_type(name).map_err(|e| e.to_string())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

pub fn run(args: &QuantizeArgs) -> anyhow::Result<ExitCode> {
    let options = QuantizeOptions {
        threads: args.threads,
        force: args.force,
        allow_requantize: args.allow_requantize,
    };
    let started = Instant::now();
    let made = crate::llama::quantize(&args.input, &args.output, args.file_type, &options)?;
    writeln!(
        std::io::stdout().lock(),
        "{} ({}, {:.1} MB) -> {} ({}, {:.1} MB, {:.0} % of the input) in {:.1} s",
        args.input.display(),
        made.from,
        mb(made.input_bytes),
        made.output.display(),
        made.to.name,
        mb(made.output_bytes),
        made.output_bytes as f64 / made.input_bytes.max(1) as f64 * 100.0,
        started.elapsed().as_secs_f64()
    )?;
    Ok(ExitCode::SUCCESS)
}
