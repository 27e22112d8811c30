//! The raw module's ABI under hostile arguments: random pointers, lengths and bytes into every
//! export must give a verdict or a refusal, never a trap. Also the 10 MB inputs.

use ocisig_host::module::EMBEDDED_MODULE;
use serde_json::{Value, json};
use wasmtime::{Engine, Instance, Module, Store};

use crate::support::*;

/// A small deterministic generator (xorshift64*), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn i32(&mut self) -> i32 {
        match self.next() % 4 {
            0 => (self.next() % 64) as i32,
            1 => -((self.next() % 64) as i32),
            2 => (self.next() % (1 << 22)) as i32,
            _ => self.next() as i32,
        }
    }
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_arguments_to_every_export_never_trap() {
    let engine = Engine::default();
    let module = Module::new(&engine, EMBEDDED_MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let alloc = instance
        .get_typed_func::<i32, i32>(&mut store, "ocisig_alloc")
        .unwrap();
    let free = instance
        .get_typed_func::<(i32, i32), ()>(&mut store, "ocisig_free")
        .unwrap();
    let verify = instance
        .get_typed_func::<(i32, i32, i32, i32), i64>(&mut store, "ocisig_verify")
        .unwrap();
    let verify_bundle = instance
        .get_typed_func::<(i32, i32, i32, i32, i32, i32), i64>(&mut store, "ocisig_verify_bundle")
        .unwrap();
    let version = instance
        .get_typed_func::<(), i32>(&mut store, "ocisig_abi_version")
        .unwrap();
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    assert_eq!(version.call(&mut store, ()).unwrap(), 1);

    let mut rng = Rng(0x0c15_19a1_5eed);
    let mut live: Vec<(i32, i32)> = Vec::new();
    for round in 0..3000 {
        match rng.next() % 4 {
            0 => {
                let len = rng.i32();
                let ptr = alloc.call(&mut store, len).expect("ocisig_alloc trapped");
                if len < 0 {
                    assert_eq!(ptr, 0, "negative length must be refused");
                }
                if ptr != 0 {
                    let fill = rng.bytes(usize::try_from(len).unwrap().min(4096));
                    memory
                        .write(&mut store, ptr as u32 as usize, &fill)
                        .unwrap();
                    live.push((ptr, len));
                }
            }
            1 => {
                // Free a live buffer, or something random.
                let (ptr, len) = if !live.is_empty() && rng.next().is_multiple_of(2) {
                    live.swap_remove((rng.next() % live.len() as u64) as usize)
                } else {
                    (rng.i32(), rng.i32())
                };
                free.call(&mut store, (ptr, len))
                    .expect("ocisig_free trapped");
            }
            _ => {
                let pick = |rng: &mut Rng, live: &[(i32, i32)]| {
                    if !live.is_empty() && rng.next().is_multiple_of(2) {
                        let (ptr, len) = live[(rng.next() % live.len() as u64) as usize];
                        (
                            ptr,
                            if rng.next().is_multiple_of(2) {
                                len
                            } else {
                                rng.i32()
                            },
                        )
                    } else {
                        (rng.i32(), rng.i32())
                    }
                };
                let (pp, pl) = pick(&mut rng, &live);
                let (ep, el) = pick(&mut rng, &live);
                let packed = if rng.next().is_multiple_of(2) {
                    verify
                        .call(&mut store, (pp, pl, ep, el))
                        .expect("ocisig_verify trapped") as u64
                } else {
                    let (dp, dl) = pick(&mut rng, &live);
                    verify_bundle
                        .call(&mut store, (pp, pl, ep, el, dp, dl))
                        .expect("ocisig_verify_bundle trapped") as u64
                };
                let (ptr, len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
                let mut out = vec![0u8; len];
                memory
                    .read(&store, ptr, &mut out)
                    .expect("verdict inside memory");
                let verdict: Value =
                    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("round {round}: {e}"));
                assert_eq!(
                    verdict["verified"], false,
                    "round {round}: random input verified"
                );
                free.call(&mut store, (ptr as i32, len as i32)).unwrap();
            }
        }
    }
}

#[test]
fn random_documents_are_refused_not_trapped() {
    let mut rng = Rng(0xfeed_beef);
    let a = Signer::new("alice", 1);
    let good_policy = policy(&[&a], json!({}));
    for size in [0, 1, 2, 7, 100, 1000, 65_536] {
        let junk = rng.bytes(size);
        let v = expect(&junk, &good_policy, "invalid_policy");
        assert_eq!(v["signatures"], json!([]));
        expect(&good_policy, &junk, "invalid_evidence");
    }
}

#[test]
fn ten_megabyte_inputs_are_refused_cleanly() {
    let mut rng = Rng(7);
    let a = Signer::new("alice", 1);
    let good_policy = policy(&[&a], json!({}));
    let junk = rng.bytes(10 * 1024 * 1024);
    expect(&good_policy, &junk, "invalid_evidence");
    // Past the policy document ceiling: refused before parsing.
    expect(&junk, &good_policy, "limit_exceeded");
    // Well-formed 10 MB evidence: a manifest past the policy's manifest cap.
    let big = serde_json::to_vec(&json!({
        "image": "x.example/y", "digest": sha256(b"y"),
        "signatureManifest": "x".repeat(10 * 1024 * 1024), "blobs": {},
    }))
    .unwrap();
    expect(&good_policy, &big, "limit_exceeded");
}

#[test]
fn deeply_nested_json_is_an_error_in_native_code_and_in_wasm() {
    let a = Signer::new("alice", 1);
    let good_policy = policy(&[&a], json!({}));
    let depth = 100_000;
    let mut deep = "[".repeat(depth).into_bytes();
    deep.extend(std::iter::repeat_n(b']', depth));
    expect(&good_policy, &deep, "invalid_evidence");
    expect(&deep, &good_policy, "invalid_policy");
    let manifest = String::from_utf8(deep).unwrap();
    let e = serde_json::to_vec(
        &json!({"image": "x.example/y", "digest": sha256(b"y"), "signatureManifest": manifest}),
    )
    .unwrap();
    expect(&good_policy, &e, "malformed_manifest");
}
