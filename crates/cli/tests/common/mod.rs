//! Helpers shared by the integration tests that drive the real binary.

use std::path::PathBuf;
use std::process::Command;

/// The `nigehbaan` binary, kept away from the user's real list library.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_nigehbaan"));
    c.env_remove("NIGEHBAAN_LIBRARY");
    c.env(
        "XDG_DATA_HOME",
        std::env::temp_dir().join("nigehbaan-test-nowhere"),
    );
    c
}

/// A fresh, empty directory for one test (`suite` keeps suites apart).
pub fn tempdir(suite: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nigehbaan-{suite}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
