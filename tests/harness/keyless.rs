//! Keyless Sigstore bundles (issue #16) on a real cosign v3 image signature: the bundle
//! kubewarden-controller v1.34.0 was released with (GitHub Actions, Fulcio, Rekor v1 and a
//! signed timestamp), attached as a referrer, verified under the public-good production root
//! natively, in the raw module and in the OPA module (byte-identical, by `expect`). It
//! verifies under its true identity only, and each thing changed is refused for its own
//! reason: the subject, the issuer, the CA, the CA's window, the CT logs, the timestamp
//! authorities, the proven time.

use serde_json::{Value, json};

use crate::support::{Signer, evidence_with_referrers, expect, read, referrer, vectors_dir};

const DIGEST: &str = "sha256:c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172";
const IMAGE: &str = "ghcr.io/kubewarden/kubewarden-controller:v1.34.0";
const SUBJECT: &str = "https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0";
const GITHUB: &str = "https://token.actions.githubusercontent.com";

/// The production root and the evidence for the real image, or `None` (skipped) without the
/// vectors.
fn setup() -> Option<(Value, Vec<u8>)> {
    let vectors = vectors_dir()?;
    let root: Value = serde_json::from_slice(&read(
        &vectors.join("sigstore-trust-roots/production_trusted_root.sigstore-python.json"),
    ))
    .unwrap();
    let bundle = read(&vectors.join("sigstore-rs/bundle_v03_kubewarden-controller_v1.34.0.json"));
    let evidence = evidence_with_referrers(
        IMAGE,
        DIGEST,
        &[(referrer(DIGEST, &bundle), Some(bundle))],
        None,
    );
    Some((root, evidence))
}

fn policy(root: &Value, identities: Value) -> Vec<u8> {
    policy_with(root, identities, json!({}))
}

fn policy_with(root: &Value, identities: Value, extra: Value) -> Vec<u8> {
    let mut policy = json!({"identities": identities, "trustedRoot": root});
    for (key, value) in extra.as_object().unwrap() {
        policy[key] = value.clone();
    }
    serde_json::to_vec(&policy).unwrap()
}

#[test]
fn a_real_keyless_image_signature_verifies_under_its_true_identity() {
    let Some((root, evidence)) = setup() else {
        return;
    };
    let exact = policy(
        &root,
        json!([{"name": "release", "issuer": GITHUB, "subject": SUBJECT}]),
    );
    let verdict = expect(&exact, &evidence, "verified");
    assert_eq!(verdict["satisfiedKeys"], json!(["release"]));
    let bundle = &verdict["bundles"][0];
    assert_eq!(bundle["status"], "verified");
    assert_eq!(bundle["key"], "release");
    assert_eq!(bundle["integratedTime"], 1_775_719_409);
    let message = bundle["message"].as_str().unwrap();
    assert!(
        message.contains(SUBJECT) && message.contains(GITHUB),
        "{message}"
    );

    // Anchored patterns that cover the whole values; the name defaults to the pattern.
    let pattern =
        r"https://github\.com/kubewarden/[^/]+/\.github/workflows/release\.yml@refs/tags/v.*";
    let patterns = policy(
        &root,
        json!([{"issuerRegExp": r"https://token\.actions\.githubusercontent\.com", "subjectRegExp": pattern}]),
    );
    let verdict = expect(&patterns, &evidence, "verified");
    assert_eq!(verdict["satisfiedKeys"], json!([pattern]));

    // The second of two identities: the first that matches counts.
    let two = policy(
        &root,
        json!([
            {"name": "other", "issuer": GITHUB, "subject": "https://github.com/other/repo/.github/workflows/x.yml@refs/heads/main"},
            {"name": "release", "issuer": GITHUB, "subject": SUBJECT},
        ]),
    );
    assert_eq!(
        expect(&two, &evidence, "verified")["satisfiedKeys"],
        json!(["release"])
    );
}

/// cosign's `--certificate-github-workflow-*` checks: each given value must equal the
/// certificate's GitHub workflow extension.
#[test]
fn github_workflow_extensions_narrow_an_identity() {
    let Some((root, evidence)) = setup() else {
        return;
    };
    let with = |extra: Value| {
        let mut identity = json!({"name": "release", "issuer": GITHUB, "subject": SUBJECT});
        for (key, value) in extra.as_object().unwrap() {
            identity[key] = value.clone();
        }
        policy(&root, json!([identity]))
    };
    let all = json!({
        "githubWorkflowTrigger": "push",
        "githubWorkflowSha": "2a6b879b7a5ef59d7fb348d0b5d14314538ac0a6",
        "githubWorkflowName": "Release",
        "githubWorkflowRepository": "kubewarden/kubewarden-controller",
        "githubWorkflowRef": "refs/tags/v1.34.0",
    });
    expect(&with(all.clone()), &evidence, "verified");
    for (key, other) in [
        ("githubWorkflowTrigger", "workflow_dispatch"),
        (
            "githubWorkflowSha",
            "0000000000000000000000000000000000000000",
        ),
        ("githubWorkflowName", "Nightly"),
        ("githubWorkflowRepository", "kubewarden/other"),
        ("githubWorkflowRef", "refs/heads/main"),
    ] {
        let mut changed = all.clone();
        changed[key] = json!(other);
        expect(&with(changed), &evidence, "identity_mismatch");
    }
}

#[test]
fn another_subject_or_issuer_is_an_identity_mismatch() {
    let Some((root, evidence)) = setup() else {
        return;
    };
    let other_tag = SUBJECT.replace("v1.34.0", "v1.35.0");
    for identity in [
        json!({"issuer": GITHUB, "subject": other_tag}),
        json!({"issuer": "https://accounts.google.com", "subject": SUBJECT}),
        // A pattern that matches only part of the subject does not match: patterns are
        // anchored.
        json!({"issuer": GITHUB, "subjectRegExp": "kubewarden-controller"}),
        json!({"issuerRegExp": "token\\.actions", "subject": SUBJECT}),
        // An email identity for a URI certificate.
        json!({"issuer": GITHUB, "subject": "release@kubewarden.io"}),
    ] {
        let verdict = expect(
            &policy(&root, json!([identity])),
            &evidence,
            "identity_mismatch",
        );
        let message = verdict["bundles"][0]["message"].as_str().unwrap();
        assert!(message.contains(SUBJECT), "{message}");
    }
    // A policy of keys only: the certificate's bundle names no policy signer.
    let key = Signer::new("alice", 1);
    let keys_only = policy_with(&root, json!([]), json!({"keys": [key.key_entry()]}));
    expect(&keys_only, &evidence, "identity_mismatch");
}

/// Each piece of trust material taken away or changed refuses the same bundle, for its reason.
#[test]
fn each_piece_of_trust_material_is_needed() {
    let Some((root, evidence)) = setup() else {
        return;
    };
    let identity = json!([{"issuer": GITHUB, "subject": SUBJECT}]);

    // Another Fulcio: the staging CAs, for production's certificate.
    let vectors = vectors_dir().unwrap();
    let staging: Value = serde_json::from_slice(&read(&vectors.join(
        "sigstore-conformance/test/assets/bundle-verify/rekor2-happy-path/trusted_root.json",
    )))
    .unwrap();
    let mut other_ca = root.clone();
    other_ca["certificateAuthorities"] = staging["certificateAuthorities"].clone();
    expect(
        &policy(&other_ca, identity.clone()),
        &evidence,
        "untrusted_certificate",
    );

    // The right CAs, whose windows closed before the certificate was issued (April 2026).
    let mut closed = root.clone();
    for ca in closed["certificateAuthorities"].as_array_mut().unwrap() {
        ca["validFor"]["end"] = json!("2026-01-01T00:00:00Z");
    }
    expect(
        &policy(&closed, identity.clone()),
        &evidence,
        "untrusted_certificate",
    );

    // No CT log of the root signed its SCT.
    let mut no_ct = root.clone();
    no_ct["ctlogs"] = json!([]);
    expect(&policy(&no_ct, identity.clone()), &evidence, "sct_invalid");

    // Its signed timestamp comes from a timestamp authority the root does not list.
    let mut no_tsa = root.clone();
    no_tsa["timestampAuthorities"] = json!([]);
    expect(
        &policy(&no_tsa, identity.clone()),
        &evidence,
        "timestamp_invalid",
    );

    // The log entry ignored (rekor.mode ignore) and no authority for the timestamp: nothing
    // proves when the short-lived certificate signed.
    let mut unproven = root.clone();
    unproven["timestampAuthorities"] = json!([]);
    let ignore = policy_with(
        &unproven,
        identity.clone(),
        json!({"rekor": {"mode": "ignore"}}),
    );
    // The timestamp still fails first; without it in the bundle, the time is unproven.
    expect(&ignore, &evidence, "timestamp_invalid");
    let without_stamp = strip_timestamps(&evidence);
    expect(&ignore, &without_stamp, "no_verified_time");
    // With the log entry read, its inclusion promise proves the time alone.
    expect(&policy(&unproven, identity), &without_stamp, "verified");
}

/// The evidence with the bundle's signed timestamps removed (the referrer manifest rebuilt for
/// the changed blob).
fn strip_timestamps(evidence: &[u8]) -> Vec<u8> {
    let document: Value = serde_json::from_slice(evidence).unwrap();
    let manifest: Value = serde_json::from_str(document["referrers"][0].as_str().unwrap()).unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let blob = base64_decode(document["blobs"][layer].as_str().unwrap());
    let mut bundle: Value = serde_json::from_slice(&blob).unwrap();
    bundle["verificationMaterial"]
        .as_object_mut()
        .unwrap()
        .remove("timestampVerificationData");
    let bundle = serde_json::to_vec(&bundle).unwrap();
    evidence_with_referrers(
        IMAGE,
        DIGEST,
        &[(referrer(DIGEST, &bundle), Some(bundle))],
        None,
    )
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

/// Keys and identities count together toward `threshold` and `required`.
#[test]
fn identities_count_toward_threshold_and_required_like_keys() {
    let Some((root, evidence)) = setup() else {
        return;
    };
    let key = Signer::new("alice", 1);
    let both = |extra: Value| {
        let mut extra = extra;
        extra["keys"] = json!([key.key_entry()]);
        policy_with(
            &root,
            json!([{"name": "release", "issuer": GITHUB, "subject": SUBJECT}]),
            extra,
        )
    };
    expect(&both(json!({})), &evidence, "verified");
    let verdict = expect(
        &both(json!({"threshold": 2})),
        &evidence,
        "threshold_not_met",
    );
    assert_eq!(verdict["satisfiedKeys"], json!(["release"]));
    expect(
        &both(json!({"required": ["alice"]})),
        &evidence,
        "required_key_missing",
    );
    expect(
        &both(json!({"required": ["release"]})),
        &evidence,
        "verified",
    );
}

#[test]
fn identity_policies_are_checked() {
    let Some((root, _)) = setup() else {
        return;
    };
    for (identities, extra, field) in [
        (
            json!([{"subject": SUBJECT}]),
            json!({}),
            "identities[0].issuer",
        ),
        (
            json!([{"issuer": GITHUB}]),
            json!({}),
            "identities[0].subject",
        ),
        (
            json!([{"issuer": GITHUB, "issuerRegExp": ".*", "subject": SUBJECT}]),
            json!({}),
            "identities[0].issuer",
        ),
        (
            json!([{"issuer": GITHUB, "subjectRegExp": "(unclosed"}]),
            json!({}),
            "identities[0].subject",
        ),
        (
            json!([{"issuer": GITHUB, "subject": SUBJECT}, {"issuer": GITHUB, "subject": SUBJECT}]),
            json!({}),
            "identities[1].name",
        ),
        (
            json!([{"issuer": GITHUB, "subject": SUBJECT}]),
            json!({"threshold": 2}),
            "threshold",
        ),
    ] {
        let verdict = expect(
            &policy_with(&root, identities, extra),
            b"{}",
            "invalid_policy",
        );
        let message = verdict["message"].as_str().unwrap();
        assert!(message.contains(field), "{field}: {message}");
    }
    // An identity needs certificate authorities to chain to.
    let verdict = expect(
        &serde_json::to_vec(&json!({"identities": [{"issuer": GITHUB, "subject": SUBJECT}]}))
            .unwrap(),
        b"{}",
        "invalid_policy",
    );
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("certificateAuthorities")
    );
}

// Keyless `.sig` layers: cosign 2's storage of a keyless signature (the certificate, chain and
// Rekor bundle as layer annotations), on connaisseur's real one (a GitHub-OAuth identity,
// 2024, production Fulcio, Rekor and CT log).

const SIG_DIGEST: &str = "sha256:31dc72a13a0c34b40eb95419d2b2fd67320c856baf3b72da518023ee8d370aee";
const SIG_SUBJECT: &str = "philipp.belitz@securesystems.de";
const SIG_ISSUER: &str = "https://github.com/login/oauth";

/// The production root and the evidence of connaisseur's keyless signature.
fn keyless_sig() -> Option<(Value, Vec<u8>)> {
    let (root, _) = setup()?;
    let vectors = vectors_dir()?;
    let dir = vectors.join("connaisseur/test/testdata/cosign/securesystemsengineering/testimage");
    let manifest = read(&dir.join(format!(
        "manifests/sha256-{}.sig.json",
        SIG_DIGEST.trim_start_matches("sha256:")
    )));
    let payload_digest = "sha256:897d9e862b4599b723442f36ed7b4cfd1628bb7656643c56855988cac161d065";
    let payload = read(&dir.join(format!("blobs/{payload_digest}.json")));
    let evidence = json!({
        "image": "index.docker.io/phbelitz/rekor-test:latest",
        "digest": SIG_DIGEST,
        "signatureManifest": String::from_utf8(manifest).unwrap(),
        "blobs": {payload_digest: base64_encode(&payload)},
    });
    Some((root, serde_json::to_vec(&evidence).unwrap()))
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn a_real_keyless_sig_layer_verifies_under_its_identity_only() {
    let Some((root, evidence)) = keyless_sig() else {
        return;
    };
    let identity = |subject: &str, issuer: &str| {
        policy(
            &root,
            json!([{"name": "philipp", "issuer": issuer, "subject": subject}]),
        )
    };
    let verdict = expect(&identity(SIG_SUBJECT, SIG_ISSUER), &evidence, "verified");
    assert_eq!(verdict["satisfiedKeys"], json!(["philipp"]));
    let layer = &verdict["signatures"][0];
    assert_eq!(layer["status"], "verified");
    assert_eq!(layer["key"], "philipp");
    assert!(layer["integratedTime"].as_i64().is_some());
    assert_eq!(
        verdict["message"], "signed by philipp (threshold 1)",
        "{verdict:#}"
    );
    // connaisseur's own rule for it: anchored patterns must cover the whole values.
    let patterns = policy(
        &root,
        json!([{"issuerRegExp": ".*github.*", "subjectRegExp": "philipp\\..*"}]),
    );
    expect(&patterns, &evidence, "verified");
    let unanchored = policy(
        &root,
        json!([{"issuerRegExp": "github", "subjectRegExp": "philipp"}]),
    );
    expect(&unanchored, &evidence, "identity_mismatch");

    expect(
        &identity("bob@gmail.com", SIG_ISSUER),
        &evidence,
        "identity_mismatch",
    );
    expect(
        &identity(SIG_SUBJECT, "https://accounts.google.com"),
        &evidence,
        "identity_mismatch",
    );
    // The same layer under a policy of keys only is a signature no key made.
    let keys_only = policy_with(
        &root,
        json!([]),
        json!({"keys": [Signer::new("alice", 1).key_entry()]}),
    );
    expect(&keys_only, &evidence, "no_matching_signature");
    // Without the Rekor bundle read, nothing proves when the certificate signed.
    let ignore = policy_with(
        &root,
        json!([{"issuer": SIG_ISSUER, "subject": SIG_SUBJECT}]),
        json!({"rekor": {"mode": "ignore"}}),
    );
    expect(&ignore, &evidence, "no_verified_time");
    // Without the CT log that signed its SCT.
    let mut no_ct = root.clone();
    no_ct["ctlogs"] = json!([]);
    expect(
        &policy(
            &no_ct,
            json!([{"issuer": SIG_ISSUER, "subject": SIG_SUBJECT}]),
        ),
        &evidence,
        "sct_invalid",
    );
}

/// The chain annotation is never trust material: a layer whose annotations carry a chain to a
/// root of the signer's making is judged against the policy's root only.
#[test]
fn a_sig_layers_chain_annotation_is_never_trusted() {
    let Some((root, evidence)) = keyless_sig() else {
        return;
    };
    let mut document: Value = serde_json::from_slice(&evidence).unwrap();
    let mut manifest: Value =
        serde_json::from_str(document["signatureManifest"].as_str().unwrap()).unwrap();
    // Another Fulcio's CAs in the policy; the layer's own chain names the real ones.
    let staging: Value = serde_json::from_slice(&read(&vectors_dir().unwrap().join(
        "sigstore-conformance/test/assets/bundle-verify/rekor2-happy-path/trusted_root.json",
    )))
    .unwrap();
    let mut other_ca = root.clone();
    other_ca["certificateAuthorities"] = staging["certificateAuthorities"].clone();
    let identity = json!([{"issuer": SIG_ISSUER, "subject": SIG_SUBJECT}]);
    assert!(
        manifest["layers"][0]["annotations"]["dev.sigstore.cosign/chain"]
            .as_str()
            .is_some_and(|chain| chain.contains("BEGIN CERTIFICATE"))
    );
    expect(
        &policy(&other_ca, identity.clone()),
        &evidence,
        "untrusted_certificate",
    );
    // And a certificate annotation that is not a certificate is a malformed signature.
    manifest["layers"][0]["annotations"]["dev.sigstore.cosign/certificate"] =
        json!("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    document["signatureManifest"] = json!(manifest.to_string());
    expect(
        &policy(&root, identity),
        &serde_json::to_vec(&document).unwrap(),
        "malformed_signature",
    );
}
