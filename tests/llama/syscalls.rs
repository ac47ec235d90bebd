//! The unit's `SystemCallFilter=` against the system calls edgewatt really makes: `edgewatt
//! run` with a plan, its llama.cpp worker and a clean stop are traced with strace, and every
//! call must be in the set the unit allows (expanded by `systemd-analyze syscall-filter`).
//! A call outside it would fail with EPERM under systemd (SystemCallErrorNumber=EPERM).

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use std::time::Instant;

use super::models;
use crate::common::dump;
use crate::common::edgewatt;
use crate::common::signal;
use crate::common::Ready;
use crate::systemd::tool_output;

/// The unit's `SystemCallFilter=` lines, in order.
fn unit_filters() -> Vec<String> {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/edgewatt.service");
    std::fs::read_to_string(unit)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("SystemCallFilter="))
        .map(str::to_owned)
        .collect()
}

/// Every `@group` of `systemd-analyze syscall-filter`, with its members.
fn groups() -> BTreeMap<String, Vec<String>> {
    let out = tool_output("systemd-analyze", "systemd", &["syscall-filter".as_ref()]);
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let item = line.trim();
        if line.starts_with('@') {
            current = Some(item.to_owned());
            groups.entry(item.to_owned()).or_default();
        } else if let Some(g) = current
            .as_ref()
            .filter(|_| !item.is_empty() && !item.starts_with('#'))
        {
            groups.get_mut(g).unwrap().push(item.to_owned());
        }
    }
    groups
}

fn expand(name: &str, groups: &BTreeMap<String, Vec<String>>, into: &mut BTreeSet<String>) {
    match groups.get(name) {
        Some(members) => members.iter().for_each(|m| expand(m, groups, into)),
        None if name.starts_with('@') => panic!("systemd-analyze knows no group {name}"),
        None => {
            into.insert(name.to_owned());
        }
    }
}

/// The calls the unit's filter lines allow: allow lists add, `~` lists take away.
fn allowed() -> BTreeSet<String> {
    let groups = groups();
    let mut allowed = BTreeSet::new();
    for line in unit_filters() {
        let (deny, list) = match line.strip_prefix('~') {
            Some(rest) => (true, rest),
            None => (false, line.as_str()),
        };
        let mut set = BTreeSet::new();
        list.split_whitespace()
            .for_each(|n| expand(n, &groups, &mut set));
        if deny {
            allowed.retain(|c| !set.contains(c));
        } else {
            allowed.extend(set);
        }
    }
    assert!(allowed.len() > 100, "{allowed:?}");
    allowed
}

#[test]
fn every_system_call_of_the_daemon_and_its_worker_passes_the_unit_s_filter() {
    let allowed = allowed();
    tool_output("strace", "strace", &["-V".as_ref()]);
    let dir = tempfile::tempdir().unwrap();
    let trace = trace_a_daemon_run(dir.path());
    let text = std::fs::read_to_string(&trace).unwrap();
    let used: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| {
            let call = l.split_once(' ')?.1.trim_start();
            let name = &call[..call.find('(')?];
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                .then_some(name)
        })
        .collect();
    assert!(
        used.contains("execve") && used.contains("fdatasync"),
        "{used:?}"
    );
    let outside: Vec<&&str> = used.iter().filter(|c| !allowed.contains(**c)).collect();
    assert!(
        outside.is_empty(),
        "calls the unit's SystemCallFilter= refuses: {outside:?}"
    );
    check_no_writable_executable_memory(&text);
}

/// `edgewatt run` under `strace -f`, with a plan of one small run, stopped with SIGTERM
/// once the run is logged; returns the path of the trace.
fn trace_a_daemon_run(dir: &Path) -> PathBuf {
    let state = dir.join("state");
    let plan = dir.join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "name = \"traced\"\n[[workload]]\nname = \"llm\"\nmodel = \"{}\"\n\
             prompt_tokens = [16]\ngen_tokens = 8\nthreads = [2]\nn_ctx = 256\n",
            models().llama.display()
        ),
    )
    .unwrap();
    let config = dir.join("edgewatt.toml");
    std::fs::write(
        &config,
        format!(
            "state_dir = \"{}\"\nplans = [\"{}\"]\n[store]\nfsync_interval_ms = 200\n",
            state.display(),
            plan.display()
        ),
    )
    .unwrap();
    let trace = dir.join("trace");
    let ready = Ready::new(dir);
    let mut strace = Command::new("strace");
    strace
        .args(["-f", "-qq", "-o"])
        .arg(&trace)
        .arg(edgewatt().get_program())
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn");
    let mut traced = ready.spawn(&mut strace);
    let deadline = Instant::now() + Duration::from_secs(300);
    let daemon_pid = loop {
        let records = dump(&state);
        if records.iter().any(|r| r["type"] == "run") {
            let start = records.iter().find(|r| r["event"] == "start").unwrap();
            break start["pid"].as_u64().unwrap() as u32;
        }
        assert!(traced.try_wait().unwrap().is_none(), "{records:#?}");
        assert!(Instant::now() < deadline, "no run in 300 s");
        std::thread::sleep(Duration::from_millis(250));
    };
    signal(daemon_pid, libc::SIGTERM);
    assert!(traced.wait().unwrap().success());
    trace
}

/// MemoryDenyWriteExecute=yes refuses writable+executable mappings and making memory
/// executable later (no JIT in llama.cpp's CPU backend; libraries map read+exec): the unit
/// sets it, and the strace output `text` shows no such call.
fn check_no_writable_executable_memory(text: &str) {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/edgewatt.service"),
    )
    .unwrap();
    assert!(unit.contains("\nMemoryDenyWriteExecute=yes\n"));
    let refused: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("PROT_EXEC") && (l.contains("mprotect(") || l.contains("PROT_WRITE"))
        })
        .collect();
    assert!(
        refused.is_empty(),
        "MemoryDenyWriteExecute= refuses: {refused:#?}"
    );
}
