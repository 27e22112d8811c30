//! An on-disk cache of compiled modules, so that only the first run pays for compilation.
//!
//! Compiling the verifier with Cranelift takes about a second; loading the compiled code takes
//! milliseconds. Entries live in `$OCISIG_CACHE_DIR`, else `$XDG_CACHE_HOME/ocisig/modules`,
//! else `~/.cache/ocisig/modules`, and are named by the sha256 of the module bytes, the ocisig
//! version and the engine's compatibility hash (which covers the wasmtime version, the target and
//! every code-generation setting), so a new build or another configuration never
//! loads a stale entry. Each entry carries a sha256 of itself, checked before loading, so a
//! truncated or corrupted file is recompiled rather than loaded. `OCISIG_CACHE_DIR=off`
//! disables the cache. Any cache failure falls back to compiling: the cache only saves time.

use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use ocisig::Sha256Digest;
use wasmtime::{Engine, Module};

/// Bytes after the compiled code: the sha256 of everything before.
const CHECKSUM_BYTES: usize = 32;

/// Compiles `wasm`, or loads the compiled form from the cache.
///
/// # Errors
/// When the bytes are not a valid module.
pub fn compile(engine: &Engine, wasm: &[u8]) -> anyhow::Result<Module> {
    compile_in(engine, wasm, default_dir().as_deref())
}

/// [`compile`] with the cache in `dir`, or no cache when `None`.
///
/// # Errors
/// When the bytes are not a valid module.
pub fn compile_in(engine: &Engine, wasm: &[u8], dir: Option<&Path>) -> anyhow::Result<Module> {
    let Some(path) = dir.map(|dir| entry_path(engine, wasm, dir)) else {
        return Module::new(engine, wasm).map_err(|e| anyhow!("{e}"));
    };
    if let Some(module) = load(engine, &path) {
        return Ok(module);
    }
    let compiled = engine.precompile_module(wasm).map_err(|e| anyhow!("{e}"))?;
    store(&path, &compiled);
    // Deserializing what we just compiled is the one code path for cached and fresh modules.
    deserialize(engine, &compiled)
        .or_else(|_| Module::new(engine, wasm).map_err(|e| anyhow!("{e}")))
}

/// The cache directory the environment names, or `None` when it is turned off.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("OCISIG_CACHE_DIR") {
        if dir == "off" || dir.is_empty() {
            return None;
        }
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("ocisig").join("modules"))
}

fn entry_path(engine: &Engine, wasm: &[u8], dir: &Path) -> PathBuf {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let key_material = format!(
        "{}\n{}\n{:016x}",
        Sha256Digest::of(wasm).hex(),
        env!("CARGO_PKG_VERSION"),
        hasher.finish()
    );
    let key = Sha256Digest::of(key_material.as_bytes()).hex();
    dir.join(format!("{key}.cwasm"))
}

fn load(engine: &Engine, path: &Path) -> Option<Module> {
    if !private_dir(path.parent()?) {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let split = bytes.len().checked_sub(CHECKSUM_BYTES)?;
    let (compiled, checksum) = bytes.split_at(split);
    if Sha256Digest::of(compiled).as_bytes().as_slice() != checksum {
        return None;
    }
    deserialize(engine, compiled).ok()
}

fn store(path: &Path, compiled: &[u8]) {
    let Some(dir) = path.parent() else {
        return;
    };
    if create_private_dir(dir).is_err() {
        return;
    }
    let mut bytes = compiled.to_vec();
    bytes.extend_from_slice(Sha256Digest::of(compiled).as_bytes());
    // Write, then rename: a concurrent run sees the whole entry or none.
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&temporary, &bytes).is_ok() && std::fs::rename(&temporary, path).is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
}

/// Whether only its owner can reach `dir`: entries in a directory others can write to are
/// never loaded, since loading one runs its machine code.
fn private_dir(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o077 == 0)
    }
    #[cfg(not(unix))]
    {
        dir.is_dir()
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, compiled: &[u8]) -> anyhow::Result<Module> {
    // SAFETY: `Module::deserialize` runs the machine code it is given, so the bytes must come
    // from `Engine::precompile_module` of a compatible engine. They do: either we produced them
    // just now, or they are a cache entry we wrote, named after this engine's compatibility
    // hash (which covers the wasmtime version), in a directory only its owner can reach
    // (checked before loading), with a checksum just verified against accidental corruption.
    // wasmtime itself also checks the header's version and configuration.
    unsafe { Module::deserialize(engine, compiled) }.map_err(|e| anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = r#"(module (func (export "answer") (result i32) i32.const 42))"#;

    fn answer(module: &Module, engine: &Engine) -> i32 {
        let mut store = wasmtime::Store::new(engine, ());
        let instance = wasmtime::Instance::new(&mut store, module, &[]).unwrap();
        let f = instance
            .get_typed_func::<(), i32>(&mut store, "answer")
            .unwrap();
        f.call(&mut store, ()).unwrap()
    }

    #[test]
    fn a_cached_module_loads_and_a_corrupted_entry_is_recompiled() {
        let dir = std::env::temp_dir().join(format!("ocisig-cache-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let engine = Engine::default();
        let wasm = wat::parse_str(ANSWER).unwrap();

        let fresh = compile_in(&engine, &wasm, Some(&dir)).unwrap();
        assert_eq!(answer(&fresh, &engine), 42);
        let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(entries.len(), 1);
        let entry = entries[0].path();

        let cached = compile_in(&engine, &wasm, Some(&dir)).unwrap();
        assert_eq!(answer(&cached, &engine), 42);

        // A directory others can reach is not trusted: its entries are recompiled, not loaded.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
            assert!(load(&engine, &entry).is_none());
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
            assert!(load(&engine, &entry).is_some());
        }

        // Flip a byte of the compiled code: the checksum no longer matches, so it is rebuilt.
        let mut bytes = std::fs::read(&entry).unwrap();
        bytes[100] ^= 0xff;
        std::fs::write(&entry, &bytes).unwrap();
        let rebuilt = compile_in(&engine, &wasm, Some(&dir)).unwrap();
        assert_eq!(answer(&rebuilt, &engine), 42);
        assert_ne!(std::fs::read(&entry).unwrap(), bytes);

        // A truncated entry, too.
        std::fs::write(&entry, &bytes[..10]).unwrap();
        assert_eq!(
            answer(&compile_in(&engine, &wasm, Some(&dir)).unwrap(), &engine),
            42
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn another_module_gets_another_entry() {
        let dir = std::env::temp_dir().join(format!("ocisig-cache-test2-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let engine = Engine::default();
        compile_in(&engine, &wat::parse_str(ANSWER).unwrap(), Some(&dir)).unwrap();
        compile_in(&engine, &wat::parse_str("(module)").unwrap(), Some(&dir)).unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
