//! The sampler: reads every source of the layout once per tick into a [`Sample`].

use std::path::PathBuf;

use super::discover::discover;
use super::error::Fault;
use super::error::SamplerError;
use super::error::SourceError;
use super::file::parse_hex;
use super::file::parse_i64;
use super::file::parse_u64;
use super::file::KeptFile;
use super::health::CostMeter;
use super::health::Health;
use super::health::TickLog;
use super::notice::Notice;
use super::notice::NoticeKind;
use super::parse;
use super::procs::ProcSource;
use super::roots::Roots;
use crate::clock;
use crate::record::group;
use crate::record::CpuTicks;
use crate::record::Sample;
use crate::record::SampleLayout;
use crate::record::TrackedProc;

/// Tunables of a [`Sampler`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplerOptions {
    /// Bytes per page, for `statm` → kB (4096 on x86, 16384 on Pi OS's Pi 5 kernel).
    pub page_size: u64,
    /// A source that keeps failing is reported again at most once per this, µs.
    pub error_repeat_us: u64,
    /// A `SamplerCost` event is produced once per this, µs.
    pub cost_every_us: u64,
    /// The firmware's `get_throttled` is read at most once per this, µs; the ticks in
    /// between repeat the last reading (its sticky bits keep what happened meanwhile).
    pub throttled_interval_us: u64,
}

impl Default for SamplerOptions {
    /// The intervals of [`SamplerConfig::default`](crate::config::SamplerConfig), this
    /// machine's page size.
    fn default() -> Self {
        let c = crate::config::SamplerConfig::default();
        Self {
            page_size: page_size(),
            error_repeat_us: 60_000_000,
            cost_every_us: c.cost_report_interval_s.saturating_mul(1_000_000),
            throttled_interval_us: c.throttled_interval_ms.saturating_mul(1000),
        }
    }
}

/// A kept-open file and its failure streak.
#[derive(Debug)]
struct Source {
    file: KeptFile,
    health: Health,
}

impl Source {
    fn new(path: PathBuf) -> Self {
        Self {
            file: KeptFile::new(path),
            health: Health::default(),
        }
    }
}

/// Reads /proc and /sys into [`Sample`]s, reusing one buffer for every file.
#[derive(Debug)]
pub struct Sampler {
    roots: Roots,
    opts: SamplerOptions,
    layout: SampleLayout,
    stat: Source,
    meminfo: Source,
    procs: Vec<ProcSource>,
    zones: Vec<Source>,
    policies: Vec<Source>,
    throttled: Option<Source>,
    /// When `get_throttled` is due again (CLOCK_MONOTONIC µs; `None`: at the next read),
    /// and whether its last read worked.
    throttled_due_us: Option<u64>,
    throttled_ok: bool,
    buf: Vec<u8>,
    /// `/proc/stat`'s lines while they are checked (see [`parse::cpu_ticks`]).
    cpu_scratch: Vec<CpuTicks>,
    /// The latest values of every slot: failed readings keep what is here.
    last: Sample,
    faults: Vec<Fault>,
    /// Events waiting for the next read's timestamp.
    pending: Vec<NoticeKind>,
    notices: Vec<Notice>,
    cost: CostMeter,
}

impl Sampler {
    /// Discovers this machine's sources under `roots` and tracks `procs`, with default options.
    pub fn new(roots: Roots, procs: Vec<TrackedProc>) -> Result<Self, SamplerError> {
        Self::with_options(roots, procs, SamplerOptions::default())
    }

    pub fn with_options(
        roots: Roots,
        procs: Vec<TrackedProc>,
        opts: SamplerOptions,
    ) -> Result<Self, SamplerError> {
        if opts.page_size == 0 || opts.page_size % 1024 != 0 {
            return Err(SamplerError::PageSize {
                page_size: opts.page_size,
            });
        }
        let mut buf = Vec::new();
        let mut stat = Source::new(roots.proc("stat"));
        // The layout counts `cpu` lines without parsing them, so a malformed line is a
        // fault of every tick (visible, recoverable), not a refusal to start.
        let cpus = {
            let bytes = stat
                .file
                .read(&mut buf)
                .map_err(|source| SamplerError::CpuLayout { source })?;
            let n = parse::count_cpu_lines(bytes);
            if n == 0 {
                return Err(SamplerError::CpuLayout {
                    source: super::file::malformed(stat.file.path(), "no cpu lines", bytes),
                });
            }
            n
        };
        let found = discover(&roots);
        let layout = SampleLayout {
            cpus: u16::try_from(cpus).unwrap_or(u16::MAX),
            procs: Vec::new(),
            thermal_zones: found.zones.iter().map(|z| z.name.clone()).collect(),
            cpufreq: found.policies.iter().map(|p| p.name.clone()).collect(),
            throttled: found.throttled.is_some(),
        };
        let pending = found
            .absent
            .into_iter()
            .map(|a| NoticeKind::SourceMissing {
                source: a.source,
                message: a.message,
            })
            .collect();
        let mut s = Self {
            meminfo: Source::new(roots.proc("meminfo")),
            zones: found
                .zones
                .into_iter()
                .map(|z| Source::new(z.path))
                .collect(),
            policies: found
                .policies
                .into_iter()
                .map(|p| Source::new(p.path))
                .collect(),
            throttled: found.throttled.map(Source::new),
            last: Sample::empty(&layout),
            cost: CostMeter::new(opts.cost_every_us),
            roots,
            opts,
            layout,
            stat,
            procs: Vec::new(),
            throttled_due_us: None,
            throttled_ok: false,
            buf,
            cpu_scratch: Vec::new(),
            faults: Vec::new(),
            pending,
            notices: Vec::new(),
        };
        s.set_procs(procs)?;
        Ok(s)
    }

    /// What every sample of this sampler holds, in order.
    #[must_use]
    pub const fn layout(&self) -> &SampleLayout {
        &self.layout
    }

    #[must_use]
    pub const fn roots(&self) -> &Roots {
        &self.roots
    }

    /// Replaces the tracked processes. The layout changes, so the caller starts a new
    /// sample block. A process already tracked keeps its last values; a new one is
    /// announced with `ProcStart` (or `ProcExit` at the next read if it is not there).
    pub fn set_procs(&mut self, procs: Vec<TrackedProc>) -> Result<(), SamplerError> {
        let mut probe = self.layout.clone();
        probe.procs.clone_from(&procs);
        let groups = probe.groups();
        if groups > SampleLayout::MAX_GROUPS {
            return Err(SamplerError::TooManyGroups {
                groups,
                procs: procs.len(),
                zones: probe.thermal_zones.len(),
                policies: probe.cpufreq.len(),
                max: SampleLayout::MAX_GROUPS,
            });
        }
        let mut old: Vec<Option<ProcSource>> = std::mem::take(&mut self.procs)
            .into_iter()
            .map(Some)
            .collect();
        let old_last = std::mem::replace(&mut self.last, Sample::empty(&probe));
        for t in &procs {
            let known = old
                .iter()
                .position(|o| o.as_ref().is_some_and(|o| o.tracked == *t));
            let p = match known {
                Some(i) => {
                    self.last.procs[self.procs.len()] = old_last.procs[i];
                    old[i].take()
                }
                None => None,
            };
            let p = p.unwrap_or_else(|| {
                let p = ProcSource::open(&self.roots, t.clone());
                if p.is_open() {
                    self.pending.push(NoticeKind::ProcStart {
                        pid: t.pid,
                        role: t.role.clone(),
                    });
                }
                p
            });
            self.procs.push(p);
        }
        self.last.cpu = old_last.cpu;
        self.last.mem = old_last.mem;
        self.last.temps_mc = old_last.temps_mc;
        self.last.freqs_khz = old_last.freqs_khz;
        self.last.throttled = old_last.throttled;
        self.layout = probe;
        Ok(())
    }

    /// Reads every source once, fills `out` (reshaped to the layout if needed), and
    /// returns the groups that failed this tick. A failed group keeps its previous value
    /// and has its bit in `out.valid` cleared. `tick` and `mono_us` are copied into the
    /// sample and stamp the events. The calling thread's CPU time goes into the periodic
    /// `SamplerCost` event (see [`CostMeter`]): call it from one thread.
    pub fn read(&mut self, tick: u64, mono_us: u64, out: &mut Sample) -> &[Fault] {
        self.cost.begin(mono_us, clock::thread_cpu_us);
        let mut log = TickLog {
            mono_us,
            repeat_us: self.opts.error_repeat_us,
            valid: 0,
            faults: std::mem::take(&mut self.faults),
            kinds: std::mem::take(&mut self.pending),
        };
        log.faults.clear();
        let (l, last, buf) = (&self.layout, &mut self.last, &mut self.buf);
        last.tick = tick;
        last.mono_us = mono_us;

        let src = &mut self.stat;
        let scratch = &mut self.cpu_scratch;
        let r = (src.file.read(buf))
            .and_then(|b| parse::cpu_ticks(src.file.path(), b, scratch, &mut last.cpu));
        log.settle(&mut src.health, group::CPU, r);

        let src = &mut self.meminfo;
        let r = src.file.read(buf).and_then(|b| {
            last.mem = parse::mem_kb(src.file.path(), b)?;
            Ok(())
        });
        log.settle(&mut src.health, group::MEM, r);

        for (i, p) in self.procs.iter_mut().enumerate() {
            let bit = l.proc_bit(i);
            match p.read(buf, self.opts.page_size) {
                Ok(c) => {
                    last.procs[i] = c;
                    log.settle(&mut p.health, bit, Ok(()));
                }
                Err(error @ SourceError::Gone { .. }) => {
                    if let Some(kind) = p.exited() {
                        log.kinds.push(kind);
                    }
                    log.faults.push(Fault { bit, error });
                }
                Err(e) => log.settle(&mut p.health, bit, Err(e)),
            }
        }
        for (i, z) in self.zones.iter_mut().enumerate() {
            let r = z.file.read(buf).and_then(|b| {
                last.temps_mc[i] = parse_i64(z.file.path(), b)?;
                Ok(())
            });
            log.settle(&mut z.health, l.temp_bit(i), r);
        }
        for (i, f) in self.policies.iter_mut().enumerate() {
            let r = f.file.read(buf).and_then(|b| {
                last.freqs_khz[i] = parse_u64(f.file.path(), b)?;
                Ok(())
            });
            log.settle(&mut f.health, l.freq_bit(i), r);
        }
        if let Some(t) = &mut self.throttled {
            let every_us = self.opts.throttled_interval_us;
            if self.throttled_due_us.is_none_or(|due| mono_us >= due) {
                self.throttled_due_us = Some(next_due_us(self.throttled_due_us, mono_us, every_us));
                let r = t.file.read(buf).and_then(|b| {
                    last.throttled = parse_hex(t.file.path(), b)?;
                    Ok(())
                });
                self.throttled_ok = r.is_ok();
                log.settle(&mut t.health, l.throttled_bit(), r);
            } else if self.throttled_ok {
                log.valid |= 1 << l.throttled_bit();
            }
        }
        last.valid = log.valid;
        copy_sample(last, out);

        if let Some(k) = self.cost.end(mono_us, clock::thread_cpu_us) {
            log.kinds.push(k);
        }
        let TickLog {
            faults, mut kinds, ..
        } = log;
        self.notices
            .extend(kinds.drain(..).map(|kind| Notice { mono_us, kind }));
        self.pending = kinds;
        self.faults = faults;
        &self.faults
    }

    /// Events produced since the last call (source missing, read errors and recoveries,
    /// process start/exit, sampler cost), each stamped with its read's `mono_us`.
    pub fn drain_notices(&mut self) -> std::vec::Drain<'_, Notice> {
        self.notices.drain(..)
    }

    /// Ends the current cost period early (e.g. at shutdown): queues its `SamplerCost`.
    pub fn flush_cost(&mut self, mono_us: u64) {
        if let Some(kind) = self.cost.flush(mono_us, clock::thread_cpu_us) {
            self.notices.push(Notice { mono_us, kind });
        }
    }

    /// Consecutive failures of the source behind group `bit` (0 = healthy or unknown).
    #[must_use]
    pub fn failures(&self, bit: u32) -> u64 {
        let l = &self.layout;
        let health = match bit {
            group::CPU => Some(&self.stat.health),
            group::MEM => Some(&self.meminfo.health),
            b if b == l.throttled_bit() => self.throttled.as_ref().map(|t| &t.health),
            b => {
                let b = b as usize;
                let (p, z) = (l.procs.len(), l.thermal_zones.len());
                (b - 2 < p)
                    .then(|| &self.procs[b - 2].health)
                    .or_else(|| self.zones.get(b - 2 - p).map(|s| &s.health))
                    .or_else(|| self.policies.get(b - 2 - p - z).map(|s| &s.health))
            }
        };
        health.map_or(0, Health::failures)
    }
}

/// The system's page size, bytes.
fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n).unwrap_or(4096)
}

/// The next time a source read every `every_us` is due, after a read at `now_us` that was
/// due at `due_us`: on the grid of its first read, skipping whole periods that passed.
fn next_due_us(due_us: Option<u64>, now_us: u64, every_us: u64) -> u64 {
    let every_us = every_us.max(1);
    match due_us {
        Some(due) if due <= now_us => due + (now_us - due) / every_us * every_us + every_us,
        _ => now_us + every_us,
    }
}

/// `*dst = src.clone()`, reusing `dst`'s vectors.
fn copy_sample(src: &Sample, dst: &mut Sample) {
    dst.tick = src.tick;
    dst.mono_us = src.mono_us;
    dst.cpu.clone_from(&src.cpu);
    dst.mem = src.mem;
    dst.procs.clone_from(&src.procs);
    dst.temps_mc.clone_from(&src.temps_mc);
    dst.freqs_khz.clone_from(&src.freqs_khz);
    dst.throttled = src.throttled;
    dst.valid = src.valid;
}
