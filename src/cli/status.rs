//! `edgewatt status`: the health of a daemon's state directory, running or stopped, as
//! text or JSON, with an exit status monitoring can use (see [`STATUS_EXIT_HELP`]).

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use clap::Args;
use clap::ValueEnum;
use jiff::tz::TimeZone;

use super::Cli;
use crate::clock::Anchor;
use crate::status::NextRun;
use crate::status::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// Lines for a person.
    Text,
    /// One JSON object (the fields of the text, and `healthy`).
    Json,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
    pub format: StatusFormat,
}

/// Exit status of `status`.
pub const STATUS_EXIT_HELP: &str = "Exit status: 0 healthy (the daemon runs, samples are \
fresh, the power sensor works or none is configured, the disk has room); 1 unhealthy: at \
least one condition is listed (not running, stale samples, sensor lost or absent, disk full, \
log over retention, unreadable schedule.json or plan file); 2 the status cannot be told (no \
such state directory, unreadable lock or log, bad configuration).";

pub fn run(cli: &Cli, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let cfg = super::load_config(cli)?;
    let st = crate::status::status(&cfg, Anchor::now(), &TimeZone::system())?;
    let mut out = std::io::stdout().lock();
    match args.format {
        StatusFormat::Json => {
            let mut v = serde_json::to_value(&st)?;
            v["healthy"] = serde_json::Value::Bool(st.healthy());
            writeln!(out, "{v}")?;
        }
        StatusFormat::Text => write!(out, "{}", text(&st))?,
    }
    Ok(if st.healthy() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn wall(unix_s: Option<i64>) -> String {
    unix_s
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(|| "unknown".into(), |t| t.to_string())
}

fn age(s: Option<f64>) -> String {
    s.map_or_else(|| "none".into(), |s| format!("{s:.1} s ago"))
}

fn next_text(n: Option<&NextRun>) -> String {
    match n {
        None => "-".into(),
        Some(NextRun::At { unix_s, trigger }) => format!("{} ({trigger})", wall(Some(*unix_s))),
        Some(NextRun::Due { trigger }) => format!("due now ({trigger})"),
        Some(NextRun::AtNextStart { trigger, catch_up }) => format!(
            "at the next daemon start ({trigger}{})",
            if *catch_up { ", missed while down" } else { "" }
        ),
        Some(NextRun::Never) => "never (at_start only; ran this session)".into(),
    }
}

fn run_text(r: &crate::status::RunStatus) -> String {
    let energy = r
        .net_energy
        .as_ref()
        .map_or_else(String::new, |e| format!(", net energy {e}"));
    format!(
        "{} at {}, run {} of {}: {}{energy}",
        r.label,
        wall(r.unix_s),
        r.index,
        r.total,
        r.outcome
    )
}

/// The daemon's lines: its state, pid and times; the session's late ticks and errors.
fn daemon_text(o: &mut String, d: &crate::status::DaemonStatus) {
    let pid = d.pid.map_or_else(String::new, |p| format!(" (pid {p})"));
    let _ = match d.state {
        crate::status::DaemonState::Running => writeln!(
            o,
            "daemon:      running{pid} since {}, up {} s",
            wall(d.started_unix_s),
            d.uptime_s.unwrap_or(0)
        ),
        crate::status::DaemonState::Stopped => writeln!(
            o,
            "daemon:      stopped{pid}, last started {}, stopped {} ({})",
            wall(d.started_unix_s),
            wall(d.stopped_unix_s),
            d.stop_reason.as_deref().unwrap_or("no clean stop logged")
        ),
        crate::status::DaemonState::NeverStarted => writeln!(o, "daemon:      never started here"),
    };
    let _ = writeln!(
        o,
        "session:     {} late ticks, {} store errors",
        d.late_ticks, d.store_errors
    );
}

/// Each plan's last start, next run and last run.
fn plans_text(o: &mut String, plans: &[crate::status::PlanStatus]) {
    for p in plans {
        let _ = writeln!(o, "plan {}:", p.name);
        if let Some(e) = &p.error {
            let _ = writeln!(o, "  cannot read {}: {e}", p.path.display());
            continue;
        }
        let _ = writeln!(
            o,
            "  last start {}, next {}",
            wall(p.last_start_unix_s),
            next_text(p.next.as_ref())
        );
        if let Some(r) = &p.last_run {
            let _ = writeln!(o, "  last run {}", run_text(r));
        }
    }
}

/// The disk's line, the log's damage and the unhealthy conditions.
fn disk_and_conditions_text(o: &mut String, st: &Status) {
    let k = &st.disk;
    let free = k.fs_available_bytes.map_or_else(
        || "unknown".into(),
        |b| format!("{:.1} MiB", b as f64 / 1_048_576.0),
    );
    let _ = writeln!(
        o,
        "disk:        {:.1} MiB in {} segments (retention {:.1} MiB), {free} free",
        k.log_bytes as f64 / 1_048_576.0,
        k.segments,
        k.retain_bytes as f64 / 1_048_576.0
    );
    if !st.damage.is_empty() {
        let _ = writeln!(o, "log damage:  {}", st.damage);
    }
    for c in &st.conditions {
        let _ = writeln!(
            o,
            "UNHEALTHY {}: {}",
            serde_json::to_value(c.kind)
                .unwrap_or_default()
                .as_str()
                .unwrap_or("?"),
            c.message
        );
    }
}

/// The status as lines for a person.
#[must_use]
pub fn text(st: &Status) -> String {
    let mut o = String::new();
    let health = if st.healthy() { "healthy" } else { "UNHEALTHY" };
    let _ = writeln!(o, "{health}: {}", st.state_dir.display());
    daemon_text(&mut o, &st.daemon);
    if let Some(s) = &st.segment {
        let state = if s.open { "writing" } else { "sealed" };
        let _ = writeln!(
            o,
            "segment:     {} ({state}, {} bytes)",
            s.path.display(),
            s.bytes
        );
    }
    let _ = writeln!(o, "last sample: {}", age(st.last_sample_age_s));
    let s = &st.sensor;
    let msg = s
        .message
        .as_ref()
        .map_or_else(String::new, |m| format!(": {m}"));
    let _ = writeln!(
        o,
        "sensor:      {} [{}], last reading {}{msg}",
        s.state,
        s.source,
        age(s.last_reading_age_s)
    );
    plans_text(&mut o, &st.plans);
    if let Some(r) = &st.last_run {
        let _ = writeln!(o, "last run:    {}", run_text(r));
    }
    disk_and_conditions_text(&mut o, st);
    o
}
