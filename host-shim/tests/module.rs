//! The host survives misbehaving modules: every failure is a `module_trap` denial.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use ocisig_host::{ModuleLimits, VerifierModule};

/// A module with the ocisig ABI whose `ocisig_verify` body is `verify_body`.
fn module(verify_body: &str) -> Vec<u8> {
    module_with("", verify_body)
}

/// [`module`] with more module fields (globals, data) before the functions.
fn module_with(fields: &str, verify_body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
          (memory (export "memory") 2)
          (global $next (mut i32) (i32.const 1024))
          {fields}
          (func (export "ocisig_abi_version") (result i32) i32.const 1)
          (func (export "ocisig_alloc") (param $len i32) (result i32)
            (local $ptr i32)
            global.get $next
            local.set $ptr
            global.get $next
            local.get $len
            i32.add
            global.set $next
            local.get $ptr)
          (func (export "ocisig_free") (param i32 i32))
          (func (export "ocisig_verify") (param i32 i32 i32 i32) (result i64)
            {verify_body}))"#
    ))
    .unwrap()
}

fn limits() -> ModuleLimits {
    ModuleLimits {
        memory_bytes: 16 * 1024 * 1024,
        fuel: 10_000_000,
    }
}

#[track_caller]
fn assert_module_trap(verify_body: &str, needle: &str) {
    let verifier = VerifierModule::from_bytes(&module(verify_body), limits()).unwrap();
    let verdict = verifier.verify(b"{}", b"{}");
    assert!(!verdict.verified);
    let json: serde_json::Value = serde_json::from_str(&verdict.json).unwrap();
    assert_eq!(json["reason"], "module_trap", "{json:#}");
    assert_eq!(json["verified"], false);
    let message = json["message"].as_str().unwrap();
    assert!(message.contains(needle), "{needle:?} not in {message:?}");
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    assert_module_trap("(loop $forever (br $forever)) i64.const 0", "fuel");
}

#[test]
fn a_trap_is_a_denial() {
    assert_module_trap("unreachable", "ocisig_verify trapped");
}

#[test]
fn growing_past_the_memory_cap_is_a_denial() {
    // memory.grow past the cap traps, naming the memory (the module's own check of -1 is
    // never reached).
    assert_module_trap(
        "(if (i32.eq (memory.grow (i32.const 1024)) (i32.const -1)) (then unreachable)) i64.const 0",
        "growing memory",
    );
}

#[test]
fn a_verdict_outside_memory_is_a_denial() {
    // ptr = 0xffff0000, len = 100: past the 128 KiB memory.
    assert_module_trap("i64.const 0xffff000000000064", "outside its memory");
}

#[test]
fn a_verdict_that_is_not_json_is_a_denial() {
    // 16 zero bytes at address 0.
    assert_module_trap("i64.const 16", "not JSON");
}

#[test]
fn a_verdict_claiming_verified_without_a_boolean_is_a_denial() {
    let body = r#"i64.const 8"#;
    let wasm = wat::parse_str(format!(
        r#"(module
          (memory (export "memory") 1)
          (data (i32.const 0) "{{\"verified\":\"yes\"}}")
          (func (export "ocisig_abi_version") (result i32) i32.const 1)
          (func (export "ocisig_alloc") (param i32) (result i32) i32.const 512)
          (func (export "ocisig_free") (param i32 i32))
          (func (export "ocisig_verify") (param i32 i32 i32 i32) (result i64)
            {body} i64.const 10 i64.add))"#
    ))
    .unwrap();
    let verifier = VerifierModule::from_bytes(&wasm, limits()).unwrap();
    let verdict = verifier.verify(b"{}", b"{}");
    assert!(!verdict.verified);
    assert!(verdict.json.contains("module_trap"), "{}", verdict.json);
}

#[test]
fn modules_that_import_or_speak_another_abi_are_refused_at_load() {
    let importing = wat::parse_str(r#"(module (import "env" "f" (func)))"#).unwrap();
    let err = VerifierModule::from_bytes(&importing, limits())
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("imports env.f"), "{err:#}");
    let other_abi =
        wat::parse_str(r#"(module (func (export "ocisig_abi_version") (result i32) i32.const 2))"#)
            .unwrap();
    let err = VerifierModule::from_bytes(&other_abi, limits())
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("ABI 2"), "{err:#}");
}

/// The misbehaving module compiled from Rust (`tests/fixtures/misbehaving-module`, built by
/// `make fixtures`), or `None` outside CI when it has not been built.
fn fixture() -> Option<Vec<u8>> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        std::path::PathBuf::from,
    );
    let path = target.join("wasm32-unknown-unknown/dist/misbehaving_module.wasm");
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but {} is missing (make fixtures)",
                path.display()
            );
            eprintln!("SKIPPED: {} not built (make fixtures)", path.display());
            None
        }
    }
}

#[test]
fn a_compiled_module_that_misbehaves_is_always_a_denial_and_the_host_carries_on() {
    let Some(bytes) = fixture() else {
        return;
    };
    let module = VerifierModule::from_bytes(&bytes, limits()).unwrap();
    for (behaviour, needle) in [
        ("loop", "fuel"),
        ("trap", "unreachable"),
        ("grow", "memory"),
        // Rust's stack lives in linear memory; overflowing it leaves the memory.
        ("recurse", "out of bounds"),
        ("wild", "outside its memory"),
    ] {
        let verdict = module.verify(behaviour.as_bytes(), b"{}");
        assert!(!verdict.verified, "{behaviour}");
        assert_eq!(
            verdict.value["reason"], "module_trap",
            "{behaviour}: {}",
            verdict.json
        );
        let message = verdict.value["message"].as_str().unwrap().to_lowercase();
        assert!(message.contains(needle), "{behaviour}: {message}");
    }
    // The same module instance source still answers afterwards: nothing leaked across.
    let fine = module.verify(b"anything", b"{}");
    assert_eq!(fine.value["reason"], "invalid_policy");
}

/// Instances are kept warm after a clean call and discarded after a trap. This module answers
/// the first call of an instance and traps on any later one, so the sequence of outcomes shows
/// which instance each call ran in.
#[test]
fn a_clean_instance_is_reused_and_a_trapped_one_is_discarded() {
    let bytes = module_with(
        r#"(data (i32.const 16) "{\"verified\":false}")
          (global $calls (mut i32) (i32.const 0))"#,
        "global.get $calls
            i32.const 1
            i32.add
            global.set $calls
            global.get $calls
            i32.const 1
            i32.gt_u
            if unreachable end
            i64.const 0x1000000012",
    );
    let verifier = VerifierModule::from_bytes(&bytes, limits()).unwrap();
    let outcomes: Vec<bool> = (0..4).map(|_| verifier.run(b"{}", b"{}").is_ok()).collect();
    // fresh: ok; reused: trap (discarded); fresh: ok; reused: trap.
    assert_eq!(outcomes, [true, false, true, false]);
    // A host that keeps nothing always gets a first call.
    assert!((0..3).all(|_| verifier.run_fresh(b"{}", b"{}").is_ok()));
}
