//! `make bench`: per-signature P-256 verification cost, native core vs the wasm module under
//! wasmtime vs OpenSSL, all measured in this one run and reported as medians and ratios
//! (the machine is small and noisy). Writes target/bench/summary.json.
//!
//! Per-signature cost is measured by difference, so fixed costs (parsing, instantiation) cancel:
//! an evidence document with N wrong-key layers and one good last layer costs N extra
//! signature checks over a document with only the good layer. Identical layers are checked only
//! once, so the N layers each carry a distinct signature.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub,
    dead_code
)]

#[path = "../tests/harness/support.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Layer, Signer, cosign_payload, evidence, module, policy, sha256};

const EXTRA_LAYERS: usize = 32;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Median wall time of `f` over `rounds` runs, after one warm-up run.
fn time(rounds: usize, mut f: impl FnMut()) -> Duration {
    f();
    median(
        (0..rounds)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn per_signature(rounds: usize, mut run: impl FnMut(&[u8])) -> (Duration, Duration) {
    let (alice, mallory) = (Signer::new("alice", 1), Signer::new("mallory", 9));
    let digest = sha256(b"bench");
    let good = Layer::signed(&alice, cosign_payload(&digest, "bench.example/app", None));
    let mut layers: Vec<Layer> = (0..EXTRA_LAYERS)
        .map(|n| {
            let payload = cosign_payload(
                &digest,
                "bench.example/app",
                Some(&json!({"n": n.to_string()})),
            );
            Layer::signed(&mallory, payload)
        })
        .collect();
    layers.push(good.clone());
    let one = evidence("bench.example/app:v1", &digest, Some(&[good]));
    let many = evidence("bench.example/app:v1", &digest, Some(&layers));
    let fixed = time(rounds, || run(&one));
    let total = time(rounds, || run(&many));
    let per = total.saturating_sub(fixed) / u32::try_from(EXTRA_LAYERS).unwrap();
    (per, fixed)
}

/// OpenSSL's own ecdsap256 verify time, from `openssl speed`.
fn openssl_verify() -> Option<Duration> {
    let output = Command::new("openssl")
        .args(["speed", "-seconds", "2", "ecdsap256"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    // The result line: " 256 bits ecdsa (nistp256)   0.0000s   0.0001s  25929.6  10699.0"; the
    // last column, verifications per second, is the precise one.
    let line = text.lines().find(|l| l.contains("ecdsa (nistp256)"))?;
    let per_second: f64 = line.split_whitespace().last()?.parse().ok()?;
    (per_second > 0.0).then(|| Duration::from_secs_f64(1.0 / per_second))
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let rounds = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(15);
    let alice = Signer::new("alice", 1);
    let p = policy(&[&alice], json!({}));

    let (native, native_fixed) = per_signature(rounds, |e| {
        assert!(ocisig::verify_json(&p, e).verified);
    });
    let verifier = module();
    let (wasm, wasm_fixed) = per_signature(rounds, |e| {
        assert!(verifier.run(&p, e).unwrap().verified);
    });
    let openssl = openssl_verify();
    let module_bytes = std::fs::metadata(support::repo_root().join("dist/ocisig.wasm"))
        .map(|m| m.len())
        .unwrap_or(0);

    println!(
        "ocisig bench ({rounds} rounds, medians; per-signature cost by difference over {EXTRA_LAYERS} layers)"
    );
    println!("  {:<44} {:>12}", "measure", "value");
    println!(
        "  {:<44} {:>9.1} us",
        "P-256 verify, native core",
        micros(native)
    );
    println!(
        "  {:<44} {:>9.1} us",
        "P-256 verify, wasm module (wasmtime)",
        micros(wasm)
    );
    if let Some(o) = openssl {
        println!(
            "  {:<44} {:>9.1} us",
            "P-256 verify, OpenSSL (openssl speed)",
            micros(o)
        );
        println!(
            "  {:<44} {:>10.2}x",
            "ratio wasm / OpenSSL",
            wasm.as_secs_f64() / o.as_secs_f64()
        );
    }
    println!(
        "  {:<44} {:>10.2}x",
        "ratio wasm / native",
        wasm.as_secs_f64() / native.as_secs_f64()
    );
    println!(
        "  {:<44} {:>9.1} us",
        "one-layer verdict, native (parse + 1 verify)",
        micros(native_fixed)
    );
    println!(
        "  {:<44} {:>9.1} us",
        "one-layer verdict, wasm (instance + 1 verify)",
        micros(wasm_fixed)
    );
    println!("  {:<44} {:>9} B", "dist/ocisig.wasm", module_bytes);

    let summary = json!({
        "rounds": rounds,
        "p256VerifyMicros": {
            "native": micros(native),
            "wasm": micros(wasm),
            "openssl": openssl.map(micros),
        },
        "ratios": {
            "wasmOverOpenssl": openssl.map(|o| wasm.as_secs_f64() / o.as_secs_f64()),
            "wasmOverNative": wasm.as_secs_f64() / native.as_secs_f64(),
        },
        "oneLayerVerdictMicros": {"native": micros(native_fixed), "wasm": micros(wasm_fixed)},
        "moduleBytes": {"ocisig.wasm": module_bytes},
    });
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(
            || support::repo_root().join("target"),
            std::path::PathBuf::from,
        )
        .join("bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(&summary).unwrap(),
    )
    .unwrap();
    println!("  wrote {}", dir.join("summary.json").display());
}
