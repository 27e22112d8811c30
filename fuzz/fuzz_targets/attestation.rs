//! Attestation rules on statements the fuzzer writes, each signed for real by the rule's key,
//! in an `.att` layer and in a bundle referrer: every check after the signature (the in-toto
//! parser, the subject, the predicate type, the conditions, the verdict's statements) runs on
//! arbitrary statements. A verdict, never a panic; and a verified verdict only ever hands over
//! statements of the rule's type that meet its conditions.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use libfuzzer_sys::fuzz_target;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey as _, LineEnding};
use std::sync::OnceLock;

const IN_TOTO: &str = "application/vnd.in-toto+json";
const SLSA1: &str = "https://slsa.dev/provenance/v1";
const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

fn key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::from_slice(&[0x42; 32]).unwrap())
}

fn policy() -> &'static ocisig::Policy {
    static POLICY: OnceLock<ocisig::Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let public = key().verifying_key().to_public_key_pem(LineEnding::LF).unwrap();
        let document = serde_json::json!({"attestations": [{
            "predicateType": "slsaprovenance1",
            "keys": [{"name": "k", "publicKey": public}],
            "conditions": {"/builder": {"prefix": "https://"}},
        }]});
        ocisig::Policy::from_json(document.to_string().as_bytes()).unwrap()
    })
}

fn sha256(bytes: &[u8]) -> String {
    ocisig::Sha256Digest::of(bytes).to_string()
}

fuzz_target!(|statement: &[u8]| {
    let mut pae = format!("DSSEv1 {} {IN_TOTO} {} ", IN_TOTO.len(), statement.len()).into_bytes();
    pae.extend_from_slice(statement);
    let signature: Signature = key().sign(&pae);
    let sig = BASE64.encode(signature.to_der().as_bytes());
    let payload = BASE64.encode(statement);
    let envelope = serde_json::json!({"payloadType": IN_TOTO, "payload": payload,
        "signatures": [{"keyid": "", "sig": sig}]})
    .to_string();
    let bundle = serde_json::json!({"mediaType": BUNDLE,
        "verificationMaterial": {"publicKey": {"hint": "k"}},
        "dsseEnvelope": {"payloadType": IN_TOTO, "payload": payload, "signatures": [{"sig": sig}]}})
    .to_string();
    let digest = sha256(b"image");
    let att = serde_json::json!({"schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2, "digest": sha256(b"{}")},
        "layers": [{"mediaType": "application/vnd.dsse.envelope.v1+json", "size": envelope.len(),
            "digest": sha256(envelope.as_bytes()), "annotations": {"predicateType": SLSA1}}]})
    .to_string();
    let referrer = serde_json::json!({"schemaVersion": 2, "artifactType": BUNDLE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": sha256(b"{}")},
        "layers": [{"mediaType": BUNDLE, "size": bundle.len(), "digest": sha256(bundle.as_bytes())}],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1, "digest": digest}})
    .to_string();
    for (attestation_manifest, referrers) in [(Some(att), vec![]), (None, vec![referrer])] {
        let evidence = serde_json::json!({"image": "registry.example/app:1", "digest": digest,
            "attestationManifest": attestation_manifest, "referrers": referrers,
            "blobs": {sha256(envelope.as_bytes()): BASE64.encode(&envelope),
                      sha256(bundle.as_bytes()): BASE64.encode(&bundle)}});
        let verdict = ocisig::verify_evidence_json(policy(), evidence.to_string().as_bytes());
        if verdict.verified() {
            assert!(!verdict.statements().is_empty());
            for statement in verdict.statements() {
                assert_eq!(statement.predicate_type, SLSA1);
                let builder = statement.predicate.as_ref().and_then(|p| p.get("builder"));
                assert!(statement.predicate_omitted
                    || builder.and_then(|b| b.as_str()).is_some_and(|b| b.starts_with("https://")));
            }
        } else {
            assert!(verdict.statements().is_empty());
        }
    }
});
