//! The power-source registry: every consumer sees every registered kind — config parsing
//! and sections, validation, `auto`, `sensors` (library and CLI), `config check`, the wire
//! ids, error messages and the docs; and `sensors` reading the configuration.

use std::ffi::OsStr;
use std::path::Path;
use std::path::PathBuf;

use edgewatt::config::Config;
use edgewatt::power::detect;
use edgewatt::power::registry;
use edgewatt::power::registry::SourceChoice;
use edgewatt::power::PowerConfig;
use edgewatt::power::PowerError;
use edgewatt::power::SourceId;
use edgewatt::power::KINDS;

use crate::common::edgewatt;

fn names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name()).collect()
}

/// A configuration under which no sensor of this machine is found and every kind that needs
/// configuring has what it needs (a replay trace in `dir`).
fn hermetic(dir: &Path) -> (PowerConfig, PathBuf) {
    let trace = dir.join("trace.csv");
    std::fs::write(
        &trace,
        "0,5000000,600000,3000000\n10000,5000000,600000,3000000\n",
    )
    .unwrap();
    let mut cfg = PowerConfig::default();
    cfg.ina219.bus = 250;
    cfg.pmic.vcio = dir.join("no-vcio");
    cfg.pmic.vcgencmd = dir.join("no-vcgencmd");
    cfg.rapl.root = dir.join("no-powercap");
    cfg.replay.path = Some(trace.clone());
    (cfg, trace)
}

#[test]
fn every_wire_id_is_registered_once_and_every_kind_has_a_wire_id() {
    let mut registered: Vec<u8> = KINDS.iter().map(|k| k.id.code()).collect();
    for k in KINDS {
        assert_eq!(SourceId::from_code(k.id.code()), Some(k.id), "{}", k.name());
        assert_eq!(registry::kind(k.id).map(|r| r.name()), Some(k.name()));
        assert_eq!(registry::by_name(k.name()).map(|r| r.id), Some(k.id));
        assert!(
            !k.measures.is_empty() && !k.misses.is_empty(),
            "{}",
            k.name()
        );
    }
    registered.sort_unstable();
    let mut wire: Vec<u8> = (0..=u8::MAX)
        .filter(|&c| SourceId::from_code(c).is_some())
        .collect();
    wire.sort_unstable();
    assert_eq!(registered, wire, "one kind per wire id, no kind twice");
}

#[test]
fn config_parsing_has_a_section_and_a_source_value_per_kind() {
    let shown = Config::default().to_toml();
    for k in KINDS {
        let name = k.name();
        assert!(
            shown.contains(&format!("[power.{name}]")),
            "{name}:\n{shown}"
        );
        let text = format!("[power]\nsource = \"{name}\"\n[power.replay]\npath = \"t.csv\"\n");
        let cfg = Config::parse(&text, Path::new("e.toml")).unwrap();
        assert_eq!(cfg.power.source, SourceChoice::Only(k.id));
        assert_eq!(cfg.power.source.kind().map(|c| c.id), Some(k.id));
        // Each section refuses keys it does not have, naming file:line:column.
        let text = format!("[power.{name}]\nno_such_key = 1\n");
        let err = Config::parse(&text, Path::new("e.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("e.toml:2:1: unknown field `no_such_key`"),
            "{name}: {err}"
        );
    }
    // An unknown source names every value accepted, from the registry.
    let err = Config::parse("[power]\nsource = \"ina226\"\n", Path::new("e.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("e.toml:2:10: power.source: unknown power source \"ina226\""),
        "{err}"
    );
    for name in names() {
        assert!(err.contains(&format!(", {name}")), "{name} missing: {err}");
    }
}

#[test]
fn validation_runs_every_kinds_check() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, _) = hermetic(dir.path());
    for k in KINDS {
        assert_eq!((k.check)(&cfg, false), Ok(()), "{}", k.name());
        assert_eq!((k.check)(&cfg, true), Ok(()), "{}", k.name());
    }
    assert_eq!(cfg.check(), Ok(()));
    // Breaking one kind's values is caught by PowerConfig::check for each kind that has
    // values to break (known examples; a new kind adds its own here if it has any).
    let mut bad = cfg.clone();
    bad.ina219.averaging = 7;
    assert_eq!(bad.check().unwrap_err().key, "ina219.averaging");
    let mut bad = cfg.clone();
    bad.pmic.interval_ms = 0;
    assert_eq!(bad.check().unwrap_err().key, "pmic.interval_ms");
    let mut bad = cfg.clone();
    bad.rapl.interval_ms = 60_001;
    assert_eq!(bad.check().unwrap_err().key, "rapl.interval_ms");
    let mut bad = cfg;
    bad.replay.path = None;
    bad.source = SourceChoice::Only(SourceId::Replay);
    assert_eq!(bad.check().unwrap_err().key, "source");
}

#[test]
fn auto_tries_every_probed_kind_in_order_and_names_them_all_when_none_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, _) = hermetic(dir.path());
    let probed: Vec<&str> = registry::probed().map(|k| k.name()).collect();
    assert_eq!(registry::probed_names(), probed.join(", "));
    let Err(PowerError::Absent {
        source_name,
        location,
        message,
    }) = detect::open_configured(&cfg)
    else {
        panic!("no sensor is configured to be found");
    };
    assert_eq!((source_name, location), ("auto", probed.join(", ")));
    let reasons: Vec<&str> = message.split("; ").collect();
    let mut at = 0;
    for name in &probed {
        let pos = reasons[at..]
            .iter()
            .position(|r| r.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no reason for {name} after #{at}: {message}"));
        at += pos + 1;
    }
    // A kind that needs configuring is never tried by auto.
    for k in KINDS.iter().filter(|k| !k.is_probed()) {
        assert!(!message.contains(&format!("{} ", k.name())), "{message}");
    }
}

#[test]
fn sensors_sees_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, trace) = hermetic(dir.path());
    let found: Vec<&str> = detect::detect_all(&cfg)
        .iter()
        .map(|(id, _)| id.name())
        .collect();
    assert_eq!(found, names(), "registry order, every kind");
    // The CLI, from a config file.
    let config = dir.path().join("edgewatt.toml");
    let text = Config {
        power: cfg,
        ..Config::default()
    };
    std::fs::write(&config, text.to_toml()).unwrap();
    let out = edgewatt()
        .args(["sensors", "--seconds", "0", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stdout = power_lines(&String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(listed, names(), "{stdout}");
    assert!(
        stdout.contains(&format!("replay  present  replay of {}", trace.display())),
        "{stdout}"
    );
    // Its help says what each kind measures and misses.
    let help = edgewatt().args(["sensors", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for k in KINDS {
        for text in [k.name(), k.measures, k.misses] {
            assert!(help.contains(text), "{text:?} missing from:\n{help}");
        }
    }
}

#[test]
fn config_check_opens_the_chosen_file_backed_kind() {
    let dir = tempfile::tempdir().unwrap();
    let (power, _) = hermetic(dir.path());
    for k in KINDS {
        let mut cfg = Config {
            power: power.clone(),
            ..Config::default()
        };
        cfg.power.source = SourceChoice::Only(k.id);
        let config = dir.path().join(format!("{}.toml", k.name()));
        std::fs::write(&config, cfg.to_toml()).unwrap();
        let out = edgewatt()
            .args(["config", "check", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        match k.file_key {
            Some(key) => assert!(
                stdout.starts_with(&format!("ok: power.{key}: ")),
                "{stdout}"
            ),
            None => assert!(!stdout.contains("ok: power."), "{stdout}"),
        }
    }
}

/// The row of `docs/POWER.md`'s source table for `name`: its cells.
fn docs_row(doc: &str, name: &str) -> Option<Vec<String>> {
    let start = format!("| `{name}` |");
    let line = doc.lines().find(|l| l.starts_with(&start))?;
    Some(
        line.trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().to_string())
            .collect(),
    )
}

#[test]
fn the_docs_list_every_kind_with_what_it_measures_and_misses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let power = std::fs::read_to_string(root.join("docs/POWER.md")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let choices = registry::choices_text();
    for k in KINDS {
        let row = docs_row(&power, k.name())
            .unwrap_or_else(|| panic!("docs/POWER.md has no table row for {}", k.name()));
        assert_eq!(
            &row[1..3],
            [k.measures, k.misses],
            "docs/POWER.md, {}",
            k.name()
        );
        assert!(
            power.contains(&format!("[power.{}]", k.name())),
            "{}",
            k.name()
        );
    }
    let source_line = format!("source = \"auto\"            # {choices}");
    assert!(power.contains(&source_line), "docs/POWER.md: {source_line}");
    assert!(
        readme.contains(&format!("| `power.source` | `auto` | {choices} |")),
        "README.md: the power.source row must say {choices}"
    );
}

/// `edgewatt sensors --seconds 0` with `args`; its stdout.
fn sensors(args: &[&OsStr]) -> String {
    let out = crate::common::edgewatt()
        .args(["sensors", "--seconds", "0"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    power_lines(&String::from_utf8(out.stdout).unwrap())
}

/// `sensors`' output without its first line, the llama.cpp CPU backend's (checked by
/// tests/llama/backend.rs), which only a build with llama.cpp prints: the power sources.
fn power_lines(stdout: &str) -> String {
    let llama = cfg!(feature = "llama");
    let mut lines = stdout.lines().peekable();
    if llama {
        let first = lines.next().unwrap_or_default();
        assert!(
            first.starts_with("llama "),
            "no CPU backend line first: {stdout}"
        );
    }
    lines.map(|l| format!("{l}\n")).collect()
}

#[test]
fn sensors_reads_the_config_file_and_its_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let script = crate::power_sources::fake_vcgencmd(dir.path(), "pi5_load.txt");
    let config = dir.path().join("edgewatt.toml");
    std::fs::write(
        &config,
        format!(
            "[power.pmic]\nvcio = \"{}\"\nvcgencmd = \"{}\"\ninterval_ms = 250\n\
             [power.rapl]\nroot = \"{}\"\n[power.ina219]\nbus = 250\n",
            dir.path().join("no-vcio").display(),
            script.display(),
            dir.path().join("no-powercap").display()
        ),
    )
    .unwrap();
    let with = |extra: &[&str]| {
        let mut args = vec![OsStr::new("--config"), config.as_os_str()];
        args.extend(extra.iter().map(OsStr::new));
        sensors(&args)
    };
    // The file: the PMIC is found through its command, polled at its interval; the INA219
    // and RAPL are looked for where it says.
    let text = with(&[]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("ina219  absent   ina219 not found at /dev/i2c-250"),
        "{text}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "pmic    present  pmic via `{} pmic_read_adc` every 250ms",
            script.display()
        )),
        "{text}"
    );
    assert!(
        lines[2].starts_with(&format!(
            "rapl    absent   rapl not found at {}",
            dir.path().join("no-powercap").display()
        )),
        "{text}"
    );
    assert_eq!(lines.len(), 3, "{text}");
    // Flags win over the file.
    let text = with(&["--vcgencmd", "/nonexistent/vcgencmd", "--i2c-bus", "251"]);
    assert!(text.contains("ina219 not found at /dev/i2c-251"), "{text}");
    assert!(
        text.contains("pmic    absent   pmic not found at ")
            && text.contains("`/nonexistent/vcgencmd`"),
        "{text}"
    );
    assert!(
        text.ends_with("no power source found: runs get estimates only\n"),
        "{text}"
    );
    // A flag the configuration check refuses is an error naming the key.
    let out = crate::common::edgewatt()
        .args(["sensors", "--seconds", "0", "--address", "0x30"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("edgewatt: error: power.ina219.address: 0x30 is out of range"),
        "{err}"
    );
}
