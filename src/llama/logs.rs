//! llama.cpp, ggml and mtmd log capture in the worker.
//!
//! All three libraries log through one callback installed here. Lines are kept in a
//! ring (the last ones explain a failed load: llama.cpp returns only NULL), warnings and
//! errors go to stderr (the supervisor keeps the tail), and the mtmd helper's
//! "encoding image slice..." / "image slice encoded" lines mark the image encode on the
//! monotonic clock: the callback runs synchronously on the inference thread, right
//! before and after `mtmd_encode_chunk`, which the Rust wrapper does not expose apart
//! from the whole prompt evaluation.

use std::collections::VecDeque;
use std::ffi::c_char;
use std::ffi::c_void;
use std::ffi::CStr;
use std::io::Write;
use std::sync::Mutex;

use crate::clock::mono_us;

const KEEP_LINES: usize = 40;

#[derive(Default)]
struct State {
    partial: String,
    lines: VecDeque<String>,
    /// (start, end) µs of image encodes since the last [`take_encodes`].
    encodes: Vec<(u64, Option<u64>)>,
}

static STATE: Mutex<State> = Mutex::new(State {
    partial: String::new(),
    lines: VecDeque::new(),
    encodes: Vec::new(),
});

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

unsafe extern "C" fn on_log(level: u32, text: *const c_char, _user: *mut c_void) {
    if text.is_null() {
        return;
    }
    let now = mono_us();
    // SAFETY: llama.cpp passes a NUL-terminated string valid for the call.
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let mut s = state();
    s.partial.push_str(&text);
    while let Some(i) = s.partial.find('\n') {
        let line: String = s.partial.drain(..=i).collect();
        let line = line.trim_end().to_owned();
        if line.starts_with("encoding image slice") {
            s.encodes.push((now, None));
        } else if line.starts_with("image slice encoded") {
            if let Some(last) = s.encodes.last_mut() {
                last.1 = Some(now);
            }
        }
        // ggml_log_level: 2 info... 3 warn, 4 error (1 debug, 5 cont).
        if level == 3 || level == 4 {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
        if s.lines.len() == KEEP_LINES {
            s.lines.pop_front();
        }
        s.lines.push_back(line);
    }
}

/// Routes llama.cpp, ggml and mtmd logs to [`on_log`]. Call once, before loading anything.
pub fn install() {
    // SAFETY: the callback is a plain function valid for the whole process; the user
    // pointer is unused.
    unsafe {
        llama_cpp_sys_2::llama_log_set(Some(on_log), std::ptr::null_mut());
        llama_cpp_sys_2::ggml_log_set(Some(on_log), std::ptr::null_mut());
        llama_cpp_sys_2::mtmd_helper_log_set(Some(on_log), std::ptr::null_mut());
    }
}

/// Forgets the lines and marks so far (call at the start of a step whose failure
/// should be explained by its own lines only).
pub fn clear() {
    let mut s = state();
    s.lines.clear();
    s.encodes.clear();
}

/// The last error/warning lines, or the last lines if there are none, joined by " | ".
#[must_use]
pub fn tail() -> String {
    let s = state();
    let errors: Vec<&str> = s
        .lines
        .iter()
        .filter(|l| l.contains("error") || l.contains("failed") || l.contains("mismatch"))
        .map(String::as_str)
        .collect();
    let pick: Vec<&str> = if errors.is_empty() {
        s.lines
            .iter()
            .rev()
            .take(3)
            .rev()
            .map(String::as_str)
            .collect()
    } else {
        errors.into_iter().rev().take(4).rev().collect()
    };
    pick.join(" | ")
}

/// Image encodes seen since the last call: (start µs, end µs); unfinished ones dropped.
pub fn take_encodes() -> Vec<(u64, u64)> {
    let mut s = state();
    s.encodes
        .drain(..)
        .filter_map(|(a, b)| b.map(|b| (a, b)))
        .collect()
}
