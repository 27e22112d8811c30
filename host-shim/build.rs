//! Embeds `dist/ocisig.wasm` (built by `make wasm`) into the binary.

use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let module = std::env::var_os("OCISIG_EMBED_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir.join("../dist/ocisig.wasm"));
    println!("cargo:rerun-if-env-changed=OCISIG_EMBED_MODULE");
    println!("cargo:rerun-if-changed={}", module.display());
    if !module.is_file() {
        println!(
            "cargo::error={} is missing: run `make wasm` (or `make build`) first, or point \
             OCISIG_EMBED_MODULE at a built ocisig.wasm",
            module.display()
        );
        return;
    }
    let module = module.canonicalize().unwrap_or(module);
    println!(
        "cargo:rustc-env=OCISIG_EMBEDDED_MODULE={}",
        module.display()
    );
}
