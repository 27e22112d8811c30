//! Offline Rekor bundle checks: the real sigstore-rs `rekord` bundle and the derived negative
//! cases, and bundles made here with a test log key for each way a bundle can lie.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::support::{
    Signer, TestLog, cosign_payload, evidence_with_bundles, expect, hashedrekord, layer, policy,
    read, read_text, sha256, vectors_dir,
};

fn pem_of_der(der_b64: &str) -> String {
    let lines: Vec<String> = der_b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}

fn trusted_root(v: &Path) -> Value {
    serde_json::from_slice(&read(
        &v.join("sigstore-trust-roots/production_trusted_root.sigstore-python.json"),
    ))
    .unwrap()
}

fn with_key(pem: &str, rekor: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"keys": [{"name": "signer", "publicKey": pem}], "rekor": rekor}))
        .unwrap()
}

#[test]
fn the_sigstore_rs_rekord_bundle_verifies_offline() {
    let Some(v) = vectors_dir() else { return };
    let dir = v.join("sigstore-rs/ecdsa-p256-busybox-rekord-bundle");
    let payload = read(&dir.join("payload.json"));
    let claimed: Value = serde_json::from_slice(&payload).unwrap();
    let digest = claimed["critical"]["image"]["docker-manifest-digest"]
        .as_str()
        .unwrap()
        .to_string();
    let signature = read_text(&dir.join("signature.b64")).trim().to_string();
    let bundle = read_text(&dir.join("bundle.json"));
    let pem = read_text(&dir.join("cosign.pub"));
    let image = "registry-testing.svc.lan/busybox:latest";
    let with_bundle = evidence_with_bundles(
        image,
        &digest,
        &[(layer(payload.clone(), &signature), Some(bundle.clone()))],
    );
    let without = evidence_with_bundles(image, &digest, &[(layer(payload, &signature), None)]);

    // From a trusted_root.json, and from the log's PEM key.
    let root = trusted_root(&v);
    let require = with_key(&pem, json!({"trustedRoot": root, "mode": "require"}));
    let verdict = expect(&require, &with_bundle, "verified");
    assert_eq!(verdict["signatures"][0]["integratedTime"], 1_634_714_179);
    let schemas = (
        crate::schema::schema("policy"),
        crate::schema::schema("verdict"),
    );
    let require_doc: Value = serde_json::from_slice(&require).unwrap();
    crate::schema::assert_valid(&schemas.0, &require_doc, "rekor policy");
    crate::schema::assert_valid(&schemas.1, &verdict, "verdict with a log entry");
    assert_eq!(verdict["signatures"][0]["logIndex"], 783_606);
    let rekor_pem = pem_of_der(root["tlogs"][0]["publicKey"]["rawBytes"].as_str().unwrap());
    let by_pem = with_key(&pem, json!({"publicKeys": [rekor_pem]}));
    expect(&by_pem, &with_bundle, "verified");

    // require without a bundle; verify-if-present (the default with keys) without one.
    expect(&require, &without, "tlog_missing");
    let verdict = expect(&by_pem, &without, "verified");
    assert!(verdict["signatures"][0].get("integratedTime").is_none());

    // The staging log's key is not the production log's: the logID names no trusted key.
    let staging: Value = serde_json::from_slice(&read(
        &v.join("sigstore-trust-roots/staging_trusted_root.sigstore-python.json"),
    ))
    .unwrap();
    let wrong_log = with_key(&pem, json!({"trustedRoot": staging}));
    let verdict = expect(&wrong_log, &with_bundle, "tlog_verification_failed");
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("not a trusted Rekor key")
    );
}

/// The derived negative cases: a bundle swapped from another signature by the same key, and a
/// SET whose integratedTime was changed. Both signatures verify; both bundles must not.
#[test]
fn swapped_and_modified_bundles_are_refused_for_their_reasons() {
    let Some(v) = vectors_dir() else { return };
    let root = trusted_root(&v);
    for (case, why) in [
        ("rekor-bundle-swapped", "another payload"),
        (
            "rekor-set-integratedtime-modified",
            "SignedEntryTimestamp does not verify",
        ),
    ] {
        let dir = v.join("derived-negative").join(case);
        let download: Value =
            serde_json::from_slice(&read(&dir.join("cosign-download.json"))).unwrap();
        let entry = &download[0];
        let payload = BASE64.decode(entry["Payload"].as_str().unwrap()).unwrap();
        let claimed: Value = serde_json::from_slice(&payload).unwrap();
        let digest = claimed["critical"]["image"]["docker-manifest-digest"]
            .as_str()
            .unwrap()
            .to_string();
        let signature = entry["Base64Signature"].as_str().unwrap();
        let bundle = entry["Bundle"].to_string();
        let e = evidence_with_bundles(
            "ghcr.io/apyrgio/dangerzone/dangerzone:latest",
            &digest,
            &[(layer(payload, signature), Some(bundle))],
        );
        let pem = read_text(&dir.join("cosign.pub"));
        // The signature itself is good: without Rekor checks it verifies.
        expect(&with_key(&pem, json!({"mode": "ignore"})), &e, "verified");
        let verdict = expect(
            &with_key(&pem, json!({"trustedRoot": root})),
            &e,
            "tlog_verification_failed",
        );
        let message = verdict["message"].as_str().unwrap();
        assert!(message.contains(why), "{case}: {message}");
    }
}

#[test]
fn a_bundle_must_log_this_signature_this_payload_and_the_policy_key() {
    let (alice, mallory) = (Signer::new("alice", 1), Signer::new("mallory", 9));
    let log = TestLog {
        key: Signer::new("log", 30),
    };
    let digest = sha256(b"rekor-image");
    let payload = cosign_payload(&digest, "registry.example/app", None);
    let signature = alice.sign(&payload);
    let other_payload = cosign_payload(&sha256(b"other"), "registry.example/app", None);
    let mut policy_doc: Value = serde_json::from_slice(&policy(&[&alice], json!({}))).unwrap();
    policy_doc["rekor"] = json!({"publicKeys": [log.key.public_pem()], "mode": "require"});
    let p = serde_json::to_vec(&policy_doc).unwrap();
    let run = |bundle: String| {
        let e = evidence_with_bundles(
            "registry.example/app:v1",
            &digest,
            &[(layer(payload.clone(), &signature), Some(bundle))],
        );
        crate::support::run(&p, &e)
    };

    let honest = hashedrekord(&payload, &signature, &alice.public_pem());
    let verdict = run(log.bundle(&honest, 1_700_000_000));
    assert_eq!(verdict["reason"], "verified", "{verdict:#}");
    assert_eq!(verdict["signatures"][0]["integratedTime"], 1_700_000_000);

    let cases = [
        // GHSA-fx35-mq7g-6g98: the entry's key is not the policy's key.
        (
            hashedrekord(&payload, &signature, &mallory.public_pem()),
            "another public key",
        ),
        // CVE-2022-23649: an entry for another signature.
        (
            hashedrekord(&payload, &alice.sign(&other_payload), &alice.public_pem()),
            "another signature",
        ),
        // An entry for another payload.
        (
            hashedrekord(&other_payload, &signature, &alice.public_pem()),
            "another payload",
        ),
        // Not a signature entry at all.
        (
            json!({"apiVersion": "0.0.1", "kind": "intoto", "spec": honest["spec"].clone()}),
            "only hashedrekord and rekord",
        ),
    ];
    for (body, why) in cases {
        let verdict = run(log.bundle(&body, 1_700_000_000));
        assert_eq!(
            verdict["reason"], "tlog_verification_failed",
            "{why}: {verdict:#}"
        );
        let message = verdict["message"].as_str().unwrap();
        assert!(message.contains(why), "{why}: {message}");
    }

    // A SET made by a key that is not the trusted log's.
    let rogue = TestLog {
        key: Signer::new("rogue", 31),
    };
    let verdict = run(rogue.bundle(&honest, 1_700_000_000));
    assert_eq!(verdict["reason"], "tlog_verification_failed");

    // The SET covers integratedTime: changing it after signing breaks it.
    let mut tampered: Value = serde_json::from_str(&log.bundle(&honest, 1_700_000_000)).unwrap();
    tampered["Payload"]["integratedTime"] = json!(1_600_000_000);
    let verdict = run(tampered.to_string());
    assert_eq!(verdict["reason"], "tlog_verification_failed");

    // Garbage and unknown fields are refused, not ignored.
    assert_eq!(run("not json".into())["reason"], "tlog_verification_failed");
    let mut extra: Value = serde_json::from_str(&log.bundle(&honest, 1)).unwrap();
    extra["Payload"]["verified"] = json!(true);
    assert_eq!(run(extra.to_string())["reason"], "tlog_verification_failed");
}

#[test]
fn rekor_policies_are_checked() {
    let alice = Signer::new("alice", 1);
    let e = crate::support::evidence("registry.example/app:v1", &sha256(b"x"), None);
    let mut doc: Value = serde_json::from_slice(&policy(&[&alice], json!({}))).unwrap();
    for (rekor, why) in [
        (
            json!({"mode": "require"}),
            "needs publicKeys or a trustedRoot",
        ),
        (json!({"publicKeys": ["nope"]}), "rekor.publicKeys[0]"),
        (json!({"trustedRoot": {"tlogs": "x"}}), "rekor.trustedRoot"),
        (
            json!({"mode": "sometimes"}),
            "\"sometimes\" is not require, verify-if-present or ignore",
        ),
    ] {
        doc["rekor"] = rekor;
        let verdict = expect(&serde_json::to_vec(&doc).unwrap(), &e, "invalid_policy");
        let message = verdict["message"].as_str().unwrap();
        assert!(message.contains(why), "{why}: {message}");
    }
}
