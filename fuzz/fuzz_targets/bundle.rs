//! One Sigstore bundle on arbitrary bytes, through every check (parsing, DSSE's PAE, the key
//! loop, the log entries against a trusted log, the in-toto statement), as an image's referrer
//! bundle and as `verify-bundle`'s: a verdict, never a panic, and never verified, since no
//! input can carry a signature by the policy's key over anything the fuzzer made.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// A P-256 key nobody holds the private half of (the public key of a conformance-style test
/// vector would do as well), and a trusted log: the same key, so that log checks run deep.
const KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEusIAt6EJ3YrTHdg2qkWVS0KuotWQ\nwHDtyaXlq7Nhj8279+1u/l5pZhXJPW8PnGRRLdO5NbsuM6aT7pOcP100uw==\n-----END PUBLIC KEY-----\n";

fn policy() -> &'static ocisig::Policy {
    static POLICY: OnceLock<ocisig::Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let document = serde_json::json!({
            "keys": [{"name": "k", "publicKey": KEY}],
            "rekor": {"publicKeys": [KEY], "mode": "verify-if-present"},
        });
        ocisig::Policy::from_json(document.to_string().as_bytes()).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let digest = ocisig::Sha256Digest::of(b"artifact");
    let verdict = ocisig::verify_artifact_bundle(policy(), data, &digest);
    assert!(!verdict.verified());
    let _ = ocisig::claim::in_toto::Statement::parse(data);
    let _ = ocisig::sigstore::referrer::parse_listing(data);
    let _ = ocisig::sigstore::referrer::parse_bundle_referrer(data);
    // As a referrer's bundle: the referrer manifest names exactly these bytes.
    let referrer = serde_json::json!({
        "schemaVersion": 2,
        "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2,
                   "digest": ocisig::Sha256Digest::of(b"{}").to_string()},
        "layers": [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                    "size": data.len(), "digest": ocisig::Sha256Digest::of(data).to_string()}],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1,
                    "digest": digest.to_string()},
    });
    let evidence = ocisig::Evidence::new("fuzz.example/app".into(), digest, None, Default::default())
        .with_blobs([(ocisig::Sha256Digest::of(data), data.to_vec())].into())
        .with_referrers(vec![referrer.to_string()]);
    let verdict = ocisig::verify(policy(), &evidence);
    assert!(!verdict.verified());
});
