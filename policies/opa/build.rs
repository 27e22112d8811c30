//! Link the OPA module the way OPA hosts expect: memory imported from `env.memory` (and
//! exported again), a small stack so that the initial memory stays within the 5 pages hosts
//! provide, and no maximum.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("wasm32") {
        for arg in ["--import-memory", "--export-memory", "-zstack-size=131072"] {
            println!("cargo:rustc-link-arg-cdylib={arg}");
        }
    }
}
