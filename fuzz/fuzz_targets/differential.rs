//! Structure-aware differential: start from real cosign-signed evidence (examples/signed) and
//! mutate it. The native core and the wasm module must give byte-identical verdicts, and once a
//! signed byte, the image digest or the key has changed, the verdict must not be `verified`.
#![no_main]

mod wasm_host;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const POLICY: &[u8] = include_bytes!("../../examples/signed/policy.json");
const EVIDENCE: &[u8] = include_bytes!("../../examples/signed/evidence.json");

fn flip(bytes: &mut [u8], at: usize, mask: u8) {
    if !bytes.is_empty() {
        let i = at % bytes.len();
        bytes[i] ^= mask.max(1);
    }
}

/// Mutates the evidence or policy as `data` says; returns whether a signed byte, the digest or
/// the key changed (so `verified` would be a forgery).
fn mutate(data: &[u8], policy: &mut Value, evidence: &mut Value) -> bool {
    let op = data.first().copied().unwrap_or(0);
    let at = usize::from(data.get(1).copied().unwrap_or(0)) << 8
        | usize::from(data.get(2).copied().unwrap_or(0));
    let mask = data.get(3).copied().unwrap_or(1);
    let mut manifest: Value =
        serde_json::from_str(evidence["signatureManifest"].as_str().unwrap()).unwrap();
    let layer_digest = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    match op % 5 {
        0 => {
            // A signed payload byte, with the descriptor updated so the signature is reached.
            let blob = evidence["blobs"][&layer_digest].as_str().unwrap();
            let mut payload = BASE64.decode(blob).unwrap();
            flip(&mut payload, at, mask);
            let digest = ocisig::Sha256Digest::of(&payload).to_string();
            evidence["blobs"] = serde_json::json!({ digest.clone(): BASE64.encode(&payload) });
            manifest["layers"][0]["digest"] = digest.into();
            manifest["layers"][0]["size"] = payload.len().into();
            evidence["signatureManifest"] = manifest.to_string().into();
            true
        }
        1 => {
            let annotation = "dev.cosignproject.cosign/signature";
            let mut signature = BASE64
                .decode(
                    manifest["layers"][0]["annotations"][annotation]
                        .as_str()
                        .unwrap(),
                )
                .unwrap();
            flip(&mut signature, at, mask);
            manifest["layers"][0]["annotations"][annotation] = BASE64.encode(&signature).into();
            evidence["signatureManifest"] = manifest.to_string().into();
            true
        }
        2 => {
            let mut digest = evidence["digest"].as_str().unwrap().as_bytes().to_vec();
            let i = 7 + at % 64;
            digest[i] = if digest[i] == b'0' { b'1' } else { b'0' };
            evidence["digest"] = String::from_utf8(digest).unwrap().into();
            true
        }
        3 => {
            let pem = policy["keys"][0]["publicKey"].as_str().unwrap();
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            let mut der = BASE64.decode(body).unwrap();
            flip(&mut der, at, mask);
            policy["keys"][0]["publicKey"] = format!(
                "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
                BASE64.encode(&der)
            )
            .into();
            true
        }
        _ => {
            // Unsigned parts: free to change, and the verdicts must still agree.
            evidence["image"] = String::from_utf8_lossy(&data[data.len().min(4)..])
                .into_owned()
                .into();
            false
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut policy: Value = serde_json::from_slice(POLICY).unwrap();
    let mut evidence: Value = serde_json::from_slice(EVIDENCE).unwrap();
    let forged = mutate(data, &mut policy, &mut evidence);
    let policy = serde_json::to_vec(&policy).unwrap();
    let evidence = serde_json::to_vec(&evidence).unwrap();
    let native = ocisig::verify_json(&policy, &evidence);
    let wasm = wasm_host::Guest::new().verify(&policy, &evidence);
    assert_eq!(native.to_json(), wasm, "native and wasm differ");
    if forged {
        assert!(
            !native.verified(),
            "a changed signed byte, digest or key verified: {}",
            native.to_json()
        );
    }
});
