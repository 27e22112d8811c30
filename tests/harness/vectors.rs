//! Real cosign signatures from other projects, read from `../shared/vectors` (never copied
//! here). See that folder's PROVENANCE.md for where each set comes from.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::support::*;

const ALICE_IMAGE: &str = "sha256:071bf7a986f1ca9cb2a1f0bc8392822a7777f90d58f2d2c6f271913e08de7c81";
const ABC_IMAGE: &str = "sha256:bfec161fecb0a887df7cb85e4da327c65986ccda7060cf3cd92171c6c90d7533";
const TESTIMAGE: &str = "securesystemsengineering/testimage";

fn connaisseur(vectors: &Path) -> PathBuf {
    vectors.join("connaisseur/test/testdata/cosign")
}

fn key(vectors: &Path, name: &str) -> Value {
    let pem = read_text(&connaisseur(vectors).join(format!("{name}.key")));
    json!({"name": name, "publicKey": pem})
}

fn policy_of(vectors: &Path, names: &[&str], extra: Value) -> Vec<u8> {
    let mut doc = json!({"keys": names.iter().map(|n| key(vectors, n)).collect::<Vec<_>>()});
    if let (Some(doc), Value::Object(extra)) = (doc.as_object_mut(), extra) {
        doc.extend(extra);
    }
    serde_json::to_vec(&doc).unwrap()
}

/// Evidence for `digest` from a `.sig` manifest file and the connaisseur blob folder.
fn connaisseur_evidence(vectors: &Path, image: &str, digest: &str, manifest: &Path) -> Vec<u8> {
    let blob_dir = connaisseur(vectors).join("securesystemsengineering/testimage/blobs");
    let mut blobs = serde_json::Map::new();
    for entry in std::fs::read_dir(&blob_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        blobs.insert(name, BASE64.encode(read(&path)).into());
    }
    serde_json::to_vec(&json!({
        "image": image,
        "digest": digest,
        "signatureManifest": read_text(manifest),
        "blobs": blobs,
    }))
    .unwrap()
}

fn sig_manifest_path(vectors: &Path, digest: &str) -> PathBuf {
    connaisseur(vectors).join(format!(
        "securesystemsengineering/testimage/manifests/sha256-{}.sig.json",
        digest.trim_start_matches("sha256:")
    ))
}

#[test]
fn connaisseur_alice_verifies_with_alice_only() {
    let Some(v) = vectors_dir() else { return };
    let e = connaisseur_evidence(
        &v,
        &format!("{TESTIMAGE}:multi-cosigned-alice"),
        ALICE_IMAGE,
        &sig_manifest_path(&v, ALICE_IMAGE),
    );
    let verdict = expect(
        &policy_of(&v, &["alice"], json!({"matchReference": true})),
        &e,
        "verified",
    );
    assert_eq!(verdict["satisfiedKeys"], json!(["alice"]));
    expect(
        &policy_of(&v, &["bob", "charlie"], json!({})),
        &e,
        "no_matching_signature",
    );
    expect(
        &policy_of(&v, &["default"], json!({})),
        &e,
        "no_matching_signature",
    );
    expect(
        &policy_of(&v, &["alice", "bob"], json!({"threshold": 2})),
        &e,
        "threshold_not_met",
    );
    expect(
        &policy_of(&v, &["alice", "bob"], json!({"required": ["bob"]})),
        &e,
        "required_key_missing",
    );
}

#[test]
fn connaisseur_alice_bob_charlie_meets_thresholds_one_to_three() {
    let Some(v) = vectors_dir() else { return };
    let e = connaisseur_evidence(
        &v,
        &format!("{TESTIMAGE}:multi-cosigned-alice-bob-charlie"),
        ABC_IMAGE,
        &sig_manifest_path(&v, ABC_IMAGE),
    );
    let all = ["alice", "bob", "charlie", "default"];
    for threshold in 1..=3 {
        let verdict = expect(
            &policy_of(&v, &all, json!({"threshold": threshold})),
            &e,
            "verified",
        );
        assert_eq!(
            verdict["satisfiedKeys"].as_array().unwrap().len(),
            threshold
        );
    }
    // Three signers cannot make four distinct keys.
    expect(
        &policy_of(&v, &all, json!({"threshold": 4})),
        &e,
        "threshold_not_met",
    );
    let verdict = expect(
        &policy_of(&v, &all, json!({"required": ["charlie"]})),
        &e,
        "verified",
    );
    assert_eq!(verdict["satisfiedKeys"], json!(["alice", "bob", "charlie"]));
    expect(
        &policy_of(&v, &all, json!({"required": ["default"]})),
        &e,
        "required_key_missing",
    );
    expect(
        &policy_of(&v, &["default"], json!({})),
        &e,
        "no_matching_signature",
    );
}

/// A sigstore-rs set (a payload and a signature), wrapped in a `.sig` manifest here.
fn sigstore_rs_single(v: &Path, set: &str, image: &str) -> Vec<u8> {
    let dir = v.join("sigstore-rs").join(set);
    let payload = read(&dir.join("payload.json"));
    let signature = read_text(&dir.join("signature.b64")).trim().to_string();
    let claimed: Value = serde_json::from_slice(&payload).unwrap();
    let digest = claimed["critical"]["image"]["docker-manifest-digest"]
        .as_str()
        .unwrap();
    evidence(image, digest, Some(&[layer(payload, &signature)]))
}

fn sigstore_rs_key(v: &Path, set: &str) -> String {
    read_text(&v.join("sigstore-rs").join(set).join("cosign.pub"))
}

#[test]
fn sigstore_rs_p256_busybox_verifies() {
    let Some(v) = vectors_dir() else { return };
    let e = sigstore_rs_single(
        &v,
        "ecdsa-p256-busybox",
        "registry-testing.svc.lan/busybox:latest",
    );
    let own = json!({"keys": [{"name": "busybox", "publicKey": sigstore_rs_key(&v, "ecdsa-p256-busybox")}], "matchReference": true});
    expect(&serde_json::to_vec(&own).unwrap(), &e, "verified");
    let wrong = json!({"keys": [{"name": "wrong", "publicKey": read_text(&v.join("sigstore-rs/wrong-key.pub"))}]});
    expect(
        &serde_json::to_vec(&wrong).unwrap(),
        &e,
        "no_matching_signature",
    );
}

/// RSA-2048, PKCS#1 v1.5 with SHA-256, signed by OBS for SUSE's toolbox image.
#[test]
fn sigstore_rs_rsa_2048_suse_toolbox_verifies() {
    let Some(v) = vectors_dir() else { return };
    let e = sigstore_rs_single(
        &v,
        "rsa-2048-suse-toolbox",
        "registry.suse.com/suse/sle-micro/5.0/toolbox:latest",
    );
    let own = json!({
        "keys": [{"name": "obs", "publicKey": sigstore_rs_key(&v, "rsa-2048-suse-toolbox")}],
        "annotations": {"creator": "OBS"},
        "matchReference": true,
    });
    let verdict = expect(&serde_json::to_vec(&own).unwrap(), &e, "verified");
    assert!(
        verdict["signatures"][0]["message"]
            .as_str()
            .unwrap()
            .contains("rsa-2048-pkcs1v15-sha256"),
        "{verdict:#}"
    );
    // Under ECDSA keys, 256 bytes of RSA signature are not even a DER ECDSA signature.
    for other in ["wrong-key.pub", "ecdsa-p256-busybox/cosign.pub"] {
        let wrong = json!({"keys": [{"name": "other", "publicKey": read_text(&v.join("sigstore-rs").join(other))}]});
        expect(
            &serde_json::to_vec(&wrong).unwrap(),
            &e,
            "malformed_signature",
        );
    }
    // PSS is not what signed it.
    let pss = json!({"keys": [{"name": "obs", "publicKey": sigstore_rs_key(&v, "rsa-2048-suse-toolbox"), "scheme": "pss"}]});
    expect(
        &serde_json::to_vec(&pss).unwrap(),
        &e,
        "no_matching_signature",
    );
}

fn derived(v: &Path, case: &str) -> PathBuf {
    v.join("derived-negative").join(case)
}

fn derived_policy(dir: &Path) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"keys": [{"name": "alice", "publicKey": read_text(&dir.join("cosign.pub"))}]}),
    )
    .unwrap()
}

/// Evidence from a derived case's `.sig` manifest, with its payload served under the digest
/// the manifest names (as a lying registry would).
fn derived_evidence(dir: &Path, digest: &str) -> Vec<u8> {
    let manifest = read_text(&dir.join("sig-manifest.json"));
    let parsed: Value = serde_json::from_str(&manifest).unwrap();
    let mut blobs = serde_json::Map::new();
    if dir.join("payload.json").exists() {
        let layer_digest = parsed["layers"][0]["digest"].as_str().unwrap();
        blobs.insert(
            layer_digest.into(),
            BASE64.encode(read(&dir.join("payload.json"))).into(),
        );
    }
    serde_json::to_vec(&json!({"image": TESTIMAGE, "digest": digest, "signatureManifest": manifest, "blobs": blobs})).unwrap()
}

#[test]
fn derived_negative_cases_are_refused_each_for_its_reason() {
    let Some(v) = vectors_dir() else { return };
    let cases = [
        (
            "tampered-payload-byte",
            ALICE_IMAGE,
            "payload_digest_mismatch",
        ),
        ("layer-size-mismatch", ALICE_IMAGE, "payload_size_mismatch"),
        ("wrong-layer-mediatype", ALICE_IMAGE, "wrong_media_type"),
        ("too-many-layers-1001", ALICE_IMAGE, "limit_exceeded"),
    ];
    for (case, digest, reason) in cases {
        let dir = derived(&v, case);
        let verdict = expect(
            &derived_policy(&dir),
            &derived_evidence(&dir, digest),
            reason,
        );
        eprintln!("{case}: {}", verdict["message"]);
    }
    let dir = derived(&v, "claim-digest-mismatch");
    let target = read_text(&dir.join("target-digest.txt")).trim().to_string();
    assert_eq!(target, ABC_IMAGE);
    expect(
        &derived_policy(&dir),
        &derived_evidence(&dir, &target),
        "claim_digest_mismatch",
    );
    // And the same bytes are fine for the image they were made for: the refusal is the claim.
    expect(
        &derived_policy(&dir),
        &derived_evidence(&dir, ALICE_IMAGE),
        "verified",
    );
}

#[test]
fn derived_zero_signature_is_refused() {
    // CVE-2022-21449: r = s = 0 must never verify.
    let Some(v) = vectors_dir() else { return };
    let dir = derived(&v, "ecdsa-zero-signature");
    let payload = read(&dir.join("payload.json"));
    let layer = Layer {
        media_type: ocisig::SIMPLE_SIGNING_MEDIA_TYPE.into(),
        signature: Some(read_text(&dir.join("signature.b64")).trim().to_string()),
        blob: Some(payload.clone()),
        payload,
        size: None,
        digest: None,
    };
    expect(
        &derived_policy(&dir),
        &evidence(TESTIMAGE, ALICE_IMAGE, Some(&[layer])),
        "malformed_signature",
    );
}
