//! scripts/build-deb.sh on this test's own binary: the .deb's file list, owners, modes,
//! control fields, conffile and maintainer scripts, read back with dpkg-deb; and the
//! packaged binary, unpacked, finding its libraries and CPU backends in /usr/lib/edgewatt.
//! Nothing is installed. Skipped (with the reason printed) where dpkg-deb or binutils are
//! missing or the host is not amd64.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use edgewatt::llama::backend::built_variants;
use edgewatt::llama::backend::file_name;

use crate::common::edgewatt;
use crate::common::succeeded;

/// llama.cpp's libraries the binary needs, by soname (build-deb.sh finds them from its
/// NEEDED entries).
const PRIVATE_LIBS: [&str; 4] = [
    "libggml-base.so.0",
    "libggml.so.0",
    "libllama.so.0",
    "libmtmd.so.0",
];

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
    check_files(&deb);
    check_control_fields(&deb, dir.path());
    check_conffile_and_scripts(&deb);
    check_unit(&deb);
    check_shipped_config(&deb, dir.path());
}

/// Files: exactly these, root-owned; only the binary is executable.
fn check_files(deb: &Path) {
    let listing = stdout(Command::new("dpkg-deb").arg("--contents").arg(deb));
    let mut files = BTreeSet::new();
    for line in listing.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[1], "root/root", "{line}");
        if cols[0].starts_with('-') {
            let path = cols[5].trim_start_matches("./").to_string();
            // Shared libraries are not executable (Debian policy 10.2).
            let mode = if path == "usr/bin/edgewatt" {
                "-rwxr-xr-x"
            } else {
                "-rw-r--r--"
            };
            assert_eq!(cols[0], mode, "{line}");
            files.insert(path);
        }
    }
    assert_eq!(files, packaged_files());
}

/// The files the .deb must hold: the binary, unit, config and docs, and every plan and
/// doc page of the repository.
fn packaged_files() -> BTreeSet<String> {
    let mut want: BTreeSet<String> = [
        "usr/bin/edgewatt",
        "lib/systemd/system/edgewatt.service",
        "etc/edgewatt/edgewatt.toml",
        "usr/share/doc/edgewatt/README.md",
        "usr/share/doc/edgewatt/copyright",
        "usr/share/doc/edgewatt/changelog.gz",
        "usr/share/doc/edgewatt/examples/edgewatt-network.conf",
    ]
    .map(String::from)
    .into();
    for lib in PRIVATE_LIBS {
        want.insert(format!("usr/lib/edgewatt/{lib}"));
    }
    for v in built_variants() {
        want.insert(format!("usr/lib/edgewatt/{}", file_name(v)));
    }
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
    want
}

/// Control fields; Depends as dpkg-shlibdeps computes it (run in `dir`), where that is
/// installed.
fn check_control_fields(deb: &Path, dir: &Path) {
    let control = stdout(Command::new("dpkg-deb").arg("--field").arg(deb));
    assert_eq!(field(&control, "Package"), Some("edgewatt"));
    assert_eq!(field(&control, "Version"), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(field(&control, "Architecture"), Some("amd64"));
    let depends = field(&control, "Depends").unwrap();
    assert!(depends.starts_with("libc6 (>= 2."), "{depends}");
    assert!(depends.ends_with(", adduser"), "{depends}");
    // What build-deb.sh ships beside the binary: llama.cpp's libraries and the backends,
    // whose own dependency information dpkg-shlibdeps has none of.
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_edgewatt")).parent().unwrap();
    let mut elves = vec![env!("CARGO_BIN_EXE_edgewatt").to_owned()];
    for name in PRIVATE_LIBS
        .iter()
        .map(|l| (*l).to_owned())
        .chain(built_variants().iter().map(|v| file_name(v)))
    {
        elves.push(bin_dir.join(name).display().to_string());
    }
    let shlibdeps = Command::new("sh")
        .current_dir(dir)
        .arg("-c")
        .arg(format!(
            "mkdir -p debian && printf 'Source: e\\n\\nPackage: e\\nArchitecture: any\\n' \
             > debian/control && dpkg-shlibdeps -O -l{} --ignore-missing-info {} 2>/dev/null",
            bin_dir.display(),
            elves.join(" ")
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
}

/// Conffile and maintainer scripts: as in packaging/, valid sh.
fn check_conffile_and_scripts(deb: &Path) {
    let info = |member: &str| stdout(Command::new("dpkg-deb").arg("--info").arg(deb).arg(member));
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
}

/// The packaged file at `path` (relative to /), as text.
fn extract(deb: &Path, path: &str) -> String {
    stdout(Command::new("sh").arg("-c").arg(format!(
        "dpkg-deb --fsys-tarfile '{}' | tar -xOf - ./{path}",
        deb.display()
    )))
}

/// The unit is the repo's, and runs the packaged paths as the packaged user.
fn check_unit(deb: &Path) {
    let unit = extract(deb, "lib/systemd/system/edgewatt.service");
    assert_eq!(
        unit,
        std::fs::read_to_string(repo().join("systemd/edgewatt.service")).unwrap()
    );
    assert!(
        unit.contains("\nExecStart=/usr/bin/edgewatt run --config /etc/edgewatt/edgewatt.toml\n")
    );
    assert!(unit.contains("\nUser=edgewatt\n"));
    // The network drop-in ships as an example only, not in /etc or /lib.
    assert_eq!(
        extract(deb, "usr/share/doc/edgewatt/examples/edgewatt-network.conf"),
        std::fs::read_to_string(repo().join("systemd/edgewatt-network.conf")).unwrap()
    );
}

/// The shipped config is valid, and uncommented it is exactly the built-in defaults
/// (both written into `dir` for `config show`).
fn check_shipped_config(deb: &Path, dir: &Path) {
    let config = extract(deb, "etc/edgewatt/edgewatt.toml");
    let plain = dir.join("plain.toml");
    std::fs::write(dir.join("shipped.toml"), &config).unwrap();
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
        show(&dir.join("shipped.toml")),
        show(Path::new("/dev/null"))
    );
}

#[test]
fn the_unpacked_binary_finds_its_libraries_and_backends_in_usr_lib_edgewatt() {
    if let Some(reason) = skip_reason() {
        eprintln!("SKIPPED the_unpacked_binary_finds_its_libraries_and_backends: {reason}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let deb = build_deb(dir.path());
    let root = dir.path().join("root");
    succeeded(
        Command::new("dpkg-deb")
            .arg("--extract")
            .arg(&deb)
            .arg(&root)
            .output()
            .unwrap(),
    );
    // As installed: nothing beside /usr/bin/edgewatt, no LD_LIBRARY_PATH (cargo sets one).
    let out = stdout(
        Command::new(root.join("usr/bin/edgewatt"))
            .env_remove("LD_LIBRARY_PATH")
            .env_remove("EDGEWATT_BACKEND_DIR")
            .args(["sensors", "--seconds", "0", "--vcio", "/nonexistent/vcio"])
            .args(["--vcgencmd", "/nonexistent/vcgencmd"])
            .args(["--powercap-root", "/nonexistent/powercap"]),
    );
    let line = out.lines().next().unwrap();
    let lib_dir = std::fs::canonicalize(root.join("usr/lib/edgewatt")).unwrap();
    let variant = line
        .strip_prefix("llama   present  CPU backend ")
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(built_variants().contains(&variant), "{line}");
    assert!(
        line.ends_with(&format!(
            ") from {}",
            lib_dir.join(file_name(variant)).display()
        )),
        "{line}"
    );
}
