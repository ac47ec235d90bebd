//! `edgewatt worker`: the child process that owns llama.cpp.

use std::fs::File;
use std::io::BufWriter;
use std::os::fd::FromRawFd;
use std::process::ExitCode;

use super::engine::Engine;
use super::infer::run_job;
use super::job::read_frame;
use super::job::write_frame;
use super::job::FrameError;
use super::job::Reply;
use super::job::Request;

/// Serves jobs read as frames from stdin, replying with frames on stdout, until stdin
/// closes or a `Shutdown` arrives. llama.cpp output that would go to stdout is sent to
/// stderr, so it cannot break the frames.
#[must_use]
pub fn worker_main() -> ExitCode {
    // SAFETY: dup/dup2 on the standard descriptors; the new fd is owned by `proto` only.
    let proto_fd = unsafe { libc::dup(1) };
    if proto_fd < 0 || unsafe { libc::dup2(2, 1) } < 0 {
        eprintln!(
            "edgewatt worker: cannot set up the reply pipe: {}",
            std::io::Error::last_os_error()
        );
        return ExitCode::from(2);
    }
    // SAFETY: `proto_fd` is a fresh descriptor from dup() that nothing else owns.
    let mut out = BufWriter::new(unsafe { File::from_raw_fd(proto_fd) });
    let mut input = std::io::stdin().lock();
    let mut engine = match Engine::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("edgewatt worker: {e}");
            let _ = write_frame(&mut out, &Reply::Unusable(e));
            return ExitCode::from(2);
        }
    };
    let ready = Reply::Ready {
        pid: std::process::id(),
        cpu_backend: engine.cpu.clone(),
    };
    if let Err(e) = write_frame(&mut out, &ready) {
        eprintln!("edgewatt worker: cannot reply: {e}");
        return ExitCode::from(2);
    }
    loop {
        match read_frame::<Request>(&mut input) {
            Ok(Request::Run(job)) => {
                let run = run_job(&mut engine, &job, &mut |m| {
                    let _ = write_frame(&mut out, &Reply::Phase(m));
                });
                if let Err(e) = write_frame(&mut out, &Reply::Done(Box::new(run))) {
                    eprintln!("edgewatt worker: cannot reply: {e}");
                    return ExitCode::from(2);
                }
            }
            Ok(Request::Shutdown) | Err(FrameError::Closed) => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("edgewatt worker: bad request: {e}");
                return ExitCode::from(2);
            }
        }
    }
}
