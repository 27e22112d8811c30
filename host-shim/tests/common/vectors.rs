//! Where the real signature data is: `../shared/vectors` beside the repository, read in place
//! and never copied into it. Shared by the shim's test targets and the
//! verifier harness (`tests/harness/support.rs`).

use std::path::{Path, PathBuf};

/// `../shared/vectors`, or `None` with a visible skip message; under CI it must exist.
#[allow(dead_code)]
pub(crate) fn vectors_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but the shared vectors are missing at {}",
        dir.display()
    );
    eprintln!(
        "SKIPPED: real-signature vectors not found at {} (they live beside the repository, \
         not in it)",
        dir.display()
    );
    None
}
