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
    IN_TOTO, Layer, SIGN_V1, Signer, TestLog, bundle, bundle_signing, cosign_payload, evidence,
    evidence_with_bundles, evidence_with_referrers, expect, hashedrekord, pae, policy, referrer,
    run, sha256, statement,
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

// Sigstore bundles (cosign v3), issue #15.

/// A referrer of `IMAGE`@`image_digest` whose bundle has this JSON.
fn bundle_referrer(bundle: &Value, image_digest: &str) -> support::Referrer {
    let bytes = bundle.to_string().into_bytes();
    (referrer(image_digest, &bytes), Some(bytes))
}

/// GHSA-fx35-mq7g-6g98, for bundles: a bundle's `publicKey.hint` is only a hint. A hint that
/// names the policy key does not make another key's signature count, and a hint that names
/// another key does not stop the policy key's from counting.
#[test]
fn ghsa_fx35_mq7g_6g98_a_bundle_key_hint_never_chooses_the_key() {
    let (alice, mallory) = (Signer::new("alice", 1), Signer::new("mallory", 9));
    let d = digest("hint");
    let p = policy(&[&alice], json!({}));
    let alice_hint = {
        let key = ocisig::PublicKey::from_pem(&alice.public_pem()).unwrap();
        base64_encode(key.fingerprint().as_bytes())
    };
    let mut forged: Value =
        serde_json::from_slice(&bundle(&mallory, &statement(&d, SIGN_V1, None))).unwrap();
    forged["verificationMaterial"]["publicKey"]["hint"] = json!(alice_hint);
    let e = evidence_with_referrers(IMAGE, &d, &[bundle_referrer(&forged, &d)], None);
    expect(&p, &e, "no_matching_signature");
    let mut honest: Value =
        serde_json::from_slice(&bundle(&alice, &statement(&d, SIGN_V1, None))).unwrap();
    honest["verificationMaterial"]["publicKey"]["hint"] = json!("bWFsbG9yeQ==");
    let e = evidence_with_referrers(IMAGE, &d, &[bundle_referrer(&honest, &d)], None);
    expect(&p, &e, "verified");
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// DSSE's PAE binds the payload type: a signature made over the same payload under another
/// type (a verifier that signs or checks the bare payload would accept it) does not verify.
#[test]
fn dsse_a_signature_over_another_payload_type_is_refused() {
    let alice = Signer::new("alice", 1);
    let d = digest("pae");
    let payload = statement(&d, SIGN_V1, None);
    for signed in [pae("text/plain", &payload), payload.clone()] {
        let forged: Value =
            serde_json::from_slice(&bundle_signing(&alice, IN_TOTO, &payload, &signed)).unwrap();
        let e = evidence_with_referrers(IMAGE, &d, &[bundle_referrer(&forged, &d)], None);
        expect(&policy(&[&alice], json!({})), &e, "no_matching_signature");
    }
}

/// GHSA-w6c6-c85g-mmv6: `cosign verify-attestation` did not check the predicate type, and
/// `cosign verify` still accepts any bundle the key signed. Here an attestation (an SBOM, a
/// provenance) never counts as an image signature.
#[test]
fn ghsa_w6c6_c85g_mmv6_an_attestation_is_never_a_signature() {
    let alice = Signer::new("alice", 1);
    let d = digest("attestation");
    for predicate_type in [
        "https://slsa.dev/provenance/v1",
        "https://spdx.dev/Document",
        "https://sigstore.dev/cosign/sign/v2",
        "https://sigstore.dev/cosign/sign/v1/",
    ] {
        let b: Value =
            serde_json::from_slice(&bundle(&alice, &statement(&d, predicate_type, None))).unwrap();
        let e = evidence_with_referrers(IMAGE, &d, &[bundle_referrer(&b, &d)], None);
        expect(&policy(&[&alice], json!({})), &e, "not_a_signature");
    }
}

/// CVE-2022-36056 (and CVE-2022-23649 for bundles): a bundle's log entry must record this very
/// envelope's payload, signature and the policy key, or a valid entry of another signature
/// (or by another key) would vouch for it. Each lie is refused even with a genuine SET by a
/// trusted log.
#[test]
fn cve_2022_36056_a_bundle_log_entry_of_another_envelope_is_refused() {
    let (alice, mallory) = (Signer::new("alice", 1), Signer::new("mallory", 9));
    let log = TestLog {
        key: Signer::new("log", 30),
    };
    let d = digest("entry");
    let payload = statement(&d, SIGN_V1, None);
    let genuine: Value = serde_json::from_slice(&bundle(&alice, &payload)).unwrap();
    let signature = genuine["dsseEnvelope"]["signatures"][0]["sig"]
        .as_str()
        .unwrap()
        .to_string();
    let dsse_body = |payload_hash: &str, sig: &str, key: &str| {
        json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "envelopeHash": {"algorithm": "sha256", "value": "00"},
                "payloadHash": {"algorithm": "sha256", "value": payload_hash},
                "signatures": [{"signature": sig, "verifier": base64_encode(key.as_bytes())}],
            },
        })
    };
    let hash = sha256(&payload).trim_start_matches("sha256:").to_string();
    let other_hash = sha256(b"other").trim_start_matches("sha256:").to_string();
    let with_entry = |body: &Value| -> Vec<u8> {
        let body_b64 = base64_encode(body.to_string().as_bytes());
        let canonical = json!({
            "body": body_b64, "integratedTime": 1_700_000_000, "logID": log.log_id(), "logIndex": 42,
        })
        .to_string();
        let mut b = genuine.clone();
        b["mediaType"] = json!("application/vnd.dev.sigstore.bundle+json;version=0.1");
        b["verificationMaterial"]["tlogEntries"] = json!([{
            "logIndex": "42",
            "logId": {"keyId": base64_encode(&hex_bytes(&log.log_id()))},
            "kindVersion": {"kind": "dsse", "version": "0.0.1"},
            "integratedTime": "1700000000",
            "inclusionPromise": {"signedEntryTimestamp": log.key.sign(canonical.as_bytes())},
            "canonicalizedBody": body_b64,
        }]);
        evidence_with_referrers(IMAGE, &d, &[bundle_referrer(&b, &d)], None)
    };
    let p = rekor_policy(&alice, &log);
    let verdict = expect(
        &p,
        &with_entry(&dsse_body(&hash, &signature, &alice.public_pem())),
        "verified",
    );
    assert_eq!(verdict["bundles"][0]["logIndex"], 42);
    for (body, says) in [
        (
            dsse_body(&other_hash, &signature, &alice.public_pem()),
            "another payload",
        ),
        (
            dsse_body(&hash, &alice.sign(b"other"), &alice.public_pem()),
            "another signature",
        ),
        (
            dsse_body(&hash, &signature, &mallory.public_pem()),
            "another public key",
        ),
    ] {
        let verdict = expect(&p, &with_entry(&body), "tlog_verification_failed");
        assert!(
            verdict["message"].as_str().unwrap().contains(says),
            "{says}: {verdict:#}"
        );
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// A bundle copied from another image's referrers: its referrer names that image, and its
/// statement is about it. Refused for the first reason, before any signature work.
#[test]
fn a_bundle_of_another_image_is_refused() {
    let alice = Signer::new("alice", 1);
    let (mine, theirs) = (digest("mine"), digest("theirs"));
    let b: Value =
        serde_json::from_slice(&bundle(&alice, &statement(&theirs, SIGN_V1, None))).unwrap();
    let copied = evidence_with_referrers(IMAGE, &mine, &[bundle_referrer(&b, &theirs)], None);
    expect(&policy(&[&alice], json!({})), &copied, "subject_mismatch");
    // Re-parented to this image by a new referrer manifest: the signed statement still names
    // the other image.
    let reparented = evidence_with_referrers(IMAGE, &mine, &[bundle_referrer(&b, &mine)], None);
    expect(
        &policy(&[&alice], json!({})),
        &reparented,
        "claim_digest_mismatch",
    );
}

/// CVE-2022-36056 on sigstore-python's own asset: a keyless bundle that is valid except that
/// its log entry (genuine, by the trusted staging log) records an unrelated signature over the
/// same input. Under a policy that trusts any identity, the bundle beside it, made the same
/// way with its own entry, verifies; this one is refused for its log entry, whatever the
/// identity.
#[test]
fn cve_2022_36056_sigstore_pythons_keyless_bundle_with_an_unrelated_log_entry() {
    let Some(vectors) = support::vectors_dir() else {
        return;
    };
    let assets = vectors.join("sigstore-python/test/assets");
    let root: Value = serde_json::from_slice(&support::read(
        &vectors.join("sigstore-trust-roots/staging_trusted_root.sigstore-python.json"),
    ))
    .unwrap();
    let policy = serde_json::to_vec(&json!({
        "identities": [{"issuerRegExp": ".*", "subjectRegExp": ".*"}],
        "trustedRoot": root,
        "rekor": {"mode": "require"},
    }))
    .unwrap();
    let policy = ocisig::Policy::from_json(&policy).unwrap();
    let check = |name: &str| {
        let artifact = support::read(&assets.join(name));
        let bundle = support::read(&assets.join(format!("{name}.sigstore")));
        ocisig::verify_artifact_bundle(&policy, &bundle, &ocisig::Sha256Digest::of(&artifact))
    };
    let control = check("bundle_v3.txt");
    assert!(control.verified(), "{}", control.to_json());
    let verdict = check("bundle_cve_2022_36056.txt");
    assert_eq!(
        verdict.reason(),
        ocisig::Reason::TlogVerificationFailed,
        "{}",
        verdict.to_json()
    );
    assert!(verdict.to_json().contains("logs another signature"));
}

/// Issue #28, found by an adversarial review of keyless verification: a Fulcio-style leaf with
/// a critical extension nobody processes, a timestamp authority's certificate with one (the
/// timestamp the only proven time), and a timestamp authority whose `timeStamping` extended
/// key usage is not critical all verified. RFC 5280 §4.2: a certificate with a critical
/// extension the verifier does not process must be refused; RFC 3161 §2.3: the TSA's one
/// extended key usage must be critical. cosign 2.5 and sigstore-python refuse all three, and
/// now so does ocisig, in one path validator (`ocisig::x509::path`). The PKI is the test's own
/// (`ocisig-testpki`): valid but for the one fault, every certificate re-signed.
#[test]
fn issue_28_unknown_critical_extensions_and_a_non_critical_tsa_usage_are_refused() {
    use ocisig_testpki::{Extension, ISSUER, Proof, SUBJECT, Spec, oid, position};
    let image_digest = digest("issue 28");
    let check = |spec: &Spec, reason: &str, says: &str| {
        let pki = spec.build();
        let bundle = pki.image_bundle(&image_digest, Proof::TimestampOnly);
        let evidence = evidence_with_referrers(
            IMAGE,
            &image_digest,
            &[(referrer(&image_digest, &bundle), Some(bundle))],
            None,
        );
        let policy = serde_json::to_vec(&json!({
            "identities": [{"issuer": ISSUER, "subject": SUBJECT}],
            "trustedRoot": pki.trusted_root(),
        }))
        .unwrap();
        let verdict = expect(&policy, &evidence, reason);
        let message = verdict["bundles"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    };
    check(&Spec::valid(), "verified", SUBJECT);

    let mut leaf = Spec::valid();
    leaf.leaf.extensions.push(Extension::unknown_critical());
    check(
        &leaf,
        "untrusted_certificate",
        "the leaf certificate has a critical extension ocisig does not process (1.3.6.1.4.1.57264.99.1)",
    );

    let mut tsa = Spec::valid();
    tsa.tsa_leaf.extensions.push(Extension::unknown_critical());
    check(
        &tsa,
        "timestamp_invalid",
        "the timestamp authority's certificate path does not hold: the leaf certificate has a \
         critical extension ocisig does not process (1.3.6.1.4.1.57264.99.1)",
    );

    let mut usage = Spec::valid();
    let at = position(&usage.tsa_leaf, oid::EXT_KEY_USAGE).unwrap();
    usage.tsa_leaf.extensions[at] = Extension::ext_key_usage(&[oid::TIME_STAMPING], false);
    check(
        &usage,
        "timestamp_invalid",
        "its timeStamping extended key usage is not critical (RFC 3161 §2.3)",
    );
}
