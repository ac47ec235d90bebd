//! scripts/build-deb.sh on this test's own binary: the .deb's file list, owners, modes,
//! control fields, conffile and maintainer scripts, read back with dpkg-deb. Nothing is
//! installed. Skipped (with the reason printed) where dpkg-deb or binutils are missing or
//! the host is not amd64.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::common::edgewatt;
use crate::common::succeeded;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn stdout(cmd: &mut Command) -> String {
    let out = succeeded(cmd.output().expect("spawn"));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Why the test cannot run here, if it cannot.
fn skip_reason() -> Option<String> {
    for tool in ["dpkg-deb", "dpkg", "objdump", "strip"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(format!("{tool} not found"));
        }
    }
    let arch = stdout(Command::new("dpkg").arg("--print-architecture"));
    (arch.trim() != "amd64").then(|| format!("host is {}, the test packages amd64", arch.trim()))
}

/// Builds the amd64 .deb of this test's edgewatt binary into `out`; returns its path.
fn build_deb(out: &Path) -> std::path::PathBuf {
    stdout(
        Command::new(repo().join("scripts/build-deb.sh"))
            .args([
                "--arch",
                "amd64",
                "--binary",
                env!("CARGO_BIN_EXE_edgewatt"),
                "--out",
            ])
            .arg(out),
    );
    out.join(format!("edgewatt_{}_amd64.deb", env!("CARGO_PKG_VERSION")))
}

/// The value of the single-line control field `name`.
fn field<'a>(control: &'a str, name: &str) -> Option<&'a str> {
    control
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
}

/// `#key = value` and `#[table]` lines of the shipped config, uncommented; prose
/// (`# …`) stays a comment.
fn uncomment(config: &str) -> String {
    config
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if !rest.is_empty() && !rest.starts_with([' ', '#']) => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn deb_has_the_layout_control_fields_and_scripts() {
    if let Some(reason) = skip_reason() {
        eprintln!("SKIPPED deb_has_the_layout_control_fields_and_scripts: {reason}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let deb = build_deb(dir.path());

    // Files: exactly these, root-owned; only the binary is executable.
    let listing = stdout(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    let mut files = BTreeSet::new();
    for line in listing.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[1], "root/root", "{line}");
        if cols[0].starts_with('-') {
            let path = cols[5].trim_start_matches("./").to_string();
            let mode = if path == "usr/bin/edgewatt" {
                "-rwxr-xr-x"
            } else {
                "-rw-r--r--"
            };
            assert_eq!(cols[0], mode, "{line}");
            files.insert(path);
        }
    }
    let mut want: BTreeSet<String> = [
        "usr/bin/edgewatt",
        "lib/systemd/system/edgewatt.service",
        "etc/edgewatt/edgewatt.toml",
        "usr/share/doc/edgewatt/README.md",
        "usr/share/doc/edgewatt/copyright",
        "usr/share/doc/edgewatt/edgewatt-network.conf",
        "usr/share/doc/edgewatt/changelog.gz",
    ]
    .map(String::from)
    .into();
    for (sub, dest) in [
        ("plans", "usr/share/edgewatt/plans"),
        ("docs", "usr/share/doc/edgewatt"),
    ] {
        for e in std::fs::read_dir(repo().join(sub)).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".toml") || name.ends_with(".md") {
                want.insert(format!("{dest}/{name}"));
            }
        }
    }
    assert_eq!(files, want);

    // Control fields; Depends as dpkg-shlibdeps computes it, where that is installed.
    let control = stdout(Command::new("dpkg-deb").arg("--field").arg(&deb));
    assert_eq!(field(&control, "Package"), Some("edgewatt"));
    assert_eq!(field(&control, "Version"), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(field(&control, "Architecture"), Some("amd64"));
    let depends = field(&control, "Depends").unwrap();
    assert!(depends.starts_with("libc6 (>= 2."), "{depends}");
    assert!(depends.ends_with(", adduser"), "{depends}");
    let shlibdeps = Command::new("sh")
        .current_dir(dir.path())
        .arg("-c")
        .arg(format!(
            "mkdir -p debian && printf 'Source: e\\n\\nPackage: e\\nArchitecture: any\\n' \
             > debian/control && dpkg-shlibdeps -O {} 2>/dev/null",
            env!("CARGO_BIN_EXE_edgewatt")
        ))
        .output()
        .unwrap();
    if shlibdeps.status.success() {
        let got = String::from_utf8(shlibdeps.stdout).unwrap();
        let got = got.trim().strip_prefix("shlibs:Depends=").unwrap();
        assert_eq!(depends, format!("{got}, adduser"));
    } else {
        eprintln!("dpkg-shlibdeps unavailable: Depends not cross-checked");
    }

    // Conffile and maintainer scripts: as in packaging/, valid sh.
    let info = |member: &str| stdout(Command::new("dpkg-deb").arg("--info").arg(&deb).arg(member));
    assert_eq!(info("conffiles"), "/etc/edgewatt/edgewatt.toml\n");
    for script in ["postinst", "prerm", "postrm"] {
        let text = info(script);
        let ours = std::fs::read_to_string(repo().join("packaging/deb").join(script)).unwrap();
        assert_eq!(text, ours, "{script}");
        let syntax = Command::new("sh")
            .args(["-n", "-c", &text])
            .status()
            .unwrap();
        assert!(syntax.success(), "{script}: sh -n failed");
    }
    assert!(info("postinst").contains("adduser --quiet --system --group"));
    assert!(info("postrm").contains("rm -rf /var/lib/edgewatt /var/log/edgewatt"));

    // The unit is the repo's, and runs the packaged paths as the packaged user.
    let extract = |path: &str| {
        stdout(Command::new("sh").arg("-c").arg(format!(
            "dpkg-deb --fsys-tarfile '{}' | tar -xOf - ./{path}",
            deb.display()
        )))
    };
    let unit = extract("lib/systemd/system/edgewatt.service");
    assert_eq!(
        unit,
        std::fs::read_to_string(repo().join("systemd/edgewatt.service")).unwrap()
    );
    assert!(
        unit.contains("\nExecStart=/usr/bin/edgewatt run --config /etc/edgewatt/edgewatt.toml\n")
    );
    assert!(unit.contains("\nUser=edgewatt\n"));

    // The shipped config is valid, and uncommented it is exactly the built-in defaults.
    let config = extract("etc/edgewatt/edgewatt.toml");
    let plain = dir.path().join("plain.toml");
    std::fs::write(dir.path().join("shipped.toml"), &config).unwrap();
    std::fs::write(&plain, uncomment(&config)).unwrap();
    assert!(uncomment(&config).contains("\nrate_hz = 10\n"));
    let show = |path: &Path| {
        let mut c = edgewatt();
        c.env_remove("STATE_DIRECTORY")
            .args(["config", "show", "--config"])
            .arg(path);
        stdout(&mut c)
    };
    assert_eq!(show(&plain), show(Path::new("/dev/null")));
    assert_eq!(
        show(&dir.path().join("shipped.toml")),
        show(Path::new("/dev/null"))
    );
}
