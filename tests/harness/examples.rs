//! The bundled examples (real cosign output, see examples/regenerate.sh) give the verdicts
//! recorded beside them.

use serde_json::{Value, json};

use crate::support::*;

#[test]
fn every_bundled_example_gives_its_expected_reason() {
    let dir = repo_root().join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let example = entry.unwrap().path();
        let expected = example.join("expected-reason");
        if !expected.is_file() {
            continue;
        }
        let reason = read_text(&expected).trim().to_string();
        let verdict = expect(
            &read(&example.join("policy.json")),
            &read(&example.join("evidence.json")),
            &reason,
        );
        eprintln!("{}: {}", example.display(), verdict["message"]);
        seen += 1;
    }
    assert!(seen >= 8, "only {seen} examples found in {}", dir.display());
}

/// Kubewarden's host serves manifests but no blobs, so its policy rebuilds cosign's payloads
/// (`ocisig::evidence::rebuild`). Over the real cosign examples: a rebuild admits what the fetched blobs
/// admit when the policy names the signature's annotations, and never admits more.
#[test]
fn payloads_rebuilt_from_the_manifest_alone_admit_no_more_than_the_blobs() {
    let expected = [
        ("signed", "verified"),
        ("threshold", "verified"),
        ("threshold-unmet", "threshold_not_met"),
        ("wrong-key", "no_matching_signature"),
        ("unsigned", "no_signatures"),
        // Signed with env and team; the policy names only env.
        ("annotated", "payload_unavailable"),
        ("annotation-mismatch", "payload_unavailable"),
        // The payload claims another image's digest, which no rebuild for this image has.
        ("other-image", "payload_unavailable"),
    ];
    for (name, reason) in expected {
        let dir = repo_root().join("examples").join(name);
        let policy = ocisig::Policy::from_json(&read(&dir.join("policy.json"))).unwrap();
        let fetched = ocisig::Evidence::from_json(&read(&dir.join("evidence.json"))).unwrap();
        let rebuilt = ocisig::evidence::rebuild::rebuilt_evidence(
            fetched.image(),
            fetched.digest(),
            fetched.signature_manifest().map(str::to_string),
            &policy,
        );
        let verdict = ocisig::verify(&policy, &rebuilt);
        assert_eq!(
            verdict.reason().code(),
            reason,
            "{name}: {}",
            verdict.message()
        );
        if verdict.verified() {
            assert!(ocisig::verify(&policy, &fetched).verified(), "{name}");
            // The rebuilt blobs are byte for byte the ones cosign pushed.
            let manifest = fetched.signature_manifest().unwrap().as_bytes();
            for layer in ocisig::oci::manifest::parse_layers(manifest).unwrap() {
                if let Some(blob) = rebuilt.blob(&layer.digest) {
                    assert_eq!(Some(blob), fetched.blob(&layer.digest), "{name}");
                }
            }
        }
    }
}

/// `examples/keyless` (the browser demo's keyless button): an image signed keyless, as cosign
/// v3 signs (a Sigstore bundle referrer with a Fulcio-style certificate, its SCT, a Rekor
/// entry and a signed timestamp), by the test PKI of `tests/pki`, not Sigstore's: its policy
/// trusts that PKI's root and one identity. The files are what the generator makes, byte for
/// byte; `OCISIG_REGENERATE_EXAMPLES=1` writes them again.
#[test]
fn the_keyless_example_is_what_the_test_pki_makes() {
    use ocisig_testpki::{ISSUER, Proof, SUBJECT, Spec};
    let pki = Spec::valid().build();
    let digest = sha256(b"the ocisig keyless demo image");
    let bundle = pki.image_bundle(&digest, Proof::Both);
    let evidence = evidence_with_referrers(
        "registry.example/team/app:v1",
        &digest,
        &[(referrer(&digest, &bundle), Some(bundle))],
        None,
    );
    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap() + "\n";
    let evidence = pretty(&serde_json::from_slice(&evidence).unwrap());
    let policy = pretty(&json!({
        "identities": [{"name": "release", "issuer": ISSUER, "subject": SUBJECT}],
        "trustedRoot": pki.trusted_root(),
    }));
    let dir = repo_root().join("examples/keyless");
    let files = [
        ("policy.json", policy),
        ("evidence.json", evidence),
        ("expected-reason", "verified\n".to_string()),
    ];
    if std::env::var_os("OCISIG_REGENERATE_EXAMPLES").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &files {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
    for (name, text) in &files {
        assert_eq!(
            &read_text(&dir.join(name)),
            text,
            "examples/keyless/{name} is not what the generator makes \
             (OCISIG_REGENERATE_EXAMPLES=1 writes it)"
        );
    }
    let verdict = expect(files[0].1.as_bytes(), files[1].1.as_bytes(), "verified");
    assert!(
        verdict["bundles"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains(SUBJECT),
        "{verdict}"
    );
}
