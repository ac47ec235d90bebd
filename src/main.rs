use std::process::ExitCode;

fn main() -> ExitCode {
    edgewatt::cli::main()
}
