//! Attestations (issue #17): in-toto statements written by the real cosign 2.5 with
//! `cosign attest`, as legacy `.att` layers and as Sigstore bundle referrers
//! (`--new-bundle-format`), checked by `ocisig verify-attestation` and compared, case by case,
//! with `cosign verify-attestation`.

use super::{path, run_json, verdicts};
use crate::env::{
    self, Key, Registry, SIGN_V1, cosign_verifies_attestation, ocisig, shell, stdout,
};

const PROVENANCE: &str = r#"{"buildDefinition":{"buildType":"https://example.com/build/v1","externalParameters":{}},"runDetails":{"builder":{"id":"https://github.com/org/builder@v1"}}}"#;
const SLSA1: &str = "https://slsa.dev/provenance/v1";

/// Both storage formats, by name: `(label, new_bundle)`.
const FORMATS: [(&str, bool); 2] = [("att", false), ("bundle", true)];

/// A fresh image in `repo`, with SLSA provenance by `key` in the given format; its reference
/// `host/repo:v1` and digest.
fn attested(
    repo: &str,
    key: &Key,
    new_bundle: bool,
) -> Option<(&'static Registry, String, String)> {
    let registry = env::registry()?;
    let digest = registry.push(repo, &format!("{repo}:v1"));
    key.attest_with(
        &format!("{}@{digest}", registry.image(repo)),
        "slsaprovenance1",
        PROVENANCE,
        new_bundle,
    );
    Some((registry, format!("{}:v1", registry.image(repo)), digest))
}

fn verify_attestation(registry: &Registry, image: &str, extra: &[&str]) -> std::process::Output {
    run_json(registry, "verify-attestation", image, extra)
}

/// `ocisig verify-attestation --key KEY --type TYPE` denies `image` for `reason` (exit 1, no
/// statement handed over), and `cosign verify-attestation` refuses it too; the verdict.
fn refused_by_both(
    registry: &Registry,
    image: &str,
    key: &Key,
    predicate_type: &str,
    new_bundle: bool,
    reason: &str,
) -> serde_json::Value {
    let output = verify_attestation(
        registry,
        image,
        &["--key", path(key), "--type", predicate_type],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let (found, verdict) = outcome(&output);
    assert_eq!(found, reason, "{verdict}");
    assert!(verdict.get("statements").is_none(), "{verdict}");
    assert!(!cosign_verifies_attestation(
        image,
        &key.public,
        predicate_type,
        new_bundle
    ));
    verdict
}

/// The one verdict's reason, and the verdict.
fn outcome(output: &std::process::Output) -> (String, serde_json::Value) {
    let verdicts = verdicts(output);
    assert_eq!(verdicts.len(), 1, "{output:?}");
    let verdict = verdicts[0].clone();
    (verdict["reason"].as_str().unwrap().to_string(), verdict)
}

#[test]
fn provenance_in_both_formats_verifies_with_its_key_and_type_only() {
    let alice = Key::new("att-alice");
    let mallory = Key::new("att-mallory");
    for (format, new_bundle) in FORMATS {
        let repo = format!("att-ok-{format}");
        let Some((registry, image, digest)) = attested(&repo, &alice, new_bundle) else {
            return;
        };
        // The right key and type: verified, and the statement handed over whole.
        let output = verify_attestation(
            registry,
            &image,
            &["--key", path(&alice), "--type", "slsaprovenance1"],
        );
        assert_eq!(output.status.code(), Some(0), "{format}: {output:?}");
        let (_, verdict) = outcome(&output);
        assert_eq!(verdict["digest"], digest.as_str());
        let statements = verdict["statements"].as_array().unwrap();
        assert_eq!(statements.len(), 1, "{verdict}");
        assert_eq!(statements[0]["predicateType"], SLSA1);
        assert_eq!(statements[0]["format"], format);
        assert_eq!(statements[0]["signer"], "att-alice");
        assert_eq!(
            statements[0]["predicate"]["runDetails"]["builder"]["id"],
            "https://github.com/org/builder@v1"
        );
        assert!(cosign_verifies_attestation(
            &image,
            &alice.public,
            "slsaprovenance1",
            new_bundle
        ));
        // The same by URI, in text: the predicate type and the subject are printed.
        let output = ocisig(&[
            "verify-attestation",
            &image,
            "--insecure-registry",
            &registry.host,
            "--key",
            path(&alice),
            "--type",
            SLSA1,
        ]);
        assert_eq!(output.status.code(), Some(0), "{format}: {output:?}");
        let text = stdout(&output);
        assert!(text.starts_with("verified  "), "{text}");
        assert!(text.contains(&format!("statement {SLSA1}")), "{text}");
        assert!(
            text.contains(&format!("subject {}", registry.image(&repo))),
            "{text}"
        );

        // The wrong type, and the wrong key: refused, as cosign refuses them.
        let (wrong_type, wrong_key) = ("predicate_type_mismatch", "no_matching_signature");
        refused_by_both(registry, &image, &alice, "spdxjson", new_bundle, wrong_type);
        refused_by_both(
            registry,
            &image,
            &mallory,
            "slsaprovenance1",
            new_bundle,
            wrong_key,
        );
    }
}

#[test]
fn an_att_layer_whose_annotation_and_statement_disagree_is_denied() {
    let alice = Key::new("att-disagree");
    let Some(registry) = env::registry() else {
        return;
    };
    let digest = registry.push("att-disagree", "att-disagree:v1");
    let image = format!("{}:v1", registry.image("att-disagree"));
    // A custom statement, its layer then annotated as provenance.
    alice.attest_with(
        &format!("{}@{digest}", registry.image("att-disagree")),
        "custom",
        "{}",
        false,
    );
    shell(&format!(
        "att_op annotate {} att-disagree {digest} {SLSA1}",
        registry.host
    ));
    let verdict = refused_by_both(
        registry,
        &image,
        &alice,
        "slsaprovenance1",
        false,
        "predicate_type_mismatch",
    );
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("annotation says it is"),
        "{verdict}"
    );
}

#[test]
fn an_attestation_of_another_image_or_altered_is_refused() {
    let alice = Key::new("att-copy");
    let Some(registry) = env::registry() else {
        return;
    };
    // Legacy: the .att manifest of another image of the repository, put under this one's tag.
    let digest = registry.push("att-copy", "att-copy:v1");
    let image = format!("{}:v1", registry.image("att-copy"));
    let donor = registry.push("att-copy donor", "att-copy:donor");
    alice.attest_with(
        &format!("{}@{donor}", registry.image("att-copy")),
        "slsaprovenance1",
        PROVENANCE,
        false,
    );
    shell(&format!(
        "att_op copy {} att-copy {digest} {donor}",
        registry.host
    ));
    let copied = "claim_digest_mismatch";
    refused_by_both(registry, &image, &alice, "slsaprovenance1", false, copied);

    // Bundles: another image's referrers, and a bundle whose statement was changed.
    let Some((registry, image, digest)) = attested("att-bundle-copy", &alice, true) else {
        return;
    };
    let other = registry.push("att-bundle-copy other", "att-bundle-copy:other");
    shell(&format!(
        "referrers_op copy {} att-bundle-copy {other} {digest}",
        registry.host
    ));
    let other_image = format!("{}@{other}", registry.image("att-bundle-copy"));
    let elsewhere = "subject_mismatch";
    refused_by_both(
        registry,
        &other_image,
        &alice,
        "slsaprovenance1",
        true,
        elsewhere,
    );
    shell(&format!(
        "referrers_op tamper {} att-bundle-copy {digest}",
        registry.host
    ));
    let tampered = "no_matching_signature";
    refused_by_both(registry, &image, &alice, "slsaprovenance1", true, tampered);
}

#[test]
fn conditions_on_the_predicate_hold_or_deny() {
    let alice = Key::new("att-conditions");
    for (format, new_bundle) in FORMATS {
        let repo = format!("att-conditions-{format}");
        let Some((registry, image, _)) = attested(&repo, &alice, new_bundle) else {
            return;
        };
        // A policy of one attestation rule and no signature rules: the image carries no
        // signature, only the attestation.
        let dir = env::tempdir("att-conditions");
        let policy = |builder: serde_json::Value| {
            let file = dir.join(format!("policy-{}.json", builder.to_string().len()));
            let document = serde_json::json!({
                "formats": [if new_bundle { "bundle" } else { "simplesigning" }],
                "attestations": [{
                    "name": "provenance",
                    "predicateType": "slsaprovenance1",
                    "keys": [{"name": "alice", "publicKey": std::fs::read_to_string(&alice.public).unwrap()}],
                    "conditions": {
                        "/buildDefinition/buildType": {"equals": "https://example.com/build/v1"},
                        "/runDetails/builder/id": builder,
                    },
                }],
            });
            std::fs::write(&file, document.to_string()).unwrap();
            file
        };
        let holds = policy(serde_json::json!({"prefix": "https://github.com/org/"}));
        let output = run_json(
            registry,
            "verify",
            &image,
            &["--policy", holds.to_str().unwrap()],
        );
        assert_eq!(output.status.code(), Some(0), "{format}: {output:?}");
        let (_, verdict) = outcome(&output);
        assert_eq!(verdict["statements"][0]["rule"], "provenance", "{verdict}");
        let fails = policy(serde_json::json!({"oneOf": ["https://github.com/other/builder@v1"]}));
        let output = run_json(
            registry,
            "verify",
            &image,
            &["--policy", fails.to_str().unwrap()],
        );
        assert_eq!(output.status.code(), Some(1), "{format}: {output:?}");
        let (reason, verdict) = outcome(&output);
        assert_eq!(reason, "condition_not_met", "{format}: {verdict}");
        assert!(
            verdict["message"]
                .as_str()
                .unwrap()
                .contains("/runDetails/builder/id"),
            "{verdict}"
        );
        assert!(verdict.get("statements").is_none(), "{verdict}");
    }
}

#[test]
fn a_signature_is_never_provenance() {
    let alice = Key::new("att-sign");
    let Some(registry) = env::registry() else {
        return;
    };
    let digest = registry.push("att-sign", "att-sign:v1");
    let image = format!("{}:v1", registry.image("att-sign"));
    // cosign v3's signature: a bundle of cosign's sign/v1 type.
    alice.attest(
        &format!("{}@{digest}", registry.image("att-sign")),
        SIGN_V1,
        true,
    );
    let verdict = refused_by_both(
        registry,
        &image,
        &alice,
        "slsaprovenance1",
        true,
        "predicate_type_mismatch",
    );
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("a cosign image signature"),
        "{verdict}"
    );
    // And asking for cosign's signature type as an attestation is a usage error.
    let output = verify_attestation(
        registry,
        &image,
        &["--key", path(&alice), "--type", SIGN_V1],
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}
