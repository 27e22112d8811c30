//! Attestation rules (issue #17), each case through the native core, the raw module and the
//! OPA module, byte-identical: `.att` layers and bundle referrers, their signers, subjects,
//! predicate types and conditions, and what the verdict hands over.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::schema::{assert_valid, schema};
use crate::support::*;

const IMAGE: &str = "registry.example/app:1.0";
const SLSA1: &str = "https://slsa.dev/provenance/v1";
const DSSE: &str = "application/vnd.dsse.envelope.v1+json";

fn digest() -> String {
    sha256(b"the attested image")
}

/// An in-toto statement about `digest` of `predicate_type` with this predicate.
fn statement_with(digest: &str, predicate_type: &str, predicate: &Value) -> Vec<u8> {
    json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": predicate_type,
        "subject": [{"name": "registry.example/app", "digest": {"sha256": digest.trim_start_matches("sha256:")}}],
        "predicate": predicate,
    })
    .to_string()
    .into_bytes()
}

fn provenance() -> Value {
    json!({
        "buildDefinition": {"buildType": "https://example.com/build/v1"},
        "runDetails": {"builder": {"id": "https://github.com/org/builder@v1"}},
    })
}

/// A DSSE envelope as cosign writes an `.att` layer's blob, signed by `signer`.
fn envelope(signer: &Signer, statement: &[u8]) -> Vec<u8> {
    json!({
        "payloadType": IN_TOTO,
        "payload": BASE64.encode(statement),
        "signatures": [{"keyid": "", "sig": signer.sign(&pae(IN_TOTO, statement))}],
    })
    .to_string()
    .into_bytes()
}

/// An `.att` manifest naming these envelopes, each with its `predicateType` annotation.
fn att_manifest(layers: &[(&[u8], &str)]) -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 233, "digest": sha256(b"config")},
        "layers": layers.iter().map(|(blob, predicate_type)| json!({
            "mediaType": DSSE,
            "size": blob.len(),
            "digest": sha256(blob),
            "annotations": {"dev.cosignproject.cosign/signature": "", "predicateType": predicate_type},
        })).collect::<Vec<_>>(),
    })
    .to_string()
}

/// Evidence with an `.att` manifest of these layers (each blob carried), and referrers.
fn att_evidence(layers: &[(&[u8], &str)], referrers: &[Referrer]) -> Vec<u8> {
    let mut document: Value =
        serde_json::from_slice(&evidence_with_referrers(IMAGE, &digest(), referrers, None))
            .unwrap();
    if !layers.is_empty() {
        document["attestationManifest"] = att_manifest(layers).into();
    }
    for (blob, _) in layers {
        document["blobs"][sha256(blob)] = BASE64.encode(blob).into();
    }
    serde_json::to_vec(&document).unwrap()
}

/// A policy of one attestation rule (`rule` merged in) signed by `signers`, and `extra`.
fn rule_policy(signers: &[&Signer], rule: Value, extra: Value) -> Vec<u8> {
    let mut rule_doc = json!({
        "name": "provenance",
        "predicateType": "slsaprovenance1",
        "keys": signers.iter().map(|s| s.key_entry()).collect::<Vec<_>>(),
    });
    if let (Some(doc), Value::Object(rule)) = (rule_doc.as_object_mut(), rule) {
        doc.extend(rule);
    }
    let mut doc = json!({"attestations": [rule_doc]});
    if let (Some(doc), Value::Object(extra)) = (doc.as_object_mut(), extra) {
        doc.extend(extra);
    }
    serde_json::to_vec(&doc).unwrap()
}

#[test]
fn an_att_layer_and_a_bundle_of_provenance_verify_and_hand_over_their_statement() {
    let alice = Signer::new("alice", 41);
    let statement = statement_with(&digest(), SLSA1, &provenance());
    let envelope = envelope(&alice, &statement);
    let policy = rule_policy(&[&alice], json!({}), json!({}));
    let (verdict_schema, policy_schema, evidence_schema) =
        (schema("verdict"), schema("policy"), schema("evidence"));
    assert_valid(
        &policy_schema,
        &serde_json::from_slice(&policy).unwrap(),
        "policy",
    );

    let legacy = att_evidence(&[(&envelope, SLSA1)], &[]);
    assert_valid(
        &evidence_schema,
        &serde_json::from_slice(&legacy).unwrap(),
        "evidence",
    );
    let verdict = expect(&policy, &legacy, "verified");
    assert_valid(&verdict_schema, &verdict, "verdict");
    assert_eq!(verdict["message"], "attested: provenance by alice");
    let statements = verdict["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["format"], "att");
    assert_eq!(statements[0]["signer"], "alice");
    assert_eq!(statements[0]["subject"], "registry.example/app");
    assert_eq!(statements[0]["predicate"], provenance());
    assert_eq!(verdict["attestations"][0]["source"], "0");

    let bundle = bundle(&alice, &statement);
    let referrers = [(referrer(&digest(), &bundle), Some(bundle.clone()))];
    let modern = att_evidence(&[], &referrers);
    let verdict = expect(&policy, &modern, "verified");
    assert_valid(&verdict_schema, &verdict, "verdict");
    assert_eq!(verdict["statements"][0]["format"], "bundle");
    assert_eq!(verdict["statements"][0]["predicate"], provenance());
    // With only the other format accepted, nothing is there to meet the rule.
    let policy = rule_policy(&[&alice], json!({}), json!({"formats": ["simplesigning"]}));
    expect(&policy, &modern, "no_attestations");
}

#[test]
fn the_wrong_signer_type_image_or_bytes_are_refused_for_their_reason() {
    let alice = Signer::new("alice", 42);
    let mallory = Signer::new("mallory", 43);
    let statement = statement_with(&digest(), SLSA1, &provenance());
    let signed = envelope(&alice, &statement);
    let policy = rule_policy(&[&alice], json!({}), json!({}));

    // Another key.
    let forged = envelope(&mallory, &statement);
    expect(
        &policy,
        &att_evidence(&[(&forged, SLSA1)], &[]),
        "no_matching_signature",
    );
    // Another type, honestly annotated: passed over without a signature check.
    let sbom = statement_with(&digest(), "https://spdx.dev/Document", &json!({}));
    let sbom = envelope(&alice, &sbom);
    let verdict = expect(
        &policy,
        &att_evidence(&[(&sbom, "https://spdx.dev/Document")], &[]),
        "predicate_type_mismatch",
    );
    assert_eq!(verdict["attestations"][0]["key"], Value::Null);
    // Annotated as provenance over a statement of another type: a denial, even beside a good
    // layer that follows it.
    let verdict = expect(
        &policy,
        &att_evidence(&[(&sbom, SLSA1), (&signed, SLSA1)], &[]),
        "predicate_type_mismatch",
    );
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("annotation says it is"),
        "{verdict}"
    );
    // Another image's attestation.
    let elsewhere = envelope(
        &alice,
        &statement_with(&sha256(b"other"), SLSA1, &provenance()),
    );
    expect(
        &policy,
        &att_evidence(&[(&elsewhere, SLSA1)], &[]),
        "claim_digest_mismatch",
    );
    // Bytes that are not the descriptor's: one changed, then one more.
    let mut document: Value =
        serde_json::from_slice(&att_evidence(&[(&signed, SLSA1)], &[])).unwrap();
    let mut changed = signed.clone();
    changed[0] ^= 1;
    document["blobs"][sha256(&signed)] = BASE64.encode(&changed).into();
    expect(
        &policy,
        &serde_json::to_vec(&document).unwrap(),
        "payload_digest_mismatch",
    );
    changed.push(b' ');
    document["blobs"][sha256(&signed)] = BASE64.encode(&changed).into();
    expect(
        &policy,
        &serde_json::to_vec(&document).unwrap(),
        "payload_size_mismatch",
    );
    // A cosign v3 signature offered as provenance.
    let signature = bundle(&alice, &crate::support::statement(&digest(), SIGN_V1, None));
    let verdict = expect(
        &policy,
        &att_evidence(&[], &[(referrer(&digest(), &signature), Some(signature))]),
        "predicate_type_mismatch",
    );
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("a cosign image signature")
    );
    // A bundle whose statement was changed after signing.
    let tampered = String::from_utf8(bundle(&alice, &statement))
        .unwrap()
        .replace(
            &BASE64.encode(&statement),
            &BASE64.encode(statement_with(&digest(), SLSA1, &json!({"forged": true}))),
        )
        .into_bytes();
    expect(
        &policy,
        &att_evidence(&[], &[(referrer(&digest(), &tampered), Some(tampered))]),
        "no_matching_signature",
    );
    // No attestation at all.
    expect(&policy, &att_evidence(&[], &[]), "no_attestations");
}

#[test]
fn conditions_decide_after_the_signature_and_only_verified_statements_are_handed_over() {
    let alice = Signer::new("alice", 44);
    let signed = envelope(&alice, &statement_with(&digest(), SLSA1, &provenance()));
    let evidence = att_evidence(&[(&signed, SLSA1)], &[]);
    let holds = rule_policy(
        &[&alice],
        json!({"conditions": {
            "/buildDefinition/buildType": {"equals": "https://example.com/build/v1"},
            "/runDetails/builder/id": {"prefix": "https://github.com/org/"},
        }}),
        json!({}),
    );
    expect(&holds, &evidence, "verified");
    let fails = rule_policy(
        &[&alice],
        json!({"conditions": {"/runDetails/builder/id": {"oneOf": ["https://github.com/other/b@v1"]}}}),
        json!({}),
    );
    let verdict = expect(&fails, &evidence, "condition_not_met");
    assert!(verdict.get("statements").is_none(), "{verdict}");
    assert_eq!(verdict["attestations"][0]["key"], "alice");
    assert_valid(&schema("verdict"), &verdict, "verdict");
}

#[test]
fn attestation_rules_stand_beside_signature_rules() {
    let alice = Signer::new("alice", 45);
    let bob = Signer::new("bob", 46);
    let statement = statement_with(&digest(), SLSA1, &provenance());
    let att = envelope(&alice, &statement);
    let signature = Layer::signed(
        &alice,
        cosign_payload(&digest(), "registry.example/app", None),
    );
    // Signature rules and a rule that lends the policy's keys: both must be met.
    let mut policy: Value = serde_json::from_slice(&policy(&[&alice], json!({}))).unwrap();
    policy["attestations"] = json!([{"predicateType": "slsaprovenance1"}]);
    let policy = serde_json::to_vec(&policy).unwrap();
    let mut both: Value = serde_json::from_slice(&att_evidence(&[(&att, SLSA1)], &[])).unwrap();
    let signed_only: Value = serde_json::from_slice(&evidence(
        IMAGE,
        &digest(),
        Some(std::slice::from_ref(&signature)),
    ))
    .unwrap();
    both["signatureManifest"] = signed_only["signatureManifest"].clone();
    for (name, blob) in signed_only["blobs"].as_object().unwrap() {
        both["blobs"][name] = blob.clone();
    }
    let verdict = expect(&policy, &serde_json::to_vec(&both).unwrap(), "verified");
    assert_eq!(
        verdict["message"],
        "signed by alice (threshold 1); attested: slsaprovenance1 by alice"
    );
    // Signed, not attested.
    let verdict = expect(
        &policy,
        &serde_json::to_vec(&signed_only).unwrap(),
        "no_attestations",
    );
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .starts_with("attestation rule \"slsaprovenance1\"")
    );
    // Attested, not signed: the signature rule fails first.
    expect(
        &policy,
        &att_evidence(&[(&att, SLSA1)], &[]),
        "no_signatures",
    );

    // A threshold of two signers, met across the two formats.
    let policy = rule_policy(&[&alice, &bob], json!({"threshold": 2}), json!({}));
    let by_bob = bundle(&bob, &statement);
    let evidence = att_evidence(
        &[(&att, SLSA1)],
        &[(referrer(&digest(), &by_bob), Some(by_bob.clone()))],
    );
    let verdict = expect(&policy, &evidence, "verified");
    assert_eq!(verdict["statements"].as_array().unwrap().len(), 2);
    expect(
        &policy,
        &att_evidence(&[(&att, SLSA1)], &[]),
        "threshold_not_met",
    );
}

#[test]
fn a_large_predicate_is_verified_but_left_out_of_the_verdict() {
    let alice = Signer::new("alice", 47);
    let big = json!({"packages": "x".repeat(70_000)});
    let signed = envelope(&alice, &statement_with(&digest(), SLSA1, &big));
    let verdict = expect(
        &rule_policy(&[&alice], json!({}), json!({})),
        &att_evidence(&[(&signed, SLSA1)], &[]),
        "verified",
    );
    assert_eq!(verdict["statements"][0]["predicateOmitted"], true);
    assert!(verdict["statements"][0].get("predicate").is_none());
}

#[test]
fn attestation_rules_are_checked_when_the_policy_is_read() {
    let alice = Signer::new("alice", 48);
    for (rule, extra, needle) in [
        (
            json!({"predicateType": "slsaprovenance2"}),
            json!({}),
            "neither one of cosign's names",
        ),
        (
            json!({"predicateType": SIGN_V1}),
            json!({}),
            "not an attestation",
        ),
        (
            json!({"conditions": {"x": {"equals": 1}}}),
            json!({}),
            "JSON pointer",
        ),
        (
            json!({"conditions": {"/x": {"matches": "a"}}}),
            json!({}),
            "not a test",
        ),
        (json!({"threshold": 2}), json!({}), "threshold"),
        (json!({"keys": []}), json!({}), "no keys or identities"),
        (
            json!({}),
            json!({"threshold": 2}),
            "apply to keys and identities",
        ),
    ] {
        let policy = rule_policy(&[&alice], rule.clone(), extra);
        let verdict = expect(&policy, &att_evidence(&[], &[]), "invalid_policy");
        assert!(
            verdict["message"].as_str().unwrap().contains(needle),
            "{rule}: {verdict}"
        );
    }
}

/// The Rego example of docs/opa.md (`policies/opa/rego/provenance.rego`), run by a Rego
/// interpreter over the verdicts the OPA module gives: it admits verified provenance from an
/// allowed builder, and nothing else.
#[test]
fn the_rego_example_admits_only_verified_provenance_from_an_allowed_builder() {
    let alice = Signer::new("alice", 49);
    let signed = envelope(&alice, &statement_with(&digest(), SLSA1, &provenance()));
    let policy = rule_policy(&[&alice], json!({}), json!({}));
    let rego = read_text(&repo_root().join("policies/opa/rego/provenance.rego"));
    let decide = |evidence: &[u8], allowed: Value| -> (bool, Value) {
        // The verdict as the OPA module gives it (and, by `run`, as every engine does).
        let verdict: Value =
            serde_json::from_str(&opa_verdict(&policy, evidence).expect("OPA verdict")).unwrap();
        assert_eq!(verdict, run(&policy, evidence));
        let mut engine = regorus::Engine::new();
        engine
            .add_policy("provenance.rego".into(), rego.clone())
            .unwrap();
        let data = json!({"ocisig": {"verify": verdict}, "allowed_builders": allowed});
        engine
            .add_data(regorus::Value::from_json_str(&data.to_string()).unwrap())
            .unwrap();
        engine.set_input(
            regorus::Value::from_json_str(std::str::from_utf8(evidence).unwrap()).unwrap(),
        );
        let allow = engine
            .eval_rule("data.ocisig.provenance.allow".into())
            .unwrap();
        let deny = engine
            .eval_rule("data.ocisig.provenance.deny".into())
            .unwrap();
        let deny: Value = serde_json::from_str(&deny.to_json_str().unwrap()).unwrap();
        (allow == regorus::Value::from(true), deny)
    };
    let attested = att_evidence(&[(&signed, SLSA1)], &[]);
    let (allow, deny) = decide(&attested, json!(["https://github.com/org/builder@v1"]));
    assert!(allow, "{deny}");
    assert_eq!(deny, json!([]));
    let (allow, deny) = decide(&attested, json!(["https://github.com/other/builder@v1"]));
    assert!(!allow);
    assert!(deny.to_string().contains("builder@v1"), "{deny}");
    // Forged provenance naming an allowed builder: ocisig denies it, so the Rego does too.
    let mallory = Signer::new("mallory", 50);
    let forged = envelope(&mallory, &statement_with(&digest(), SLSA1, &provenance()));
    let (allow, deny) = decide(
        &att_evidence(&[(&forged, SLSA1)], &[]),
        json!(["https://github.com/org/builder@v1"]),
    );
    assert!(!allow);
    assert!(deny.to_string().contains("no_matching_signature"), "{deny}");
}

/// Real keyless SLSA v1 provenance (the sigstore-conformance suite's
/// `happy-path-intoto-in-dsse-v3`: a GitHub Actions workflow's Fulcio certificate, Rekor v1),
/// attached to its subject as a bundle referrer: verified under its true identity, with its
/// predicate handed over; refused under another identity, and under a condition it fails.
#[test]
fn real_keyless_provenance_meets_a_rule_of_its_identity_only() {
    let Some(vectors) = vectors_dir() else {
        return;
    };
    let case =
        vectors.join("sigstore-conformance/test/assets/bundle-verify/happy-path-intoto-in-dsse-v3");
    let bundle = read(&case.join("bundle.sigstore.json"));
    let root = conformance_trusted_root(&vectors, &case);
    let digest = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";
    let evidence = evidence_with_referrers(
        "registry.example/a.txt:1",
        digest,
        &[(referrer(digest, &bundle), Some(bundle))],
        None,
    );
    let beacon = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    let policy = |subject: &str, builder: &str| {
        serde_json::to_vec(&json!({
            "trustedRoot": root,
            "attestations": [{
                "name": "provenance",
                "predicateType": "slsaprovenance1",
                "identities": [{"name": "beacon", "issuer": "https://token.actions.githubusercontent.com", "subject": subject}],
                "conditions": {"/runDetails/builder/id": {"prefix": builder}},
            }],
        }))
        .unwrap()
    };
    let verdict = expect(
        &policy(beacon, "https://github.com/loosebazooka/"),
        &evidence,
        "verified",
    );
    assert_valid(&schema("verdict"), &verdict, "verdict");
    assert_eq!(verdict["statements"][0]["signer"], "beacon");
    assert_eq!(verdict["statements"][0]["format"], "bundle");
    assert_eq!(
        verdict["statements"][0]["predicate"]["runDetails"]["builder"]["id"],
        "https://github.com/loosebazooka/aa-test/.github/workflows/provenance.yaml@refs/heads/main"
    );
    expect(
        &policy(
            "https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main",
            "",
        ),
        &evidence,
        "identity_mismatch",
    );
    expect(
        &policy(beacon, "https://github.com/someone-else/"),
        &evidence,
        "condition_not_met",
    );
}

/// Issue #28's smaller finding: a legacy `.att` envelope may carry several signatures, and
/// cosign accepts it when any verifies under the key. Each signature that verifies counts for
/// its signer, each signer once; garbage beside a good one is passed over; the cap on their
/// number comes before any is checked. (A Sigstore bundle's envelope still has exactly one.)
#[test]
fn an_att_envelope_with_several_signatures_counts_each_signer_once() {
    let alice = Signer::new("alice", 41);
    let bob = Signer::new("bob", 42);
    let statement = statement_with(&digest(), SLSA1, &provenance());
    let signature =
        |signer: &Signer| json!({"keyid": "", "sig": signer.sign(&pae(IN_TOTO, &statement))});
    let envelope_of = |signatures: Vec<Value>| {
        json!({"payloadType": IN_TOTO, "payload": BASE64.encode(&statement), "signatures": signatures})
            .to_string()
            .into_bytes()
    };
    let garbage = json!({"keyid": "", "sig": BASE64.encode(b"not a signature")});

    // The first garbage, the second by the trusted key: verified.
    let envelope = envelope_of(vec![garbage.clone(), signature(&alice)]);
    let policy = rule_policy(&[&alice], json!({}), json!({}));
    let verdict = expect(
        &policy,
        &att_evidence(&[(&envelope, SLSA1)], &[]),
        "verified",
    );
    assert_eq!(verdict["statements"][0]["signer"], "alice");

    // Only garbage: the first signature's failure.
    let envelope = envelope_of(vec![garbage.clone(), garbage.clone()]);
    let verdict = expect(
        &policy,
        &att_evidence(&[(&envelope, SLSA1)], &[]),
        "malformed_signature",
    );
    assert_eq!(verdict["attestations"].as_array().map(Vec::len), Some(1));

    // Alice and Bob in one envelope meet a threshold of two; Alice twice counts once.
    let two = rule_policy(&[&alice, &bob], json!({"threshold": 2}), json!({}));
    let envelope = envelope_of(vec![signature(&alice), signature(&bob)]);
    let verdict = expect(&two, &att_evidence(&[(&envelope, SLSA1)], &[]), "verified");
    let signers: Vec<&Value> = verdict["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["signer"])
        .collect();
    assert_eq!(signers, [&json!("alice"), &json!("bob")]);
    let envelope = envelope_of(vec![signature(&alice), signature(&alice)]);
    let verdict = expect(
        &two,
        &att_evidence(&[(&envelope, SLSA1)], &[]),
        "threshold_not_met",
    );
    assert_eq!(verdict["attestations"].as_array().map(Vec::len), Some(1));
    assert_eq!(verdict["attestations"][0]["key"], "alice");

    // Seventeen signatures: refused before any is checked, naming the envelope, not a bundle.
    let envelope = envelope_of(vec![signature(&alice); 17]);
    let verdict = expect(
        &policy,
        &att_evidence(&[(&envelope, SLSA1)], &[]),
        "malformed_signature",
    );
    let message = verdict["attestations"][0]["message"].as_str().unwrap();
    assert_eq!(verdict["attestations"][0]["status"], "malformed_signature");
    assert!(
        message.contains("envelope signatures: 17 signatures; an envelope has 1 to 16")
            && !message.contains("bundle"),
        "{message}"
    );
}
