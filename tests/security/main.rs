//! The security suite, verifier half: one test per known verifier bypass, named after its
//! advisory, each saying what the bug was. Every case runs through the native core, the raw
//! wasm module and the OPA module (`support::run`), which must agree byte for byte. The registry
//! half (hostile registries, the registry picking the digest) is `registry.rs`, run by the
//! `ocisig-host` package.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub,
    dead_code
)]

#[path = "../harness/support.rs"]
mod support;

use serde_json::{Value, json};
use support::{
    Layer, Signer, TestLog, cosign_payload, evidence, evidence_with_bundles, expect, hashedrekord,
    policy, run, sha256,
};

const IMAGE: &str = "registry.example/team/app:v1";

fn digest(name: &str) -> String {
    sha256(name.as_bytes())
}

fn signed_for(signer: &Signer, image_digest: &str) -> Layer {
    Layer::signed(
        signer,
        cosign_payload(image_digest, "registry.example/team/app", None),
    )
}

/// Sets annotations on layer `index` of an evidence document's `.sig` manifest.
fn with_annotations(evidence: &[u8], index: usize, annotations: &Value) -> Vec<u8> {
    let mut document: Value = serde_json::from_slice(evidence).unwrap();
    let mut manifest: Value =
        serde_json::from_str(document["signatureManifest"].as_str().unwrap()).unwrap();
    for (name, value) in annotations.as_object().unwrap() {
        manifest["layers"][index]["annotations"][name] = value.clone();
    }
    document["signatureManifest"] = manifest.to_string().into();
    serde_json::to_vec(&document).unwrap()
}

/// CVE-2022-21449 ("psychic signatures"): Java's ECDSA accepted r = s = 0 for any message and
/// key. A zero scalar is not a signature here, whatever the key.
#[test]
fn cve_2022_21449_a_zero_ecdsa_signature_verifies_nothing() {
    let alice = Signer::new("alice", 1);
    let d = digest("zero");
    let mut zero = signed_for(&alice, &d);
    zero.signature = Some("MAYCAQACAQA=".into()); // DER SEQUENCE { INTEGER 0, INTEGER 0 }
    let verdict = expect(
        &policy(&[&alice], json!({})),
        &evidence(IMAGE, &d, Some(&[zero])),
        "malformed_signature",
    );
    assert_eq!(verdict["satisfiedKeys"], json!([]));
}

fn rekor_policy(signer: &Signer, log: &TestLog) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(&policy(&[signer], json!({}))).unwrap();
    doc["rekor"] = json!({"publicKeys": [log.key.public_pem()], "mode": "require"});
    serde_json::to_vec(&doc).unwrap()
}

/// CVE-2022-23649: cosign accepted a valid Rekor bundle of *another* signature as proof that
/// this one was logged. The bundle's body must log this very signature.
#[test]
fn cve_2022_23649_a_bundle_of_another_signature_is_refused() {
    let alice = Signer::new("alice", 1);
    let log = TestLog {
        key: Signer::new("log", 30),
    };
    let d = digest("bundle-a");
    let good = signed_for(&alice, &d);
    let other = cosign_payload(&digest("bundle-b"), "registry.example/team/app", None);
    let other_signature = alice.sign(&other);
    let bundle = log.bundle(
        &hashedrekord(&other, &other_signature, &alice.public_pem()),
        1,
    );
    let e = evidence_with_bundles(IMAGE, &d, &[(good, Some(bundle))]);
    let verdict = expect(&rekor_policy(&alice, &log), &e, "tlog_verification_failed");
    assert!(verdict["message"].as_str().unwrap().contains("another"));
}

/// CVE-2026-22703: a bundle whose entry was made with another key (the attacker's) was taken
/// as proof for a signature by the trusted key. The entry's key must be the policy key that
/// verified the layer.
#[test]
fn cve_2026_22703_a_bundle_of_another_key_is_refused() {
    let (alice, mallory) = (Signer::new("alice", 1), Signer::new("mallory", 9));
    let log = TestLog {
        key: Signer::new("log", 30),
    };
    let d = digest("bundle-key");
    let good = signed_for(&alice, &d);
    let signature = good.signature.clone().unwrap();
    let bundle = log.bundle(
        &hashedrekord(&good.payload, &signature, &mallory.public_pem()),
        1,
    );
    let e = evidence_with_bundles(IMAGE, &d, &[(good, Some(bundle))]);
    let verdict = expect(&rekor_policy(&alice, &log), &e, "tlog_verification_failed");
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("another public key")
    );
}

/// GHSA-fx35-mq7g-6g98: a certificate field holding a bare public key was used to verify the
/// signature instead of the configured key. Annotations and bundles are never keys here.
#[test]
fn ghsa_fx35_mq7g_6g98_a_key_in_an_annotation_never_replaces_the_policy_key() {
    let (alice, mallory) = (Signer::new("alice", 1), Signer::new("mallory", 9));
    let d = digest("cert-field");
    let forged = signed_for(&mallory, &d);
    let e = evidence(IMAGE, &d, Some(&[forged]));
    let e = with_annotations(
        &e,
        0,
        &json!({
            "dev.sigstore.cosign/certificate": mallory.public_pem(),
            "dev.sigstore.cosign/chain": mallory.public_pem(),
        }),
    );
    expect(&policy(&[&alice], json!({})), &e, "no_matching_signature");
}

/// CVE-2023-46737 and CVE-2024-29903: cosign fetched and processed every signature of a
/// manifest with any number of layers (memory and time exhaustion). The count cap is checked
/// before any layer is looked at: no layer result exists, even though no blob is present.
#[test]
fn cve_2023_46737_and_cve_2024_29903_layer_caps_come_before_per_layer_work() {
    let alice = Signer::new("alice", 1);
    let d = digest("many");
    let mut missing = signed_for(&alice, &d);
    missing.blob = None;
    let layers = vec![missing.clone(); 1001];
    let verdict = expect(
        &policy(&[&alice], json!({})),
        &evidence(IMAGE, &d, Some(&layers)),
        "limit_exceeded",
    );
    assert_eq!(verdict["signatures"], json!([]));
    let small = policy(&[&alice], json!({"limits": {"maxLayers": 5}}));
    let six = vec![missing; 6];
    let verdict = expect(&small, &evidence(IMAGE, &d, Some(&six)), "limit_exceeded");
    assert_eq!(verdict["signatures"], json!([]));
}

/// GHSA-88jx-383q-w4qc: payloads and manifests were read whole before any size check. Here a
/// layer whose descriptor is over `maxPayloadBytes` is refused from the descriptor alone (its
/// blob is not even present), and a manifest over `maxManifestBytes` before it is parsed.
#[test]
fn ghsa_88jx_383q_w4qc_size_caps_come_before_reading() {
    let alice = Signer::new("alice", 1);
    let d = digest("sizes");
    let mut huge = signed_for(&alice, &d);
    huge.size = Some(262_145);
    huge.blob = None;
    let verdict = expect(
        &policy(&[&alice], json!({})),
        &evidence(IMAGE, &d, Some(&[huge])),
        "limit_exceeded",
    );
    assert!(
        verdict["message"].as_str().unwrap().contains("262145"),
        "{verdict:#}"
    );
    let tiny = policy(&[&alice], json!({"limits": {"maxManifestBytes": 64}}));
    expect(
        &tiny,
        &evidence(IMAGE, &d, Some(&[signed_for(&alice, &d)])),
        "limit_exceeded",
    );
}

/// A valid signature of image A presented for image B (the `.sig` copied to B's tag), in the
/// same repository and across repositories: the claim names A's digest, so B is refused.
#[test]
fn a_signature_for_image_a_is_not_a_signature_for_image_b() {
    let alice = Signer::new("alice", 1);
    let (a, b) = (digest("image-a"), digest("image-b"));
    let for_a = signed_for(&alice, &a);
    let p = policy(&[&alice], json!({}));
    expect(
        &p,
        &evidence(IMAGE, &a, Some(std::slice::from_ref(&for_a))),
        "verified",
    );
    expect(
        &p,
        &evidence(IMAGE, &b, Some(std::slice::from_ref(&for_a))),
        "claim_digest_mismatch",
    );
    let elsewhere = "other.example/elsewhere/tool:v1";
    expect(
        &p,
        &evidence(elsewhere, &b, Some(std::slice::from_ref(&for_a))),
        "claim_digest_mismatch",
    );
    // Even for A's own digest, another repository is refused when the policy asks.
    let strict = policy(&[&alice], json!({"matchReference": true}));
    expect(
        &strict,
        &evidence(elsewhere, &a, Some(&[for_a])),
        "reference_mismatch",
    );
}

// --- Parser differentials: what one parser accepts and another reads differently.

fn signed_payload_case(payload: Vec<u8>) -> (Vec<u8>, Vec<u8>) {
    let alice = Signer::new("alice", 1);
    let d = digest("parser");
    let layer = Layer::signed(&alice, payload);
    (
        policy(&[&alice], json!({})),
        evidence(IMAGE, &d, Some(&[layer])),
    )
}

#[test]
fn duplicate_json_keys_are_refused_everywhere() {
    let alice = Signer::new("alice", 1);
    let d = digest("parser");
    // In a signed payload: Go would take the last digest, a first-wins parser the first.
    let payload = format!(
        "{{\"critical\":{{\"identity\":{{\"docker-reference\":\"r\"}},\"image\":{{\"docker-manifest-digest\":\"{}\",\"docker-manifest-digest\":\"{d}\"}},\"type\":\"cosign container image signature\"}},\"optional\":null}}",
        digest("other")
    );
    let (p, e) = signed_payload_case(payload.into_bytes());
    expect(&p, &e, "malformed_payload");
    // In the policy and in the evidence.
    let dup_policy = br#"{"keys":[],"threshold":1,"threshold":2}"#;
    expect(dup_policy, &evidence(IMAGE, &d, None), "invalid_policy");
    let good = policy(&[&alice], json!({}));
    let dup_evidence = format!(
        r#"{{"image":"{IMAGE}","digest":"{d}","digest":"{}"}}"#,
        digest("x")
    );
    expect(&good, dup_evidence.as_bytes(), "invalid_evidence");
}

#[test]
fn keys_that_differ_only_in_case_are_refused() {
    let d = digest("parser");
    let payload = format!(
        "{{\"critical\":{{\"identity\":{{\"docker-reference\":\"r\"}},\"image\":{{\"docker-manifest-digest\":\"{d}\",\"Docker-Manifest-Digest\":\"{}\"}},\"type\":\"cosign container image signature\"}},\"optional\":null}}",
        digest("other")
    );
    let (p, e) = signed_payload_case(payload.into_bytes());
    expect(&p, &e, "malformed_payload");
}

#[test]
fn invalid_utf8_is_refused() {
    let alice = Signer::new("alice", 1);
    let mut payload = cosign_payload(&digest("parser"), "registry.example/team/app", None);
    let at = payload.len() - 10;
    payload[at] = 0xff;
    let (p, e) = signed_payload_case(payload);
    expect(&p, &e, "malformed_payload");
    let mut bad_evidence = evidence(IMAGE, &digest("parser"), None);
    bad_evidence.splice(9..9, [0xc3, 0x28]);
    expect(
        &policy(&[&alice], json!({})),
        &bad_evidence,
        "invalid_evidence",
    );
}

#[test]
fn json_nested_100000_deep_is_a_clean_error_natively_and_in_wasm() {
    let alice = Signer::new("alice", 1);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let evidence_doc = format!(
        r#"{{"image":"x","digest":"{}","blobs":{deep}}}"#,
        digest("x")
    );
    expect(
        &policy(&[&alice], json!({})),
        evidence_doc.as_bytes(),
        "invalid_evidence",
    );
    let policy_doc = format!(r#"{{"keys":{deep}}}"#);
    expect(
        policy_doc.as_bytes(),
        &evidence(IMAGE, &digest("x"), None),
        "invalid_policy",
    );
}

#[test]
fn base64_with_whitespace_or_the_url_safe_alphabet_is_refused() {
    let alice = Signer::new("alice", 1);
    let d = digest("b64");
    let good = signed_for(&alice, &d);
    let signature = good.signature.clone().unwrap();
    let p = policy(&[&alice], json!({}));
    let wrapped = format!("{}\n{}", &signature[..20], &signature[20..]);
    let url_safe = signature.replace('+', "-").replace('/', "_");
    for variant in [wrapped, format!(" {signature}"), url_safe] {
        if variant == signature {
            continue; // this signature happened to hold no + or /
        }
        let mut layer = good.clone();
        layer.signature = Some(variant);
        let verdict = run(&p, &evidence(IMAGE, &d, Some(&[layer])));
        assert_eq!(verdict["verified"], false);
        assert_eq!(verdict["reason"], "malformed_signature");
    }
    // The same signature, standard and padded, verifies: the refusals are about encoding.
    expect(&p, &evidence(IMAGE, &d, Some(&[good])), "verified");
}
