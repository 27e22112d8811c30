//! Bundle parsing (`ocisig::sigstore::bundle`) on every real bundle at hand: the 70 sigstore-conformance
//! cases and the cosign v3 bundle of kubewarden-controller v1.34.0. The structural failures are
//! refused for their own reason; every passing case parses, and its log entry's proof verifies
//! through `ocisig::sigstore::tlog`.

use ocisig::sigstore::bundle::{Bundle, BundleError, Content, Material, Version, pae};
use serde_json::Value;

use crate::support::{conformance_trusted_root, trusted_log, vectors_dir};

fn field_is(err: &BundleError, needle: &str) -> bool {
    matches!(err, BundleError::Invalid { field, .. } if field.contains(needle))
}

/// Whether an error is the one a case expects.
type IsReason = fn(&BundleError) -> bool;

#[test]
fn conformance_bundles_parse_and_the_malformed_ones_are_refused_for_their_reason() {
    let Some(vectors) = vectors_dir() else {
        return;
    };
    let cases = vectors.join("sigstore-conformance/test/assets/bundle-verify");
    let refused: &[(&str, IsReason)] = &[
        ("bundle-malformed-json_fail", |e| {
            matches!(e, BundleError::Syntax(_))
        }),
        ("bundle-unknown-version_fail", |e| {
            matches!(e, BundleError::UnknownVersion(_))
        }),
        ("bundle-negative-log-index_fail", |e| {
            field_is(e, "logIndex")
        }),
        ("bundle-empty-certificate-chain_fail", |e| {
            field_is(e, "x509CertificateChain")
        }),
        ("bundle-invalid-base64-signature_fail", |e| {
            field_is(e, "messageSignature.signature")
        }),
        ("intoto-missing-inclusion-proof_fail", |e| {
            field_is(e, "inclusionProof")
        }),
        ("rekor2-no-inclusion-proof_fail", |e| {
            field_is(e, "inclusionProof")
        }),
    ];
    let mut names: Vec<String> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| cases.join(name).join("bundle.sigstore.json").exists())
        .collect();
    names.sort();
    assert_eq!(names.len(), 70, "{names:?}");
    let (mut parsed, mut proved, mut refused_count) = (0, 0, 0);
    for name in &names {
        let dir = cases.join(name);
        let result = Bundle::parse(&std::fs::read(dir.join("bundle.sigstore.json")).unwrap());
        if let Some((_, is_reason)) = refused.iter().find(|(case, _)| case == name) {
            let err = result.expect_err(name);
            assert!(is_reason(&err), "{name}: refused for another reason: {err}");
            refused_count += 1;
            continue;
        }
        if name.ends_with("_fail") {
            continue;
        }
        let bundle = result.unwrap_or_else(|err| panic!("{name}: {err}"));
        parsed += 1;
        if bundle.version == Version::V0_3 {
            assert!(
                !matches!(bundle.material, Material::CertificateChain(_)),
                "{name}"
            );
        }
        // Every passing case's entry is proved by a log of its trusted root.
        let root = conformance_trusted_root(&vectors, &dir);
        let entry = &bundle.tlog_entries[0];
        let (proof, checkpoint) = entry.inclusion_proof.as_ref().expect(name);
        let (log_id, key) = trusted_log(&root, &entry.log_id).expect(name);
        ocisig::sigstore::tlog::verify_inclusion(
            &entry.canonicalized_body,
            proof,
            checkpoint.as_deref().expect(name),
            &log_id,
            &key,
        )
        .unwrap_or_else(|err| panic!("{name}: {err}"));
        proved += 1;
    }
    eprintln!(
        "bundles: {parsed} passing cases parse and prove, {refused_count} malformed ones are refused"
    );
    assert_eq!(refused_count, refused.len());
    assert!(
        parsed >= 20 && proved == parsed,
        "{parsed} parsed, {proved} proved"
    );
}

/// What cosign v3 attaches to an image: a v0.3 bundle with a DSSE envelope around an in-toto
/// statement whose predicate type is cosign's signature type.
#[test]
fn the_cosign_v3_bundle_is_a_dsse_statement_of_the_signature_type() {
    let Some(vectors) = vectors_dir() else {
        return;
    };
    let bytes =
        std::fs::read(vectors.join("sigstore-rs/bundle_v03_kubewarden-controller_v1.34.0.json"))
            .unwrap();
    let bundle = Bundle::parse(&bytes).unwrap();
    assert_eq!(bundle.version, Version::V0_3);
    assert!(matches!(bundle.material, Material::Certificate(_)));
    let Content::Dsse {
        payload_type,
        payload,
        signature,
        ..
    } = &bundle.content
    else {
        panic!("not a DSSE bundle");
    };
    assert_eq!(payload_type, "application/vnd.in-toto+json");
    assert!(!signature.is_empty());
    let statement: Value = serde_json::from_slice(payload).unwrap();
    assert_eq!(
        statement["predicateType"],
        "https://sigstore.dev/cosign/sign/v1"
    );
    let signed = pae(payload_type, payload);
    assert!(signed.starts_with(b"DSSEv1 28 application/vnd.in-toto+json "));
    assert!(signed.ends_with(payload));
}

/// Two envelopes' worth of signatures, or none, is not a bundle's envelope.
#[test]
fn an_envelope_needs_exactly_one_signature() {
    let Some(vectors) = vectors_dir() else {
        return;
    };
    let path = vectors
        .join("sigstore-conformance/test/assets/bundle-verify/happy-path-intoto-in-dsse-v3/bundle.sigstore.json");
    let mut bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let one = bundle["dsseEnvelope"]["signatures"][0].clone();
    for signatures in [Value::Array(vec![]), Value::Array(vec![one.clone(), one])] {
        bundle["dsseEnvelope"]["signatures"] = signatures;
        let err = Bundle::parse(&serde_json::to_vec(&bundle).unwrap()).unwrap_err();
        assert!(field_is(&err, "dsseEnvelope.signatures"), "{err}");
    }
}

/// The policy `ocisig verify-bundle --key K [--trusted-root R]` builds: one key, the log
/// entries required and checked against the trusted root.
fn key_policy(key_pem: &str, root: &Value) -> ocisig::Policy {
    let document = serde_json::json!({
        "keys": [{"name": "key", "publicKey": key_pem}],
        "rekor": {"trustedRoot": root, "mode": "require"},
    });
    ocisig::Policy::from_json(document.to_string().as_bytes()).unwrap()
}

#[test]
fn the_managed_key_conformance_cases_verify_and_fail_as_the_suite_expects() {
    let Some(vectors) = vectors_dir() else {
        return;
    };
    let assets = vectors.join("sigstore-conformance/test/assets");
    let artifact = ocisig::Sha256Digest::of(&std::fs::read(assets.join("a.txt")).unwrap());
    let other_key = crate::support::Signer::new("other", 9).public_pem();
    let mut checked = 0;
    // The suite's wrong key is not a valid P-256 point at all: the policy refuses it.
    let wrong_key = assets.join("bundle-verify/managed-key-wrong-key_fail/key.pub");
    let wrong_key = std::fs::read_to_string(wrong_key).unwrap();
    let document = serde_json::json!({"keys": [{"name": "key", "publicKey": wrong_key}]});
    assert!(ocisig::Policy::from_json(document.to_string().as_bytes()).is_err());
    for case in ["managed-key-happy-path", "managed-key-and-trusted-root"] {
        let dir = assets.join("bundle-verify").join(case);
        let root = conformance_trusted_root(&vectors, &dir);
        let key = std::fs::read_to_string(dir.join("key.pub")).unwrap();
        let bundle = std::fs::read(dir.join("bundle.sigstore.json")).unwrap();
        let verdict = ocisig::verify_artifact_bundle(&key_policy(&key, &root), &bundle, &artifact);
        assert!(verdict.verified(), "{case}: {}", verdict.to_json());
        assert!(verdict.bundles()[0].log_index.is_some(), "{case}");
        // Under any other key, or for another artifact, never.
        let wrong =
            ocisig::verify_artifact_bundle(&key_policy(&other_key, &root), &bundle, &artifact);
        assert_eq!(wrong.reason().code(), "no_matching_signature", "{case}");
        // With a root that trusts none of its logs, the entry is refused.
        let empty_root = serde_json::json!({"tlogs": []});
        let document = serde_json::json!({
            "keys": [{"name": "key", "publicKey": key}],
            "rekor": {"trustedRoot": empty_root, "mode": "require", "publicKeys": [other_key]},
        });
        let untrusted = ocisig::Policy::from_json(document.to_string().as_bytes()).unwrap();
        let verdict = ocisig::verify_artifact_bundle(&untrusted, &bundle, &artifact);
        assert_eq!(
            verdict.reason().code(),
            "tlog_verification_failed",
            "{case}"
        );
        assert!(
            verdict.message().contains("not a trusted Rekor key"),
            "{case}"
        );
        let other = ocisig::Sha256Digest::of(b"another artifact");
        let verdict = ocisig::verify_artifact_bundle(&key_policy(&key, &root), &bundle, &other);
        assert_eq!(verdict.reason().code(), "claim_digest_mismatch", "{case}");
        checked += 1;
    }
    assert_eq!(checked, 2);
}
