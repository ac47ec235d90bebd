//! Where the readers' reports become log events: the sampler's notices and late ticks,
//! the power reader's notices, an absent power source, a repaired segment. The readers
//! know nothing of the record format; this is the one place that maps them.

use crate::power::detect::Absent;
use crate::power::reader::PowerNotice;
use crate::record::EventKind;
use crate::sampler::NoticeKind;
use crate::sampler::Tick;
use crate::store::Recovery;

impl From<NoticeKind> for EventKind {
    fn from(n: NoticeKind) -> Self {
        match n {
            NoticeKind::SourceMissing { source, message } => {
                Self::SourceMissing { source, message }
            }
            NoticeKind::ReadError { source, message } => Self::ReadError { source, message },
            NoticeKind::ReadRecovered { source, failures } => {
                Self::ReadRecovered { source, failures }
            }
            NoticeKind::ProcStart { pid, role } => Self::ProcStart {
                pid,
                role: role.label().to_owned(),
            },
            NoticeKind::ProcExit { pid, role } => Self::ProcExit {
                pid,
                role: role.label().to_owned(),
            },
            NoticeKind::SamplerCost {
                ticks,
                cpu_us,
                wall_us,
            } => Self::SamplerCost {
                ticks,
                cpu_us,
                wall_us,
            },
        }
    }
}

impl From<PowerNotice> for EventKind {
    fn from(n: PowerNotice) -> Self {
        match n {
            PowerNotice::Fault { source, message } => Self::PowerFault { source, message },
            PowerNotice::UnderVoltage { source, bus_uv } => Self::UnderVoltage { source, bus_uv },
            PowerNotice::Recovered {
                source,
                failures,
                gap_us,
            } => Self::PowerRecovered {
                source,
                failures,
                gap_us,
            },
        }
    }
}

impl From<Absent> for EventKind {
    fn from(a: Absent) -> Self {
        Self::SensorAbsent {
            source: a.source,
            message: a.message,
        }
    }
}

impl From<&Recovery> for EventKind {
    fn from(r: &Recovery) -> Self {
        Self::Recovered {
            segment: r.path.display().to_string(),
            good_frames: r.good_frames,
            dropped_bytes: r.dropped_bytes,
        }
    }
}

/// The `SamplerLate` event of a late tick.
pub(super) const fn late_tick(t: &Tick) -> Option<EventKind> {
    if t.late {
        Some(EventKind::SamplerLate {
            tick: t.tick,
            late_us: t.late_us,
            missed: t.missed,
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ProcRole;
    use crate::store::RecoveryAction;

    #[test]
    fn sampler_notices_become_their_events_with_role_labels() {
        let cases = [
            (
                NoticeKind::ProcStart {
                    pid: 7,
                    role: ProcRole::Worker,
                },
                EventKind::ProcStart {
                    pid: 7,
                    role: "worker".into(),
                },
            ),
            (
                NoticeKind::ProcExit {
                    pid: 8,
                    role: ProcRole::Other("llama-server".into()),
                },
                EventKind::ProcExit {
                    pid: 8,
                    role: "llama-server".into(),
                },
            ),
            (
                NoticeKind::ReadError {
                    source: "/proc/stat".into(),
                    message: "EIO".into(),
                },
                EventKind::ReadError {
                    source: "/proc/stat".into(),
                    message: "EIO".into(),
                },
            ),
            (
                NoticeKind::ReadRecovered {
                    source: "s".into(),
                    failures: 3,
                },
                EventKind::ReadRecovered {
                    source: "s".into(),
                    failures: 3,
                },
            ),
            (
                NoticeKind::SourceMissing {
                    source: "s".into(),
                    message: "m".into(),
                },
                EventKind::SourceMissing {
                    source: "s".into(),
                    message: "m".into(),
                },
            ),
            (
                NoticeKind::SamplerCost {
                    ticks: 1,
                    cpu_us: 2,
                    wall_us: 3,
                },
                EventKind::SamplerCost {
                    ticks: 1,
                    cpu_us: 2,
                    wall_us: 3,
                },
            ),
        ];
        for (notice, event) in cases {
            assert_eq!(EventKind::from(notice), event);
        }
    }

    #[test]
    fn power_notices_absent_sources_and_repairs_become_their_events() {
        let s = || "ina219".to_owned();
        let fault = PowerNotice::Fault {
            source: s(),
            message: "NACK".into(),
        };
        let want = EventKind::PowerFault {
            source: s(),
            message: "NACK".into(),
        };
        assert_eq!(EventKind::from(fault), want);
        let uv = PowerNotice::UnderVoltage {
            source: s(),
            bus_uv: 4_600_000,
        };
        let want = EventKind::UnderVoltage {
            source: s(),
            bus_uv: 4_600_000,
        };
        assert_eq!(EventKind::from(uv), want);
        let back = PowerNotice::Recovered {
            source: s(),
            failures: 3,
            gap_us: 70_000,
        };
        let want = EventKind::PowerRecovered {
            source: s(),
            failures: 3,
            gap_us: 70_000,
        };
        assert_eq!(EventKind::from(back), want);
        let absent = Absent {
            source: "power".into(),
            message: "gone".into(),
        };
        let want = EventKind::SensorAbsent {
            source: "power".into(),
            message: "gone".into(),
        };
        assert_eq!(EventKind::from(absent), want);
        let r = Recovery {
            action: RecoveryAction::Sealed,
            found: "/s/00000000000000000007.ewlog.open".into(),
            path: "/s/00000000000000000007.ewlog".into(),
            good_frames: 12,
            dropped_bytes: 31,
        };
        let want = EventKind::Recovered {
            segment: "/s/00000000000000000007.ewlog".into(),
            good_frames: 12,
            dropped_bytes: 31,
        };
        assert_eq!(EventKind::from(&r), want);
    }

    #[test]
    fn only_a_late_tick_is_a_sampler_late_event() {
        let mut t = Tick {
            tick: 4,
            deadline_us: 1_400_000,
            now_us: 1_450_000,
            late_us: 50_000,
            missed: 3,
            late: true,
        };
        let want = EventKind::SamplerLate {
            tick: 4,
            late_us: 50_000,
            missed: 3,
        };
        assert_eq!(late_tick(&t), Some(want));
        t.late = false;
        assert_eq!(late_tick(&t), None);
    }
}
