//! The Pi 5 PMIC ADC: `vcgencmd pmic_read_adc`, read through the firmware mailbox
//! (`/dev/vcio`) or, failing that, by running the command.
//!
//! Lines look like `  VDD_CORE_A current(7)=6.22421000A` and `  VDD_CORE_V volt(15)=0.86173300V`.
//! Currents and voltages are paired by rail name (the channel numbers differ); power is
//! Σ V×I over the rails that have both. `EXT5V_V` (the 5 V input) has no current and is kept
//! as the supply voltage. The sum misses the 5 V input current, the PMIC's own conversion
//! losses and everything fed from 5 V directly (USB, fan, HATs): it reads low.

use std::path::PathBuf;
use std::process::Command;

use serde::Deserialize;
use serde::Serialize;

use super::config::check_interval_ms;
use super::flags;
use super::parse_micro;
use super::registry::Detect;
use super::registry::SourceKind;
use super::vcio::Vcio;
use super::PowerError;
use super::PowerReading;
use super::PowerSource;
use super::SourceId;

const NAME: &str = SourceId::Pmic.name();

/// The PMIC in the power registry.
pub const KIND: SourceKind = SourceKind {
    id: SourceId::Pmic,
    detect: Detect::Probe,
    measures: "Σ V×I over the 12 PMIC rails of `vcgencmd pmic_read_adc`; `EXT5V_V` as supply \
               voltage",
    misses: "the 5 V input current (EXT5V has no current sense), PMIC conversion losses, loads \
             fed from 5 V directly (USB devices, fan, HATs): reads low, typically by 1–2 W",
    open: |cfg| PmicSource::open(&cfg.pmic).map(|s| Box::new(s) as _),
    check: |cfg, _| check_interval_ms("pmic.interval_ms", cfg.pmic.interval_ms),
    file_key: None,
};

/// `[power.pmic]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PmicConfig {
    /// Firmware mailbox device.
    pub vcio: PathBuf,
    /// Fallback command when the mailbox cannot be used.
    pub vcgencmd: PathBuf,
    pub interval_ms: u64,
}

impl Default for PmicConfig {
    fn default() -> Self {
        Self {
            vcio: PathBuf::from("/dev/vcio"),
            vcgencmd: PathBuf::from("vcgencmd"),
            interval_ms: 100,
        }
    }
}
/// The gencmd this module runs.
pub const COMMAND: &str = "pmic_read_adc";
/// Pi 5 low-voltage warning threshold on EXT5V, µV.
pub const UNDER_VOLTAGE_UV: i64 = 4_630_000;

/// One rail's readings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rail {
    pub name: String,
    pub uv: Option<i64>,
    pub ua: Option<i64>,
}

/// A parsed `pmic_read_adc` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PmicAdc {
    /// In order of first appearance.
    pub rails: Vec<Rail>,
}

impl PmicAdc {
    /// Σ V×I over the rails with both a voltage and a current, µW (rounded once, at the end).
    #[must_use]
    pub fn power_uw(&self) -> i64 {
        let sum: i128 = self
            .rails
            .iter()
            .filter_map(|r| Some(i128::from(r.uv?) * i128::from(r.ua?)))
            .sum();
        ((sum + 500_000) / 1_000_000) as i64
    }

    /// Rails with both a voltage and a current.
    #[must_use]
    pub fn paired(&self) -> usize {
        self.rails
            .iter()
            .filter(|r| r.uv.is_some() && r.ua.is_some())
            .count()
    }

    #[must_use]
    pub fn rail(&self, name: &str) -> Option<&Rail> {
        self.rails.iter().find(|r| r.name == name)
    }

    /// The 5 V input voltage (`EXT5V_V`), µV.
    #[must_use]
    pub fn ext5v_uv(&self) -> Option<i64> {
        self.rail("EXT5V")?.uv
    }
}

fn parse_line(line: &str) -> Result<(&str, bool, i64), &'static str> {
    let (name, value) = line
        .split_once(char::is_whitespace)
        .ok_or("expected `NAME_A current(N)=xA` or `NAME_V volt(N)=xV`")?;
    let (kind, value) = value
        .trim()
        .split_once('(')
        .ok_or("no `(` after the kind")?;
    let (_, value) = value.split_once(")=").ok_or("no `)=` after the channel")?;
    let (rail, is_current, unit) = match kind {
        "current" => (name.strip_suffix("_A"), true, 'A'),
        "volt" => (name.strip_suffix("_V"), false, 'V'),
        _ => return Err("kind is neither `current` nor `volt`"),
    };
    let rail = rail.ok_or("rail name does not end in _A (current) or _V (volt)")?;
    let number = value
        .strip_suffix(unit)
        .ok_or("value does not end in its unit")?;
    let micro = parse_micro(number).ok_or("value is not a decimal number")?;
    Ok((rail, is_current, micro))
}

/// Parses a reply. Every non-blank line must be a rail line; at least one rail needs both
/// a current and a voltage.
pub fn parse(text: &str) -> Result<PmicAdc, PowerError> {
    let mut adc = PmicAdc::default();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let err = |message: &str| PowerError::Parse {
            source_name: NAME,
            line: index + 1,
            text: raw.to_string(),
            message: message.to_string(),
        };
        let (name, is_current, micro) = parse_line(line).map_err(err)?;
        let at = match adc.rails.iter().position(|r| r.name == name) {
            Some(i) => i,
            None => {
                adc.rails.push(Rail {
                    name: name.to_string(),
                    uv: None,
                    ua: None,
                });
                adc.rails.len() - 1
            }
        };
        let slot = if is_current {
            &mut adc.rails[at].ua
        } else {
            &mut adc.rails[at].uv
        };
        if slot.replace(micro).is_some() {
            return Err(err("the same rail reading appears twice"));
        }
    }
    if adc.paired() == 0 {
        return Err(PowerError::Parse {
            source_name: NAME,
            line: text.lines().count(),
            text: String::new(),
            message: "no rail has both a current (_A) and a voltage (_V) line".into(),
        });
    }
    Ok(adc)
}

/// How the reply is fetched.
pub enum Transport {
    Mailbox(Vcio),
    Command(PathBuf),
}

/// Runs `vcgencmd pmic_read_adc` with `program`; its stdout goes to `out`.
pub fn run_command(program: &std::path::Path, out: &mut String) -> Result<(), PowerError> {
    let output = Command::new(program)
        .arg(COMMAND)
        .output()
        .map_err(|e| PowerError::Io {
            path: program.display().to_string(),
            source: e,
        })?;
    if !output.status.success() {
        return Err(PowerError::Bus {
            source_name: NAME,
            message: format!(
                "`{} {COMMAND}` exited with {}: {}",
                program.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    out.clear();
    out.push_str(&String::from_utf8_lossy(&output.stdout));
    Ok(())
}

/// The PMIC as a [`PowerSource`].
pub struct PmicSource {
    transport: Transport,
    interval_us: u64,
    text: String,
}

impl PmicSource {
    /// Opens the mailbox (`cfg.vcio`) or, if that fails, checks that `cfg.vcgencmd` works; the
    /// first reply must parse. [`PowerError::Absent`] says why neither is usable.
    pub fn open(cfg: &PmicConfig) -> Result<Self, PowerError> {
        let interval_us = cfg.interval_ms.max(1) * 1_000;
        let mailbox_error = match Vcio::open(&cfg.vcio) {
            Ok(vcio) => {
                let mut s = Self {
                    transport: Transport::Mailbox(vcio),
                    interval_us,
                    text: String::new(),
                };
                match s.read_adc() {
                    Ok(_) => return Ok(s),
                    Err(e) => e.to_string(),
                }
            }
            Err(e) => e.to_string(),
        };
        let mut s = Self {
            transport: Transport::Command(cfg.vcgencmd.clone()),
            interval_us,
            text: String::new(),
        };
        match s.read_adc() {
            Ok(_) => {
                log::info!("pmic: mailbox unusable ({mailbox_error}); using the vcgencmd command");
                Ok(s)
            }
            Err(e) => Err(PowerError::Absent {
                source_name: NAME,
                location: format!("{} or `{}`", cfg.vcio.display(), cfg.vcgencmd.display()),
                message: format!("mailbox: {mailbox_error}; command: {e} (a Pi 5 only)"),
            }),
        }
    }

    /// Whether replies come through the mailbox (no process per read).
    #[must_use]
    pub const fn uses_mailbox(&self) -> bool {
        matches!(self.transport, Transport::Mailbox(_))
    }

    /// Fetches and parses one reply; the flag says the mailbox reply filled its slot, in
    /// which case its last (possibly cut) line was dropped.
    pub fn read_adc(&mut self) -> Result<(PmicAdc, bool), PowerError> {
        let truncated = match &mut self.transport {
            Transport::Mailbox(vcio) => {
                vcio.gencmd(COMMAND, &mut self.text)
                    .map_err(|e| PowerError::Bus {
                        source_name: NAME,
                        message: e.to_string(),
                    })?
            }
            Transport::Command(program) => {
                run_command(program, &mut self.text)?;
                false
            }
        };
        if truncated && !self.text.ends_with('\n') {
            if let Some(cut) = self.text.rfind('\n') {
                self.text.truncate(cut);
            }
        }
        Ok((parse(&self.text)?, truncated))
    }
}

impl PowerSource for PmicSource {
    fn id(&self) -> SourceId {
        SourceId::Pmic
    }

    fn label(&self) -> String {
        let via = match &self.transport {
            Transport::Mailbox(_) => "mailbox".to_string(),
            Transport::Command(p) => format!("`{} {COMMAND}`", p.display()),
        };
        format!(
            "pmic via {via} every {}ms: sum of V*I over the PMIC rails; biased low: no 5 V input \
             current, misses PMIC conversion losses and 5 V loads (USB, fan, HATs)",
            self.interval_us / 1_000
        )
    }

    fn period_us(&self) -> u64 {
        self.interval_us
    }

    fn under_voltage_uv(&self) -> Option<i64> {
        Some(UNDER_VOLTAGE_UV)
    }

    fn poll(&mut self, now_us: u64) -> Result<Option<PowerReading>, PowerError> {
        let (adc, truncated) = self.read_adc()?;
        let mut r = PowerReading::power_only(now_us, SourceId::Pmic, adc.power_uw());
        r.bus_uv = adc.ext5v_uv();
        if truncated {
            r.flags |= flags::PARTIAL;
        }
        Ok(Some(r))
    }
}
