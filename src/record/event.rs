//! Events: things that happen at one instant, on the monotonic clock.

use serde::Deserialize;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// CLOCK_MONOTONIC, µs.
    pub mono_us: u64,
    pub kind: EventKind,
}

/// Variant indices are part of the format: append only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// The daemon started sampling.
    Start {
        version: String,
        pid: u32,
        interval_us: u64,
    },
    /// The daemon stopped; `reason` is e.g. `SIGTERM` or `duration reached`.
    Stop { reason: String },
    /// The effective configuration, as TOML.
    Config { toml: String },
    /// Wall time moved against the monotonic clock (NTP sync, manual set).
    /// Offsets are wall − monotonic, µs; the new offset is the new anchor.
    ClockStep {
        old_offset_us: i64,
        new_offset_us: i64,
        wall_unix_us: i64,
    },
    /// A tick started late: `late_us` after its deadline; `missed` whole ticks were skipped.
    SamplerLate {
        tick: u64,
        late_us: u64,
        missed: u64,
    },
    /// A reader failed; `source` names the file or device.
    ReadError { source: String, message: String },
    /// A reader that had failed works again.
    ReadRecovered { source: String, failures: u64 },
    /// CPU time the sampler thread used over `ticks` ticks (CLOCK_THREAD_CPUTIME_ID).
    SamplerCost {
        ticks: u64,
        cpu_us: u64,
        wall_us: u64,
    },
    /// Writing the log failed (full disk, I/O error); records are kept in memory and retried.
    StoreError { message: String, pending_bytes: u64 },
    /// A segment left open by a crash was repaired.
    Recovered {
        segment: String,
        good_frames: u64,
        dropped_bytes: u64,
    },
    /// A tracked process appeared (`role` is `daemon`, `worker` or a name).
    ProcStart { pid: u32, role: String },
    /// A tracked process went away.
    ProcExit { pid: u32, role: String },
    /// A source this machine does not have (no thermal zones, no cpufreq, no
    /// `get_throttled`), reported once at start: the layout simply lacks it.
    SourceMissing { source: String, message: String },
    /// A power source failed (bus error, chip reset, overflow, stuck readings); readings
    /// stop until a `PowerRecovered`, and the gap shows in the energy coverage.
    PowerFault { source: String, message: String },
    /// The supply voltage fell below the under-voltage threshold (Pi 5: 4.63 V), µV.
    UnderVoltage { source: String, bus_uv: i64 },
    /// The configured power source is not there at start; runs get estimates only.
    SensorAbsent { source: String, message: String },
    /// A failing power source gives readings again after `failures` failed polls and
    /// `gap_us` without readings.
    PowerRecovered {
        source: String,
        failures: u64,
        gap_us: u64,
    },
    /// A plan file could not be read or has impossible values; it is skipped.
    PlanError { plan: String, message: String },
    /// A plan starts; its runs' idle baseline is the lead-in before it (CLOCK_MONOTONIC µs).
    PlanStart {
        plan: String,
        idle_from_us: u64,
        idle_to_us: u64,
    },
    /// The cooldown before run `run_id` ended (the event's time is its end): how long it
    /// waited, whether `max_wait_s` cut it short, and the last readings it compared.
    Cooldown {
        run_id: u64,
        label: String,
        waited_us: u64,
        capped: bool,
        baseline_busy_pct: Option<u32>,
        busy_pct: Option<u32>,
        temp_mc: Option<i64>,
    },
    /// A plan is due and queued: `trigger` is `at_start`, `every_s` or `at HH:MM`;
    /// `scheduled_unix_s` when it fell due; `catch_up`: it fell due while the daemon was
    /// down (it runs once however many were missed).
    PlanDue {
        plan: String,
        trigger: String,
        scheduled_unix_s: i64,
        catch_up: bool,
    },
    /// The schedule's state file (last start of each plan) could not be read or written.
    ScheduleStateError { path: String, message: String },
    /// SIGHUP reloaded the configuration and plans: the keys `applied` now (dotted, e.g.
    /// `power.source`, `plans`), and those changed in the file that take effect only at
    /// the next start (`needs_restart`, e.g. `state_dir`). A `Config` event follows.
    Reloaded {
        applied: Vec<String>,
        needs_restart: Vec<String>,
    },
    /// SIGHUP found a configuration or plan it cannot use: nothing was changed.
    ReloadRefused { message: String },
    /// A thread of the daemon died (`thread`: `power`, `workloads`): why, and when it is
    /// started again (ms from the event; `None`: it is not).
    ThreadDied {
        thread: String,
        message: String,
        restart_after_ms: Option<u64>,
    },
}

impl EventKind {
    /// Short name for text output and filtering.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Start { .. } => "start",
            Self::Stop { .. } => "stop",
            Self::Config { .. } => "config",
            Self::ClockStep { .. } => "clock_step",
            Self::SamplerLate { .. } => "sampler_late",
            Self::ReadError { .. } => "read_error",
            Self::ReadRecovered { .. } => "read_recovered",
            Self::SamplerCost { .. } => "sampler_cost",
            Self::StoreError { .. } => "store_error",
            Self::Recovered { .. } => "recovered",
            Self::ProcStart { .. } => "proc_start",
            Self::ProcExit { .. } => "proc_exit",
            Self::SourceMissing { .. } => "source_missing",
            Self::PowerFault { .. } => "power_fault",
            Self::UnderVoltage { .. } => "under_voltage",
            Self::SensorAbsent { .. } => "sensor_absent",
            Self::PowerRecovered { .. } => "power_recovered",
            Self::PlanError { .. } => "plan_error",
            Self::PlanStart { .. } => "plan_start",
            Self::Cooldown { .. } => "cooldown",
            Self::PlanDue { .. } => "plan_due",
            Self::ScheduleStateError { .. } => "schedule_state_error",
            Self::Reloaded { .. } => "reloaded",
            Self::ReloadRefused { .. } => "reload_refused",
            Self::ThreadDied { .. } => "thread_died",
        }
    }
}
