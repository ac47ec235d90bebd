//! boot_id and device_id from fixtures.

use std::path::Path;

use edgewatt::sampler::boot_id;
use edgewatt::sampler::device_id;
use edgewatt::sampler::IdentityError;

use super::*;

#[test]
fn boot_id_is_read_from_proc() {
    assert_eq!(
        boot_id(&Roots::under(&fixture("pi5"))).unwrap(),
        "8a2b4c6d-1e3f-4a5b-9c7d-0e1f2a3b4c5d"
    );
    let dir = scratch("x86");
    put(dir.path(), "proc/sys/kernel/random/boot_id", "not-a-uuid\n");
    let err = boot_id(&Roots::under(dir.path())).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: expected a UUID like 6e102c7c-e569-4ae5-a50b-05aad92516de, got \"not-a-uuid\\n\"",
            dir.path().join("proc/sys/kernel/random/boot_id").display()
        )
    );
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        boot_id(&Roots::under(empty.path())),
        Err(IdentityError::Read { .. })
    ));
}

#[test]
fn device_id_prefers_override_then_serial_then_machine_id_then_unknown() {
    let pi5 = Roots::under(&fixture("pi5"));
    let etc = fixture("x86").join("etc");
    assert_eq!(
        device_id(&pi5, &etc, Some("bench-pi-2")).unwrap(),
        "bench-pi-2"
    );
    // The device-tree serial (NUL-terminated) "3f1a5c7e9b2d4608", hashed: HMAC-SHA256
    // keyed with its text over edgewatt's app id, as UUID v4 bits (Python's hmac agrees).
    assert_eq!(
        device_id(&pi5, &etc, None).unwrap(),
        "5f9e2e18b2dd471da7c0152da60fdfb9"
    );
    let x86 = Roots::under(&fixture("x86"));
    // machine-id 3d1219c7c4c5404aaa1f6d2a48adfda4, hashed as systemd-id128 --app-specific.
    assert_eq!(
        device_id(&x86, &etc, None).unwrap(),
        "de03dd6c59a047c9ad2cffe9fe876224"
    );
    assert_eq!(
        device_id(&x86, Path::new("/nonexistent-etc"), None).unwrap(),
        "unknown"
    );
    assert_eq!(
        device_id(&x86, &etc, Some("has space"))
            .unwrap_err()
            .to_string(),
        "configured device_id \"has space\" is invalid: use 1–64 characters of [A-Za-z0-9._-]"
    );
    let dir = scratch("x86");
    put(dir.path(), "etc/machine-id", "\u{7}\u{7}\n");
    let err = device_id(&Roots::under(dir.path()), &dir.path().join("etc"), None).unwrap_err();
    assert!(matches!(err, IdentityError::BadDeviceId { .. }), "{err}");
    assert!(err
        .to_string()
        .ends_with("; set `device_id` in the config to override"));
}
