//! Embeds the verifier module into the binary: `dist/ocisig.wasm` as `make wasm` builds it
//! (size-optimized by binaryen), or `OCISIG_EMBED_MODULE`. On a clean tree without either, the
//! module is built here from the workspace's own `policies/wasm` (without binaryen's pass), so
//! that `cargo build -p ocisig-host` works on its own; it then needs the
//! `wasm32-unknown-unknown` target.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let workspace = manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.clone(), Path::to_path_buf);
    let module = std::env::var_os("OCISIG_EMBED_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("dist/ocisig.wasm"));
    println!("cargo:rerun-if-env-changed=OCISIG_EMBED_MODULE");
    println!("cargo:rerun-if-changed={}", module.display());
    let module = if module.is_file() {
        module
    } else {
        match build_module(&workspace) {
            Ok(built) => {
                println!(
                    "cargo:warning={} is missing: embedding a module built from the workspace, \
                     without binaryen's size pass (`make wasm` builds the shipped one)",
                    module.display()
                );
                built
            }
            Err(why) => {
                println!(
                    "cargo::error={} is missing, and building the module here failed: {why}. \
                     Run `make wasm` (or `make build`), or point OCISIG_EMBED_MODULE at a built \
                     ocisig.wasm",
                    module.display()
                );
                return;
            }
        }
    };
    let module = module.canonicalize().unwrap_or(module);
    println!(
        "cargo:rustc-env=OCISIG_EMBEDDED_MODULE={}",
        module.display()
    );
}

/// Builds `ocisig-wasm` for wasm32 in a target directory of its own under `OUT_DIR` (the outer
/// build holds the workspace's), and returns the module's path.
fn build_module(workspace: &Path) -> Result<PathBuf, String> {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    let target_dir = out.join("module-target");
    for source in ["src", "fields/src", "policies/wasm/src", "Cargo.lock"] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(source).display()
        );
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--locked",
            "-p",
            "ocisig-wasm",
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            "dist",
        ])
        .current_dir(workspace)
        .env("CARGO_TARGET_DIR", &target_dir)
        // The outer build's flags are for the host target, not for wasm32.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "cargo build -p ocisig-wasm --target wasm32-unknown-unknown exited with {status} \
             (is the target installed? rustup target add wasm32-unknown-unknown)"
        ));
    }
    let built = target_dir.join("wasm32-unknown-unknown/dist/ocisig_wasm.wasm");
    if built.is_file() {
        Ok(built)
    } else {
        Err(format!("{} was not written", built.display()))
    }
}
