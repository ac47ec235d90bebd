//! `edgewatt sensors`: which power sources this machine has, and their live readings.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use std::time::Instant;

use clap::Args;

use crate::clock::MonoClock;
use crate::power::detect;
use crate::power::reader::PowerMsg;
use crate::power::reader::PowerReader;
use crate::power::reader::ReaderConfig;
use crate::power::PowerConfig;
use crate::power::PowerReading;
use crate::power::PowerSource;

/// `edgewatt sensors`: its flags override the configuration's `[power]` section (see
/// `--config`), whose defaults are [`PowerConfig::default`]'s.
#[derive(Debug, Clone, Args)]
pub struct SensorsArgs {
    /// Show live readings for this many seconds (0: detect only).
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Print one line per source every this many milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: u64,
    /// I2C bus of the INA219, /dev/i2c-N [config: power.ina219.bus].
    #[arg(long)]
    pub i2c_bus: Option<u8>,
    /// I2C address of the INA219, 0x40..=0x4F [config: power.ina219.address].
    #[arg(long, value_parser = parse_address)]
    pub address: Option<u8>,
    /// INA219 shunt resistance, µΩ [config: power.ina219.shunt_uohm].
    #[arg(long)]
    pub shunt_uohm: Option<u32>,
    /// Largest current expected through the INA219, mA [config: power.ina219.max_current_ma].
    #[arg(long)]
    pub max_current_ma: Option<u32>,
    /// Firmware mailbox device for the PMIC [config: power.pmic.vcio].
    #[arg(long)]
    pub vcio: Option<PathBuf>,
    /// vcgencmd program, used when the mailbox is not [config: power.pmic.vcgencmd].
    #[arg(long)]
    pub vcgencmd: Option<PathBuf>,
    /// powercap root for RAPL [config: power.rapl.root].
    #[arg(long)]
    pub powercap_root: Option<PathBuf>,
    /// Also play back this trace: a CSV file (`mono_us,bus_uv,current_ua,power_uw`), an
    /// edgewatt segment (*.ewlog) or a state directory [config: power.replay.path].
    #[arg(long)]
    pub replay: Option<PathBuf>,
}

fn parse_address(text: &str) -> Result<u8, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u8::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|e| format!("{text:?} is not an I2C address: {e}"))
}

impl SensorsArgs {
    /// `base` (the configuration's `[power]`) with the flags given applied over it.
    #[must_use]
    pub fn power_config(&self, base: &PowerConfig) -> PowerConfig {
        fn set<T: Clone>(slot: &mut T, flag: Option<&T>) {
            if let Some(value) = flag {
                slot.clone_from(value);
            }
        }
        let mut cfg = base.clone();
        set(&mut cfg.ina219.bus, self.i2c_bus.as_ref());
        set(&mut cfg.ina219.address, self.address.as_ref());
        set(&mut cfg.ina219.shunt_uohm, self.shunt_uohm.as_ref());
        set(&mut cfg.ina219.max_current_ma, self.max_current_ma.as_ref());
        set(&mut cfg.pmic.vcio, self.vcio.as_ref());
        set(&mut cfg.pmic.vcgencmd, self.vcgencmd.as_ref());
        set(&mut cfg.rapl.root, self.powercap_root.as_ref());
        if self.replay.is_some() {
            cfg.replay.path.clone_from(&self.replay);
        }
        cfg
    }
}

fn fmt_opt(v: Option<i64>, unit: &str) -> String {
    v.map_or_else(
        || format!("{:>9}", "-"),
        |x| format!("{:>7.3} {unit}", x as f64 / 1e6),
    )
}

/// `5.080 V  0.600 A  3.048 W` (a dash where the source has no value).
#[must_use]
pub fn format_reading(r: &PowerReading) -> String {
    format!(
        "{}  {}  {:>7.3} W",
        fmt_opt(r.bus_uv, "V"),
        fmt_opt(r.current_ua, "A"),
        r.power_uw as f64 / 1e6
    )
}

/// Detects the sources `cfg` describes and writes the table; returns the ones present.
pub fn detect_into(
    cfg: &PowerConfig,
    out: &mut impl Write,
) -> std::io::Result<Vec<Box<dyn PowerSource>>> {
    let mut present = Vec::new();
    for (id, result) in detect::detect_all(cfg) {
        match result {
            Ok(source) => {
                writeln!(out, "{:<7} present  {}", id.name(), source.label())?;
                present.push(source);
            }
            Err(e) => writeln!(out, "{:<7} absent   {e}", id.name())?,
        }
    }
    if present.is_empty() {
        writeln!(out, "no power source found: runs get estimates only")?;
    }
    Ok(present)
}

/// Runs `edgewatt sensors` with the configuration `--config` names (or the default file).
pub fn run(cli: &super::Cli, args: &SensorsArgs) -> anyhow::Result<()> {
    let cfg = args.power_config(&super::load_config(cli)?.power);
    cfg.check()
        .map_err(|e| anyhow::anyhow!("{e} (from a flag of `edgewatt sensors`)"))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let present = detect_into(&cfg, &mut out)?;
    if present.is_empty() || args.seconds == 0 {
        return Ok(());
    }
    let readers = present
        .into_iter()
        .map(|s| {
            let name = s.id().name();
            PowerReader::spawn(s, MonoClock, ReaderConfig::default()).map(|r| (name, r))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let started = Instant::now();
    let total = Duration::from_secs(args.seconds);
    let interval = Duration::from_millis(args.interval_ms.max(10));
    while started.elapsed() < total {
        std::thread::sleep(interval.min(total.saturating_sub(started.elapsed())));
        for (name, reader) in &readers {
            let (mut last, mut sum_uw, mut n) = (None, 0i64, 0i64);
            for msg in reader.rx.try_iter() {
                match msg {
                    PowerMsg::Reading(r) => {
                        sum_uw += r.power_uw;
                        n += 1;
                        last = Some(r);
                    }
                    PowerMsg::Notice { notice, .. } => {
                        writeln!(out, "{name:<7} notice   {notice:?}")?;
                    }
                }
            }
            match last {
                Some(r) => writeln!(
                    out,
                    "{name:<7} {:>6.1}s  {}  (mean {:.3} W over {n} readings)",
                    started.elapsed().as_secs_f64(),
                    format_reading(&r),
                    sum_uw as f64 / n as f64 / 1e6
                )?,
                None => writeln!(out, "{name:<7} no new readings")?,
            }
        }
    }
    for (_, reader) in readers {
        reader.stop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sensors: SensorsArgs,
    }

    #[test]
    fn flags_override_the_configuration_and_leave_the_rest() {
        let cli = Cli::parse_from([
            "x",
            "--address",
            "0x42",
            "--shunt-uohm",
            "20000",
            "--seconds",
            "0",
        ]);
        let mut base = PowerConfig::default();
        base.ina219.bus = 3;
        base.ina219.shunt_uohm = 15_000;
        base.pmic.interval_ms = 250;
        let cfg = cli.sensors.power_config(&base);
        assert_eq!(
            (cfg.ina219.address, cfg.ina219.shunt_uohm, cfg.ina219.bus),
            (0x42, 20_000, 3)
        );
        assert_eq!(cfg.pmic.interval_ms, 250);
        let none = Cli::parse_from(["x"]);
        assert_eq!(none.sensors.power_config(&base), base, "no flag, no change");
        assert_eq!(cli.sensors.seconds, 0);
        assert!(Cli::try_parse_from(["x", "--address", "0xZZ"]).is_err());
        assert_eq!(parse_address("66"), Ok(66));
    }

    #[test]
    fn readings_print_in_volts_amperes_and_watts() {
        let mut r = PowerReading::power_only(0, crate::power::SourceId::Ina219, 3_048_000);
        r.bus_uv = Some(5_080_000);
        r.current_ua = Some(600_000);
        assert_eq!(format_reading(&r), "  5.080 V    0.600 A    3.048 W");
        r.current_ua = None;
        assert_eq!(format_reading(&r), "  5.080 V          -    3.048 W");
    }

    #[test]
    fn detection_lists_present_and_absent_sources() {
        let dir = tempfile::tempdir().unwrap();
        let trace = dir.path().join("t.csv");
        std::fs::write(&trace, "0,5000000,600000,3000000\n").unwrap();
        let cli = Cli::parse_from([
            "x",
            "--vcio",
            "/nonexistent/vcio",
            "--vcgencmd",
            "/nonexistent/vcgencmd",
            "--powercap-root",
            "/nonexistent/powercap",
            "--replay",
            trace.to_str().unwrap(),
        ]);
        let mut out = Vec::new();
        let cfg = cli.sensors.power_config(&PowerConfig::default());
        let present = detect_into(&cfg, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(
            lines[0].starts_with("ina219  absent   ina219 not found at /dev/i2c-1"),
            "{text}"
        );
        assert!(
            lines[1].starts_with("pmic    absent   pmic not found"),
            "{text}"
        );
        assert!(lines[2].starts_with("rapl    absent   rapl not found at /nonexistent/powercap"));
        assert!(
            lines[3].starts_with("replay  present  replay of "),
            "{text}"
        );
        assert_eq!(present.len(), 1);
    }
}
