//! The `qrctl` binary of this checkout, built once per test process (as
//! `service::built_wasm` builds the wasm): tests run the operator's tool
//! against the real service, never a copy of its logic.

use crate::repo_root;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// `target/debug/qrctl`, built from this checkout's sources the first time a
/// test asks (a no-op for cargo when nothing changed).
pub fn built_qrctl() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(&cargo)
                .args(["build", "--quiet", "-p", "qrctl"])
                .current_dir(repo_root())
                .stdin(Stdio::null())
                .status()
                .map_err(|e| format!("cannot run cargo to build qrctl: {e}"))?;
            if !status.success() {
                return Err(format!("`cargo build -p qrctl` failed ({status})"));
            }
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| repo_root().join("target"), |dir| repo_root().join(dir));
            let bin = target.join("debug/qrctl");
            if bin.exists() {
                Ok(bin)
            } else {
                Err(format!(
                    "cargo built qrctl but {} is missing",
                    bin.display()
                ))
            }
        })
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}
