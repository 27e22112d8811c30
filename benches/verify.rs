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

/// Per-signature cost by difference: (time, one-layer time, fuel). `run` returns the fuel it
/// used (the wasm module's instruction count; 0 natively).
fn per_signature(rounds: usize, mut run: impl FnMut(&[u8]) -> u64) -> (Duration, Duration, u64) {
    let (alice, mallory) = (Signer::new("alice", 1), Signer::new("mallory", 9));
    let digest = sha256(b"bench");
    let good = good_layer(&alice, &digest);
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
    layers.push(good);
    let one = one_layer_evidence(&alice);
    let many = evidence("bench.example/app:v1", &digest, Some(&layers));
    let fixed = time(rounds, || {
        run(&one);
    });
    let total = time(rounds, || {
        run(&many);
    });
    let per = total.saturating_sub(fixed) / u32::try_from(EXTRA_LAYERS).unwrap();
    let fuel = fuel_by_difference(|many_layers| run(if many_layers { &many } else { &one }));
    (per, fixed, fuel)
}

/// The layer `signer` signs for the image of the per-signature bench.
fn good_layer(signer: &Signer, digest: &str) -> Layer {
    Layer::signed(signer, cosign_payload(digest, "bench.example/app", None))
}

/// Evidence with one layer, signed by `signer`.
fn one_layer_evidence(signer: &Signer) -> Vec<u8> {
    let digest = sha256(b"bench");
    evidence(
        "bench.example/app:v1",
        &digest,
        Some(&[good_layer(signer, &digest)]),
    )
}

/// The fuel of one extra signature: (many − one) / EXTRA_LAYERS, from the last of three runs
/// of each (the key's tables are built by then, as in the timed rounds). `run(false)` runs
/// the one-layer evidence, `run(true)` the many-layer one.
fn fuel_by_difference(mut run: impl FnMut(bool) -> u64) -> u64 {
    let (mut one, mut many) = (0, 0);
    for _ in 0..3 {
        one = run(false);
        many = run(true);
    }
    many.saturating_sub(one) / EXTRA_LAYERS as u64
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

/// A key type: its name, `openssl genpkey` args, the `openssl dgst` digest (`None`: pure
/// Ed25519), and the `openssl speed` algorithm and result-line marker for comparison.
type KeyTypeRow = (
    &'static str,
    &'static [&'static str],
    Option<&'static str>,
    &'static str,
    &'static str,
);

const KEY_TYPES: &[KeyTypeRow] = &[
    (
        "P-384",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        Some("-sha384"),
        "ecdsap384",
        "ecdsa (nistp384)",
    ),
    (
        "P-521",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
        Some("-sha512"),
        "ecdsap521",
        "ecdsa (nistp521)",
    ),
    (
        "RSA-2048",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        Some("-sha256"),
        "rsa2048",
        "rsa 2048 bits",
    ),
    (
        "RSA-4096",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"],
        Some("-sha256"),
        "rsa4096",
        "rsa 4096 bits",
    ),
    (
        "Ed25519",
        &["-algorithm", "ED25519"],
        None,
        "ed25519",
        "Ed25519",
    ),
];

fn openssl(args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl").args(args).output().unwrap();
    assert!(output.status.success(), "openssl {args:?}: {output:?}");
    output.stdout
}

/// Per-signature cost for one key type, by difference: `EXTRA_LAYERS` layers signed by the
/// policy key over payloads for another image (each costs one successful signature check,
/// then fails its claim) before one good layer.
fn key_type_per_signature(
    rounds: usize,
    genpkey: &[&str],
    digest_flag: Option<&str>,
    mut run: impl FnMut(&[u8], &[u8]) -> u64,
) -> (Duration, u64) {
    let dir = std::env::temp_dir().join(format!("ocisig-bench-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("key.pem");
    let key = key.to_str().unwrap();
    let mut args = vec!["genpkey"];
    args.extend_from_slice(genpkey);
    args.extend(["-out", key]);
    openssl(&args);
    let public = String::from_utf8(openssl(&["pkey", "-in", key, "-pubout"])).unwrap();
    let message = dir.join("payload");
    let message = message.to_str().unwrap();
    let sign = |payload: &[u8]| -> String {
        std::fs::write(message, payload).unwrap();
        let signature = match digest_flag {
            Some(flag) => openssl(&["dgst", flag, "-sign", key, message]),
            None => openssl(&["pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", message]),
        };
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(signature)
    };
    let digest = sha256(b"bench");
    let layer = |payload: Vec<u8>| {
        let signature = sign(&payload);
        support::layer(payload, &signature)
    };
    let good = layer(cosign_payload(&digest, "bench.example/app", None));
    let mut layers: Vec<Layer> = (0..EXTRA_LAYERS)
        .map(|n| {
            layer(cosign_payload(
                &sha256(&[n as u8]),
                "bench.example/app",
                None,
            ))
        })
        .collect();
    layers.push(good.clone());
    let policy =
        serde_json::to_vec(&json!({"keys": [{"name": "k", "publicKey": public}]})).unwrap();
    let one = evidence("bench.example/app:v1", &digest, Some(&[good]));
    let many = evidence("bench.example/app:v1", &digest, Some(&layers));
    let fixed = time(rounds, || {
        run(&policy, &one);
    });
    let total = time(rounds, || {
        run(&policy, &many);
    });
    let fuel =
        fuel_by_difference(|many_layers| run(&policy, if many_layers { &many } else { &one }));
    let _ = std::fs::remove_dir_all(&dir);
    (
        total.saturating_sub(fixed) / u32::try_from(EXTRA_LAYERS).unwrap(),
        fuel,
    )
}

/// `openssl speed`'s verify time for `algorithm`, from the line holding `marker`.
fn openssl_speed_verify(algorithm: &str, marker: &str) -> Option<Duration> {
    let output = Command::new("openssl")
        .args(["speed", "-seconds", "1", algorithm])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| l.contains(marker) && !l.contains("sign/s"))?;
    // Columns: ... sign(s) verify(s) sign/s verify/s; the last is verifications per second.
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

    let (native, native_fixed, _) = per_signature(rounds, |e| {
        assert!(ocisig::verify_json(&p, e).verified());
        0
    });
    let verifier = module();
    let (wasm, wasm_fixed, wasm_fuel) = per_signature(rounds, |e| {
        let verdict = verifier.run(&p, e).unwrap();
        assert!(verdict.verified);
        verdict.fuel_used
    });
    // A whole evaluation in a fresh instance, as a host that keeps nothing between calls runs
    // it: the policy and evidence read and the key's first verification (no tables yet). A
    // warm instance keeps the parsed policy, and with it the key's tables.
    let one_layer_fuel = verifier
        .run_fresh(&p, &one_layer_evidence(&alice))
        .unwrap()
        .fuel_used;
    // The same verdict with the layer's signature unreadable (not DER), so that no signature
    // is verified: the difference is what the one signature check costs, and the ratio is
    // #19's "complete verification over its signature verification alone".
    let unsigned_fuel = {
        let digest = sha256(b"bench");
        let mut layer = good_layer(&alice, &digest);
        layer.signature = Some("AAAA".into());
        let unsigned = evidence("bench.example/app:v1", &digest, Some(&[layer]));
        let verdict = verifier.run_fresh(&p, &unsigned).unwrap();
        assert!(!verdict.verified);
        verdict.fuel_used
    };
    let signature_fuel = one_layer_fuel.saturating_sub(unsigned_fuel).max(1);
    let verdict_over_signature = one_layer_fuel as f64 / signature_fuel as f64;
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
    println!(
        "  {:<44} {:>12}",
        "P-256 verify, wasm instructions (fuel)", wasm_fuel
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
    println!(
        "  {:<44} {:>12}",
        "one-layer verdict, fresh instance (fuel)", one_layer_fuel
    );
    println!(
        "  {:<44} {:>12}",
        "  of which the signature check (fuel)", signature_fuel
    );
    println!(
        "  {:<44} {:>10.2}x",
        "ratio verdict / its signature check", verdict_over_signature
    );
    println!("  {:<44} {:>9} B", "dist/ocisig.wasm", module_bytes);

    let mut key_types = serde_json::Map::new();
    println!(
        "  per key type, verify (us): wasm, native, OpenSSL, wasm/OpenSSL, wasm instructions (fuel)"
    );
    for (name, genpkey, digest_flag, speed_algorithm, marker) in KEY_TYPES {
        let (wasm, fuel) = key_type_per_signature(rounds, genpkey, *digest_flag, |p, e| {
            let verdict = verifier.run(p, e).unwrap();
            assert!(verdict.verified);
            verdict.fuel_used
        });
        let (native, _) = key_type_per_signature(rounds, genpkey, *digest_flag, |p, e| {
            assert!(ocisig::verify_json(p, e).verified());
            0
        });
        let openssl = openssl_speed_verify(speed_algorithm, marker);
        let ratio = openssl.map(|o| wasm.as_secs_f64() / o.as_secs_f64());
        println!(
            "  {:<12} {:>9.1} {:>9.1} {:>9} {:>8} {:>12}",
            name,
            micros(wasm),
            micros(native),
            openssl.map_or("-".into(), |o| format!("{:.1}", micros(o))),
            ratio.map_or("-".into(), |r| format!("{r:.1}x")),
            fuel,
        );
        key_types.insert(
            (*name).into(),
            json!({"wasm": micros(wasm), "native": micros(native), "openssl": openssl.map(micros), "wasmOverOpenssl": ratio, "wasmFuel": fuel}),
        );
    }

    // One keyless image verdict (a real cosign v3 bundle: signature, Rekor SET and inclusion
    // proof, RFC 3161 timestamp, Fulcio chain at two times, SCT, identity).
    let keyless = keyless_verdict(rounds);
    if let Some((native, wasm, reused, fresh_fuel)) = keyless {
        println!("  keyless image verdict, kubewarden-controller v1.34.0 bundle (ms, medians):");
        println!(
            "  {:<44} {:>9.2} ms",
            "native, policy parsed once (per image)",
            reused.as_secs_f64() * 1e3
        );
        println!(
            "  {:<44} {:>9.2} ms",
            "native core, policy parsed each time",
            native.as_secs_f64() * 1e3
        );
        println!(
            "  {:<44} {:>9.2} ms",
            "wasm module, warm instance (policy kept)",
            wasm.as_secs_f64() * 1e3
        );
        println!(
            "  {:<44} {:>10.2}x",
            "ratio wasm / native",
            wasm.as_secs_f64() / native.as_secs_f64()
        );
        println!("  {:<44} {:>12}", "wasm, fresh instance (fuel)", fresh_fuel);
    }

    let cold = cold_start(rounds);
    println!("  start-up, compile + instantiate + ABI check (ms, medians):");
    println!(
        "  {:<44} {:>9.2} ms",
        "compiled from the module bytes",
        cold.0.as_secs_f64() * 1e3
    );
    println!(
        "  {:<44} {:>9.2} ms",
        "loaded from the precompiled cache",
        cold.1.as_secs_f64() * 1e3
    );
    let sizes = artifact_sizes();
    println!("  artifact sizes (bytes):");
    for (name, bytes) in &sizes {
        println!("  {name:<44} {bytes:>11}");
    }

    let summary = json!({
        "startupMillis": {
            "compile": cold.0.as_secs_f64() * 1e3,
            "precompiledCache": cold.1.as_secs_f64() * 1e3,
        },
        "artifactBytes": sizes.iter().map(|(n, b)| ((*n).to_string(), json!(b))).collect::<serde_json::Map<_, _>>(),
        "rounds": rounds,
        "p256VerifyMicros": {
            "native": micros(native),
            "wasm": micros(wasm),
            "openssl": openssl.map(micros),
        },
        "p256VerifyWasmFuel": wasm_fuel,
        "ratios": {
            "wasmOverOpenssl": openssl.map(|o| wasm.as_secs_f64() / o.as_secs_f64()),
            "wasmOverNative": wasm.as_secs_f64() / native.as_secs_f64(),
        },
        "oneLayerVerdictMicros": {"native": micros(native_fixed), "wasm": micros(wasm_fixed)},
        "oneLayerVerdictWasmFuel": one_layer_fuel,
        "oneLayerSignatureCheckWasmFuel": signature_fuel,
        "verdictOverSignatureCheck": verdict_over_signature,
        "moduleBytes": {"ocisig.wasm": module_bytes},
        "keyTypeVerifyMicros": key_types,
        "keylessVerdictWasmFreshFuel": keyless.map(|k| k.3),
        "keylessVerdictMillis": keyless.map(|(native, wasm, reused, _)| json!({
            "nativePolicyParsedOnce": reused.as_secs_f64() * 1e3,
            "native": native.as_secs_f64() * 1e3,
            "wasm": wasm.as_secs_f64() * 1e3,
            "wasmOverNative": wasm.as_secs_f64() / native.as_secs_f64(),
        })),
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

/// The median time of one keyless image verdict, native and in the wasm module, on the real
/// kubewarden-controller v1.34.0 bundle under the production root; `None` without the shared
/// vectors.
fn keyless_verdict(rounds: usize) -> Option<(Duration, Duration, Duration, u64)> {
    let vectors = support::vectors_dir()?;
    let root: serde_json::Value = serde_json::from_slice(&support::read(
        &vectors.join("sigstore-trust-roots/production_trusted_root.sigstore-python.json"),
    ))
    .unwrap();
    let bundle =
        support::read(&vectors.join("sigstore-rs/bundle_v03_kubewarden-controller_v1.34.0.json"));
    let digest = "sha256:c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172";
    let evidence = support::evidence_with_referrers(
        "ghcr.io/kubewarden/kubewarden-controller:v1.34.0",
        digest,
        &[(support::referrer(digest, &bundle), Some(bundle))],
        None,
    );
    let policy = serde_json::to_vec(&json!({
        "identities": [{
            "issuer": "https://token.actions.githubusercontent.com",
            "subject": "https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0",
        }],
        "trustedRoot": root,
    }))
    .unwrap();
    let native = time(rounds, || {
        assert!(ocisig::verify_json(&policy, &evidence).verified());
    });
    let verifier = module();
    let wasm = time(rounds, || {
        assert!(verifier.run(&policy, &evidence).unwrap().verified);
    });
    // A fresh instance keeps nothing: every key (Fulcio CA, CT log, Rekor, TSA) is at its
    // first use.
    let fresh = verifier.run_fresh(&policy, &evidence).unwrap();
    assert!(fresh.verified);
    // What a host that keeps the parsed policy pays per image (the shim, OPA's setData,
    // Kubewarden's memo): the trusted root's chains are checked once, at parse.
    let parsed = ocisig::Policy::from_json(&policy).unwrap();
    let evidence = ocisig::Evidence::from_json(&evidence).unwrap();
    let reused = time(rounds, || {
        assert!(ocisig::verify(&parsed, &evidence).verified());
    });
    Some((native, wasm, reused, fresh.fuel_used))
}

/// Start-up of the embedded module: compiled from its bytes, and loaded from a warm
/// precompiled cache (what `ocisig` does from its second run on).
fn cold_start(rounds: usize) -> (Duration, Duration) {
    use ocisig_host::{ModuleLimits, VerifierModule, module::EMBEDDED_MODULE};
    let dir = std::env::temp_dir().join(format!("ocisig-bench-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let compile = time(rounds.min(5), || {
        VerifierModule::from_bytes_cached_in(EMBEDDED_MODULE, ModuleLimits::default(), None)
            .unwrap();
    });
    // Fill the cache once, then measure loads.
    VerifierModule::from_bytes_cached_in(EMBEDDED_MODULE, ModuleLimits::default(), Some(&dir))
        .unwrap();
    let cached = time(rounds, || {
        VerifierModule::from_bytes_cached_in(EMBEDDED_MODULE, ModuleLimits::default(), Some(&dir))
            .unwrap();
    });
    let _ = std::fs::remove_dir_all(&dir);
    (compile, cached)
}

/// The shipped artifacts in dist/ (0 when not built), and the browser page's wasm plus JS
/// gzipped the way a static host would serve them.
fn artifact_sizes() -> Vec<(&'static str, u64)> {
    let dist = support::repo_root().join("dist");
    let size = |name: &str| std::fs::metadata(dist.join(name)).map_or(0, |m| m.len());
    let web: Vec<std::path::PathBuf> = [
        "web/pkg/ocisig_web_bg.wasm",
        "web/pkg/ocisig_web.js",
        "web/app.js",
    ]
    .iter()
    .map(|name| dist.join(name))
    .collect();
    let web_gzipped = if web.iter().all(|path| path.is_file()) {
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg("cat \"$@\" | gzip -9 | wc -c")
            .arg("sh")
            .args(&web)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    } else {
        0
    };
    vec![
        ("dist/ocisig.wasm", size("ocisig.wasm")),
        (
            "dist/ocisig-kubewarden.wasm",
            size("ocisig-kubewarden.wasm"),
        ),
        ("dist/ocisig-opa.wasm", size("ocisig-opa.wasm")),
        ("dist/web wasm + JS, gzipped", web_gzipped),
    ]
}
