//! Sigstore bundles attached as OCI referrers, through every engine: each case runs natively,
//! in the raw module and in the OPA module, with byte-identical verdicts (issue #15). The
//! bundles are built here, in cosign v3's shape, signed with real P-256 keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::schema::{assert_valid, schema};
use crate::support::{
    IN_TOTO, Layer, Referrer, SIGN_V1, Signer, bundle, bundle_signing, cosign_payload,
    evidence_with_referrers, expect, pae, policy, referrer, sha256, statement,
};

const IMAGE: &str = "registry.example/app:v1";

fn digest() -> String {
    sha256(b"the image manifest")
}

/// Evidence for the image with these referrers and, optionally, `.sig` layers.
fn evidence(referrers: &[Referrer], layers: Option<&[Layer]>) -> Vec<u8> {
    evidence_with_referrers(IMAGE, &digest(), referrers, layers)
}

/// One well-formed, correctly signed referrer of the image by `signer`.
fn signed_referrer(signer: &Signer) -> Referrer {
    let b = bundle(signer, &statement(&digest(), SIGN_V1, None));
    (referrer(&digest(), &b), Some(b))
}

#[test]
fn a_cosign_v3_bundle_verifies_and_other_keys_do_not() {
    let alice = Signer::new("alice", 1);
    let mallory = Signer::new("mallory", 2);
    let verdict = expect(
        &policy(&[&alice], json!({})),
        &evidence(&[signed_referrer(&alice)], None),
        "verified",
    );
    assert_eq!(verdict["bundles"][0]["key"], "alice");
    assert_eq!(verdict["bundles"][0]["predicateType"], SIGN_V1);
    assert_eq!(
        verdict["message"],
        "signed by alice (Sigstore bundle) (threshold 1)"
    );
    assert_eq!(verdict["signatures"], json!([]));
    assert_valid(&schema("verdict"), &verdict, "bundle verdict");
    expect(
        &policy(&[&mallory], json!({})),
        &evidence(&[signed_referrer(&alice)], None),
        "no_matching_signature",
    );
    // A policy that only takes .sig signatures sees none.
    let verdict = expect(
        &policy(&[&alice], json!({"formats": ["simplesigning"]})),
        &evidence(&[signed_referrer(&alice)], None),
        "no_signatures",
    );
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("formats exclude bundle")
    );
}

#[test]
fn one_threshold_counts_keys_across_both_formats() {
    let alice = Signer::new("alice", 1);
    let bob = Signer::new("bob", 3);
    let layer = Layer::signed(&alice, cosign_payload(&digest(), IMAGE, None));
    let both = policy(&[&alice, &bob], json!({"threshold": 2}));
    let verdict = expect(
        &both,
        &evidence(&[signed_referrer(&bob)], Some(std::slice::from_ref(&layer))),
        "verified",
    );
    assert_eq!(verdict["satisfiedKeys"], json!(["alice", "bob"]));
    assert_eq!(
        verdict["message"],
        "signed by alice, bob (Sigstore bundle) (threshold 2)"
    );
    // The same key in both formats is one key.
    expect(
        &both,
        &evidence(
            &[signed_referrer(&alice)],
            Some(std::slice::from_ref(&layer)),
        ),
        "threshold_not_met",
    );
    let required = policy(&[&alice, &bob], json!({"required": ["bob"]}));
    expect(
        &required,
        &evidence(&[], Some(&[layer])),
        "required_key_missing",
    );
}

#[test]
fn each_check_of_a_bundle_has_its_reason() {
    let alice = Signer::new("alice", 1);
    let p = policy(&[&alice], json!({}));
    let good = bundle(&alice, &statement(&digest(), SIGN_V1, None));
    let other_image = sha256(b"another image");
    let cases: Vec<(&str, Referrer)> = vec![
        // The referrer names another image: a bundle copied from elsewhere.
        (
            "subject_mismatch",
            (referrer(&other_image, &good), Some(good.clone())),
        ),
        // The statement is about another image, under a valid signature.
        ("claim_digest_mismatch", {
            let b = bundle(&alice, &statement(&other_image, SIGN_V1, None));
            (referrer(&digest(), &b), Some(b))
        }),
        // An attestation, however valid, is not a signature.
        ("not_a_signature", {
            let b = bundle(
                &alice,
                &statement(&digest(), "https://slsa.dev/provenance/v1", None),
            );
            (referrer(&digest(), &b), Some(b))
        }),
        // The blob differs from the layer's descriptor.
        ("payload_digest_mismatch", {
            let mut tampered = good.clone();
            let last = tampered.len() - 2;
            tampered[last] ^= 1;
            (referrer(&digest(), &good), Some(tampered))
        }),
        ("payload_missing", (referrer(&digest(), &good), None)),
        // Not JSON of the bundle shape, behind a matching descriptor.
        (
            "malformed_bundle",
            (referrer(&digest(), b"{}"), Some(b"{}".to_vec())),
        ),
        // The signature is over another payload type than the envelope's (the PAE binds it).
        ("no_matching_signature", {
            let payload = statement(&digest(), SIGN_V1, None);
            let b = bundle_signing(&alice, IN_TOTO, &payload, &pae("text/plain", &payload));
            (referrer(&digest(), &b), Some(b))
        }),
        // Signed, but not an in-toto statement.
        ("malformed_payload", {
            let payload = statement(&digest(), SIGN_V1, None);
            let b = bundle_signing(&alice, "text/plain", &payload, &pae("text/plain", &payload));
            (referrer(&digest(), &b), Some(b))
        }),
        // A keyless bundle (a certificate where the key hint would be) under a policy of keys
        // only: no identity of the policy can have signed it.
        ("identity_mismatch", {
            let mut b: Value = serde_json::from_slice(&good).unwrap();
            b["verificationMaterial"] = json!({"certificate": {"rawBytes": "MIIB"}});
            let b = b.to_string().into_bytes();
            (referrer(&digest(), &b), Some(b))
        }),
        // A message signature: an image signature is a DSSE statement about the image.
        ("unsupported_bundle", {
            let mut b: Value = serde_json::from_slice(&good).unwrap();
            let object = b.as_object_mut().unwrap();
            object.remove("dsseEnvelope");
            object.insert(
                "messageSignature".into(),
                json!({"messageDigest": {"algorithm": "SHA2_256", "digest": ""}, "signature": "AAAA"}),
            );
            let b = b.to_string().into_bytes();
            (referrer(&digest(), &b), Some(b))
        }),
        // A referrer of another artifact type.
        ("wrong_media_type", {
            let mut m: Value = serde_json::from_str(&referrer(&digest(), &good)).unwrap();
            m["artifactType"] = json!("application/spdx+json");
            (m.to_string(), Some(good.clone()))
        }),
    ];
    // A referrer manifest over the policy's manifest cap is not read.
    let small = policy(&[&alice], json!({"limits": {"maxManifestBytes": 200}}));
    let verdict = expect(
        &small,
        &evidence(&[signed_referrer(&alice)], None),
        "limit_exceeded",
    );
    assert_eq!(verdict["bundles"][0]["status"], "limit_exceeded");
    for (reason, referrer) in cases {
        let verdict = expect(&p, &evidence(&[referrer], None), reason);
        assert_eq!(verdict["bundles"][0]["status"], reason, "{verdict:#}");
        assert_valid(&schema("verdict"), &verdict, reason);
    }
    // Any one good bundle among bad ones verifies, and the verdict lists each it examined.
    let verdict = expect(
        &p,
        &evidence(
            &[
                (referrer(&other_image, &good), Some(good.clone())),
                signed_referrer(&alice),
            ],
            None,
        ),
        "verified",
    );
    assert_eq!(verdict["bundles"].as_array().unwrap().len(), 2);
}

#[test]
fn annotations_and_references_are_read_from_the_statement_subject() {
    let alice = Signer::new("alice", 1);
    let annotated = |annotations: Option<Value>| {
        let b = bundle(&alice, &statement(&digest(), SIGN_V1, annotations));
        (referrer(&digest(), &b), Some(b))
    };
    let wants_prod = policy(&[&alice], json!({"annotations": {"env": "prod"}}));
    expect(
        &wants_prod,
        &evidence(&[annotated(Some(json!({"env": "prod"})))], None),
        "verified",
    );
    expect(
        &wants_prod,
        &evidence(&[annotated(Some(json!({"env": "dev"})))], None),
        "annotation_mismatch",
    );
    expect(
        &wants_prod,
        &evidence(&[annotated(None)], None),
        "annotation_mismatch",
    );
    // cosign v3 signatures name no repository: matchReference cannot be met by them.
    expect(
        &policy(&[&alice], json!({"matchReference": true})),
        &evidence(&[annotated(None)], None),
        "reference_mismatch",
    );
}

/// Bundle logs: a policy that requires a log entry refuses a bundle without one, and an entry
/// of a log it does not trust is refused even in verify-if-present.
#[test]
fn log_entries_follow_the_rekor_mode() {
    let alice = Signer::new("alice", 1);
    let log = Signer::new("log", 9);
    let require = policy(
        &[&alice],
        json!({"rekor": {"publicKeys": [log.public_pem()], "mode": "require"}}),
    );
    expect(
        &require,
        &evidence(&[signed_referrer(&alice)], None),
        "tlog_missing",
    );
    // An entry whose log id names no trusted log.
    let mut b: Value =
        serde_json::from_slice(&bundle(&alice, &statement(&digest(), SIGN_V1, None))).unwrap();
    b["verificationMaterial"]["tlogEntries"] = json!([{
        "logIndex": "1",
        "logId": {"keyId": BASE64.encode([7u8; 32])},
        "kindVersion": {"kind": "dsse", "version": "0.0.1"},
        "integratedTime": "1700000000",
        "inclusionPromise": {"signedEntryTimestamp": BASE64.encode([1u8; 70])},
        "canonicalizedBody": BASE64.encode(b"{}"),
    }]);
    b["mediaType"] = json!("application/vnd.dev.sigstore.bundle+json;version=0.1");
    let b = b.to_string().into_bytes();
    let present = policy(
        &[&alice],
        json!({"rekor": {"publicKeys": [log.public_pem()]}}),
    );
    let verdict = expect(
        &present,
        &evidence(&[(referrer(&digest(), &b), Some(b.clone()))], None),
        "tlog_verification_failed",
    );
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("not a trusted"),
        "{verdict:#}"
    );
    // With the log ignored, the signature alone counts.
    expect(
        &policy(&[&alice], json!({})),
        &evidence(&[(referrer(&digest(), &b), Some(b))], None),
        "verified",
    );
}
