//! The network drop-in (systemd/edgewatt-network.conf): the unit with it opens IPv4 and
//! IPv6 and keeps every other restriction.

use crate::systemd::tool_output;

#[test]
fn the_network_drop_in_opens_inet_only_and_keeps_the_exposure_low() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let unit = std::fs::read_to_string(root.join("systemd/edgewatt.service")).unwrap();
    let dropin = std::fs::read_to_string(root.join("systemd/edgewatt-network.conf")).unwrap();
    // systemd applies a drop-in's [Service] lines after the unit's: the same as
    // appending them to the unit's [Service] section.
    let lines: Vec<&str> = dropin
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#') && *l != "[Service]")
        .collect();
    assert_eq!(
        lines,
        [
            "PrivateNetwork=no",
            "IPAddressDeny=",
            "RestrictAddressFamilies=",
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"
        ]
    );
    let merged = unit.replace("[Install]", &format!("{}\n\n[Install]", lines.join("\n")));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edgewatt.service");
    std::fs::write(&path, merged).unwrap();
    let out = tool_output(
        "systemd-analyze",
        "systemd",
        &[
            "security".as_ref(),
            "--offline=true".as_ref(),
            path.as_os_str(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let level: f64 = text
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for edgewatt.service: "))
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(
        level <= 2.0,
        "exposure {level} > 2.0 with the drop-in:\n{text}"
    );
    let line = |check: &str| {
        text.lines()
            .find(|l| l.contains(check))
            .unwrap_or_else(|| panic!("{check} not in:\n{text}"))
            .trim_start()
            .to_owned()
    };
    assert!(
        line("RestrictAddressFamilies=~AF_(INET|INET6)").starts_with('✗'),
        "{text}"
    );
    for kept in [
        "RestrictAddressFamilies=~AF_PACKET",
        "RestrictAddressFamilies=~AF_NETLINK",
        "CapabilityBoundingSet=~CAP_NET_ADMIN",
    ] {
        assert!(line(kept).starts_with('✓'), "{kept}:\n{text}");
    }
}
