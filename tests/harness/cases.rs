//! Cases generated here with P-256 signing, one per check and reason code.

use serde_json::{Value, json};

use crate::support::*;

const IMAGE: &str = "registry.example/team/app:v1";
const REPO: &str = "registry.example/team/app";

fn digest_of(name: &str) -> String {
    sha256(name.as_bytes())
}

fn good_payload() -> Vec<u8> {
    cosign_payload(&digest_of("app"), REPO, None)
}

fn alice() -> Signer {
    Signer::new("alice", 1)
}
fn bob() -> Signer {
    Signer::new("bob", 2)
}
fn carol() -> Signer {
    Signer::new("carol", 3)
}

fn one_layer(layer: Layer) -> Vec<u8> {
    evidence(IMAGE, &digest_of("app"), Some(&[layer]))
}

#[test]
fn verifies_a_good_signature_and_reports_the_key() {
    let a = alice();
    let v = expect(
        &policy(&[&a], json!({})),
        &one_layer(Layer::signed(&a, good_payload())),
        "verified",
    );
    assert_eq!(v["satisfiedKeys"], json!(["alice"]));
    assert_eq!(v["signatures"][0]["status"], "verified");
    assert_eq!(v["signatures"][0]["key"], "alice");
    assert_eq!(v["digest"], digest_of("app"));
    assert_eq!(v["image"], IMAGE);
    assert!(v["policyDigest"].as_str().unwrap().starts_with("sha256:"));
}

#[test]
fn no_manifest_and_empty_manifest_are_no_signatures() {
    let a = alice();
    let p = policy(&[&a], json!({}));
    expect(
        &p,
        &evidence(IMAGE, &digest_of("app"), None),
        "no_signatures",
    );
    expect(
        &p,
        &evidence(IMAGE, &digest_of("app"), Some(&[])),
        "no_signatures",
    );
}

#[test]
fn wrong_key_is_no_matching_signature() {
    let (a, b) = (alice(), bob());
    let v = expect(
        &policy(&[&b], json!({})),
        &one_layer(Layer::signed(&a, good_payload())),
        "no_matching_signature",
    );
    assert_eq!(v["signatures"][0]["key"], Value::Null);
}

#[test]
fn signature_of_another_image_is_claim_digest_mismatch() {
    let a = alice();
    let payload = cosign_payload(&digest_of("other"), REPO, None);
    let v = expect(
        &policy(&[&a], json!({})),
        &one_layer(Layer::signed(&a, payload)),
        "claim_digest_mismatch",
    );
    // The signature itself was good: the verdict names the key that made it.
    assert_eq!(v["signatures"][0]["key"], "alice");
}

#[test]
fn threshold_counts_distinct_keys_only() {
    let (a, b, c) = (alice(), bob(), carol());
    let p = policy(&[&a, &b, &c], json!({"threshold": 2}));
    let twice_alice = [
        Layer::signed(&a, good_payload()),
        Layer::signed(&a, good_payload()),
    ];
    let v = expect(
        &p,
        &evidence(IMAGE, &digest_of("app"), Some(&twice_alice)),
        "threshold_not_met",
    );
    assert_eq!(v["satisfiedKeys"], json!(["alice"]));
    let alice_and_carol = [
        Layer::signed(&a, good_payload()),
        Layer::signed(&c, good_payload()),
    ];
    let v = expect(
        &p,
        &evidence(IMAGE, &digest_of("app"), Some(&alice_and_carol)),
        "verified",
    );
    assert_eq!(v["satisfiedKeys"], json!(["alice", "carol"]));
}

#[test]
fn required_keys_must_sign_even_when_the_threshold_is_met() {
    let (a, b) = (alice(), bob());
    let p = policy(&[&a, &b], json!({"required": ["bob"]}));
    let v = expect(
        &p,
        &one_layer(Layer::signed(&a, good_payload())),
        "required_key_missing",
    );
    assert!(v["message"].as_str().unwrap().contains("bob"));
    let both = [
        Layer::signed(&a, good_payload()),
        Layer::signed(&b, good_payload()),
    ];
    expect(
        &p,
        &evidence(IMAGE, &digest_of("app"), Some(&both)),
        "verified",
    );
}

#[test]
fn stops_as_soon_as_the_policy_is_satisfied() {
    let (a, b) = (alice(), bob());
    let layers = [
        Layer::signed(&a, good_payload()),
        Layer::signed(&b, good_payload()),
        Layer::signed(&b, good_payload()),
    ];
    let v = expect(
        &policy(&[&a, &b], json!({})),
        &evidence(IMAGE, &digest_of("app"), Some(&layers)),
        "verified",
    );
    assert_eq!(v["signatures"].as_array().unwrap().len(), 1);
}

#[test]
fn annotations_must_hold_in_the_layer_that_verifies() {
    let a = alice();
    let optional = json!({"env": "prod", "team": "payments"});
    let payload = cosign_payload(&digest_of("app"), REPO, Some(&optional));
    let e = one_layer(Layer::signed(&a, payload));
    expect(
        &policy(&[&a], json!({"annotations": {"env": "prod"}})),
        &e,
        "verified",
    );
    expect(
        &policy(&[&a], json!({"annotations": {"env": "dev"}})),
        &e,
        "annotation_mismatch",
    );
    expect(
        &policy(&[&a], json!({"annotations": {"owner": "x"}})),
        &e,
        "annotation_mismatch",
    );
    // A non-string value never equals a policy string.
    let numeric = cosign_payload(&digest_of("app"), REPO, Some(&json!({"env": 1})));
    expect(
        &policy(&[&a], json!({"annotations": {"env": "1"}})),
        &one_layer(Layer::signed(&a, numeric)),
        "annotation_mismatch",
    );
}

#[test]
fn annotations_from_two_different_layers_do_not_combine() {
    let a = alice();
    let env = cosign_payload(&digest_of("app"), REPO, Some(&json!({"env": "prod"})));
    let team = cosign_payload(&digest_of("app"), REPO, Some(&json!({"team": "payments"})));
    let layers = [Layer::signed(&a, env), Layer::signed(&a, team)];
    expect(
        &policy(
            &[&a],
            json!({"annotations": {"env": "prod", "team": "payments"}}),
        ),
        &evidence(IMAGE, &digest_of("app"), Some(&layers)),
        "annotation_mismatch",
    );
}

#[test]
fn match_reference_compares_normalized_repositories() {
    let a = alice();
    let p = policy(&[&a], json!({"matchReference": true}));
    expect(
        &p,
        &one_layer(Layer::signed(&a, good_payload())),
        "verified",
    );
    let elsewhere = cosign_payload(&digest_of("app"), "registry.example/team/other", None);
    expect(
        &p,
        &one_layer(Layer::signed(&a, elsewhere)),
        "reference_mismatch",
    );
    // Docker Hub short names normalize to cosign's index.docker.io form.
    let hub = cosign_payload(&digest_of("app"), "index.docker.io/library/busybox", None);
    let e = evidence(
        "busybox:1.36",
        &digest_of("app"),
        Some(&[Layer::signed(&a, hub)]),
    );
    expect(&p, &e, "verified");
    // Without matchReference the reference is not checked, as with cosign.
    let e = one_layer(Layer::signed(
        &a,
        cosign_payload(&digest_of("app"), "x.example/y", None),
    ));
    expect(&policy(&[&a], json!({})), &e, "verified");
}

#[test]
fn match_reference_needs_a_registry_reference() {
    let a = alice();
    let e = evidence(
        "oci:/tmp/layout",
        &digest_of("app"),
        Some(&[Layer::signed(&a, good_payload())]),
    );
    expect(
        &policy(&[&a], json!({"matchReference": true})),
        &e,
        "invalid_evidence",
    );
}

#[test]
fn signed_payloads_with_duplicate_or_case_folded_keys_are_malformed() {
    let a = alice();
    let p = policy(&[&a], json!({}));
    let d = digest_of("app");
    let duplicate = format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{REPO}"}},"image":{{"docker-manifest-digest":"{d}"}},"type":"cosign container image signature","type":"x"}},"optional":null}}"#
    );
    expect(
        &p,
        &one_layer(Layer::signed(&a, duplicate.into_bytes())),
        "malformed_payload",
    );
    // Go's decoder would take the second spelling for the struct field; we refuse both.
    let folded = format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{REPO}"}},"image":{{"docker-manifest-digest":"{d}","Docker-manifest-digest":"{}"}},"type":"cosign container image signature"}},"optional":null}}"#,
        digest_of("other")
    );
    expect(
        &p,
        &one_layer(Layer::signed(&a, folded.into_bytes())),
        "malformed_payload",
    );
}

#[test]
fn signed_payloads_of_the_wrong_shape_are_malformed() {
    let a = alice();
    let p = policy(&[&a], json!({}));
    let d = digest_of("app");
    let cases = [
        b"not json".to_vec(),
        b"[]".to_vec(),
        b"{\"optional\":null}".to_vec(),
        format!(r#"{{"critical":{{"image":{{"docker-manifest-digest":"{d}"}},"type":"something else"}}}}"#).into_bytes(),
        br#"{"critical":{"image":{"docker-manifest-digest":7},"type":"cosign container image signature"}}"#.to_vec(),
        format!(r#"{{"critical":{{"image":{{"docker-manifest-digest":"{d}"}},"type":"cosign container image signature"}},"optional":[]}}"#).into_bytes(),
        b"{\"critical\":{\"a\":\"\xff\"}}".to_vec(),
    ];
    for payload in cases {
        expect(
            &p,
            &one_layer(Layer::signed(&a, payload)),
            "malformed_payload",
        );
    }
}

#[test]
fn payload_blob_must_match_its_descriptor() {
    let a = alice();
    let p = policy(&[&a], json!({}));
    let mut missing = Layer::signed(&a, good_payload());
    missing.blob = None;
    expect(&p, &one_layer(missing), "payload_missing");
    let mut short = Layer::signed(&a, good_payload());
    short.size = Some(10);
    expect(&p, &one_layer(short), "payload_size_mismatch");
    // A registry that serves other bytes under the descriptor's digest.
    let mut swapped = Layer::signed(&a, good_payload());
    let mut other = good_payload();
    other[0] = b' ';
    swapped.blob = Some(other);
    expect(&p, &one_layer(swapped), "payload_digest_mismatch");
    let mut media = Layer::signed(&a, good_payload());
    media.media_type = "application/vnd.oci.image.layer.v1.tar".into();
    expect(&p, &one_layer(media), "wrong_media_type");
}

#[test]
fn signatures_must_be_standard_base64_of_der() {
    let a = alice();
    let p = policy(&[&a], json!({}));
    // Find a signature whose encoding has padding and a '+' or '/', so that the unpadded and
    // URL-safe spellings really differ from the standard one.
    let (payload, encoded) = (0..)
        .map(|n| {
            let payload =
                cosign_payload(&digest_of("app"), REPO, Some(&json!({"n": n.to_string()})));
            let encoded = a.sign(&payload);
            (payload, encoded)
        })
        .find(|(_, e)| e.ends_with('=') && e.contains(['+', '/']))
        .unwrap();
    let good = Layer::signed(&a, payload);
    assert_eq!(good.signature.as_deref(), Some(encoded.as_str()));
    expect(&p, &one_layer(good.clone()), "verified");
    let variants = [
        None,
        Some(String::new()),
        Some(format!("{encoded} ")),
        Some(format!("{}\n{}", &encoded[..10], &encoded[10..])),
        Some(encoded.replace('+', "-").replace('/', "_")),
        Some(encoded.trim_end_matches('=').to_string()),
        // r = s = 0 (CVE-2022-21449).
        Some("MAYCAQACAQA=".into()),
        // 64 raw bytes (IEEE P1363), not DER.
        Some(base64_of(&[0x42; 64])),
    ];
    for signature in variants {
        assert_ne!(signature.as_deref(), Some(encoded.as_str()));
        let mut layer = good.clone();
        layer.signature = signature.clone();
        let v = expect(&p, &one_layer(layer), "malformed_signature");
        assert_eq!(
            v["signatures"][0]["status"], "malformed_signature",
            "{signature:?}"
        );
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn a_signature_over_re_encoded_json_does_not_verify() {
    // Signing a re-serialization and shipping the original bytes must fail: we verify the raw
    // bytes, never a re-encoding.
    let a = alice();
    let payload = good_payload();
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&payload).unwrap()).unwrap();
    let mut layer = Layer::signed(&a, payload);
    layer.signature = Some(a.sign(&pretty));
    expect(
        &policy(&[&a], json!({})),
        &one_layer(layer),
        "no_matching_signature",
    );
}

#[test]
fn the_top_level_reason_is_the_layer_that_got_furthest() {
    let (a, b) = (alice(), bob());
    let p = policy(&[&a], json!({}));
    let wrong_key = Layer::signed(&b, good_payload());
    let other_image = Layer::signed(&a, cosign_payload(&digest_of("other"), REPO, None));
    let v = expect(
        &p,
        &evidence(
            IMAGE,
            &digest_of("app"),
            Some(&[wrong_key.clone(), other_image]),
        ),
        "claim_digest_mismatch",
    );
    assert!(
        v["message"].as_str().unwrap().starts_with("layer 1:"),
        "{v:#}"
    );
    assert_eq!(v["signatures"][0]["status"], "no_matching_signature");
    // Ties go to the lowest layer.
    let v = expect(
        &p,
        &evidence(
            IMAGE,
            &digest_of("app"),
            Some(&[wrong_key.clone(), wrong_key]),
        ),
        "no_matching_signature",
    );
    assert!(
        v["message"].as_str().unwrap().starts_with("layer 0:"),
        "{v:#}"
    );
}

#[test]
fn manifest_problems_are_typed() {
    let a = alice();
    let p = policy(&[&a], json!({}));
    let with_manifest = |manifest: &str| {
        serde_json::to_vec(&json!({"image": IMAGE, "digest": digest_of("app"), "signatureManifest": manifest, "blobs": {}})).unwrap()
    };
    expect(&p, &with_manifest("not json"), "malformed_manifest");
    expect(
        &p,
        &with_manifest(r#"{"schemaVersion":1,"layers":[]}"#),
        "malformed_manifest",
    );
    expect(
        &p,
        &with_manifest(r#"{"schemaVersion":2}"#),
        "malformed_manifest",
    );
    expect(
        &p,
        &with_manifest(r#"{"schemaVersion":2,"layers":[],"layers":[]}"#),
        "malformed_manifest",
    );
    expect(
        &p,
        &with_manifest(
            r#"{"schemaVersion":2,"layers":[{"mediaType":"x","size":-1,"digest":"sha256:00"}]}"#,
        ),
        "malformed_manifest",
    );
}

#[test]
fn limits_are_enforced_before_the_work() {
    let a = alice();
    let layers: Vec<Layer> = (0..3).map(|_| Layer::signed(&a, good_payload())).collect();
    let e = evidence(IMAGE, &digest_of("app"), Some(&layers));
    let v = expect(
        &policy(&[&a], json!({"limits": {"maxLayers": 2}})),
        &e,
        "limit_exceeded",
    );
    assert_eq!(
        v["signatures"],
        json!([]),
        "no layer is examined past the cap"
    );
    expect(
        &policy(&[&a], json!({"limits": {"maxManifestBytes": 100}})),
        &e,
        "limit_exceeded",
    );
    let v = expect(
        &policy(&[&a], json!({"limits": {"maxPayloadBytes": 100}})),
        &e,
        "limit_exceeded",
    );
    assert_eq!(v["signatures"][0]["status"], "limit_exceeded");
}

#[test]
fn invalid_policies_are_refused_with_the_field_named() {
    let (a, b) = (alice(), bob());
    let e = one_layer(Layer::signed(&a, good_payload()));
    let twin = json!({"keys": [a.key_entry(), {"name": "again", "publicKey": a.public_pem()}]});
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{".to_vec(), "policy"),
        (br#"{"keys":[]}"#.to_vec(), "keys"),
        (policy(&[&a], json!({"threshold": 0})), "threshold"),
        (policy(&[&a], json!({"threshold": 2})), "threshold"),
        (policy(&[&a], json!({"required": ["bob"]})), "required"),
        (policy(&[&a], json!({"unknown": true})), "unknown"),
        (
            policy(&[&a], json!({"limits": {"maxLayers": 0}})),
            "maxLayers",
        ),
        (
            policy(&[&a], json!({"limits": {"maxLayers": 100000}})),
            "maxLayers",
        ),
        (policy(&[&a], json!({"limits": {"other": 1}})), "other"),
        (
            serde_json::to_vec(&json!({"keys": [a.key_entry(), a.key_entry()]})).unwrap(),
            "used twice",
        ),
        (serde_json::to_vec(&twin).unwrap(), "same key"),
        (
            serde_json::to_vec(&json!({"keys": [{"name": "", "publicKey": a.public_pem()}]}))
                .unwrap(),
            "name",
        ),
        (
            serde_json::to_vec(&json!({"keys": [{"name": "x", "publicKey": "nope"}]})).unwrap(),
            "publicKey",
        ),
        (
            serde_json::to_vec(
                &json!({"keys": [{"name": "x", "publicKey": b.public_pem(), "extra": 1}]}),
            )
            .unwrap(),
            "extra",
        ),
        (br#"{"keys":[],"keys":[]}"#.to_vec(), "duplicate"),
    ];
    for (doc, needle) in cases {
        let v = expect(&doc, &e, "invalid_policy");
        let message = v["message"].as_str().unwrap();
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
}

#[test]
fn invalid_evidence_is_refused_with_the_field_named() {
    let a = alice();
    let p = policy(&[&a], json!({}));
    let d = digest_of("app");
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"image": IMAGE, "digest": d.to_uppercase()}),
            "digest",
        ),
        (json!({"image": IMAGE, "digest": "sha256:abc"}), "digest"),
        (json!({"image": "", "digest": d}), "image"),
        (json!({"digest": d}), "image"),
        (
            json!({"image": IMAGE, "digest": d, "blobs": {"sha256:zz": ""}}),
            "blobs",
        ),
        (
            json!({"image": IMAGE, "digest": d, "blobs": {d.clone(): "not base64!"}}),
            "base64",
        ),
        (json!({"image": IMAGE, "digest": d, "extra": 1}), "extra"),
    ];
    for (doc, needle) in cases {
        let v = expect(&p, &serde_json::to_vec(&doc).unwrap(), "invalid_evidence");
        let message = v["message"].as_str().unwrap();
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
}

#[test]
fn verdicts_are_deterministic() {
    let (a, b) = (alice(), bob());
    let p = policy(&[&a, &b], json!({"threshold": 2}));
    let e = one_layer(Layer::signed(&a, good_payload()));
    let first = ocisig::verify_json(&p, &e).to_json();
    for _ in 0..3 {
        assert_eq!(ocisig::verify_json(&p, &e).to_json(), first);
        assert_eq!(module().run(&p, &e).unwrap().json, first);
    }
}

#[test]
fn policy_digest_is_canonical() {
    let (a, b) = (alice(), bob());
    let e = one_layer(Layer::signed(&a, good_payload()));
    let digest = |p: &[u8]| run(p, &e)["policyDigest"].clone();
    let base = digest(&policy(&[&a, &b], json!({"required": ["bob", "alice"]})));
    // Defaults spelled out, other whitespace, other order of `required`, CRLF PEM.
    let spelled = json!({
        "threshold": 1, "matchReference": false, "annotations": {},
        "required": ["alice", "bob", "alice"],
        "limits": {"maxLayers": 1000, "maxPayloadBytes": 262144, "maxManifestBytes": 4194304},
        "keys": [a.key_entry(), {"name": "bob", "publicKey": b.public_pem().replace('\n', "\r\n")}],
    });
    assert_eq!(
        digest(serde_json::to_string_pretty(&spelled).unwrap().as_bytes()),
        base
    );
    assert_ne!(
        digest(&policy(&[&a, &b], json!({"required": ["bob"]}))),
        base
    );
    assert_ne!(
        digest(&policy(
            &[&a, &b],
            json!({"required": ["bob", "alice"], "threshold": 2})
        )),
        base
    );
}

#[test]
fn identical_layers_share_one_outcome() {
    let (a, b) = (alice(), bob());
    let layer = Layer::signed(&b, good_payload());
    let layers = vec![layer; 2000];
    let v = expect(
        &policy(&[&a], json!({"limits": {"maxLayers": 5000}})),
        &evidence(IMAGE, &digest_of("app"), Some(&layers)),
        "no_matching_signature",
    );
    let statuses = v["signatures"].as_array().unwrap();
    assert_eq!(statuses.len(), 2000);
    assert!(
        statuses
            .iter()
            .all(|s| s["status"] == "no_matching_signature" && s["key"].is_null())
    );
    // And an identical copy of a verifying layer still names its key.
    let twice = [
        Layer::signed(&b, good_payload()),
        Layer::signed(&b, good_payload()),
    ];
    let v = expect(
        &policy(&[&a, &b], json!({"threshold": 2})),
        &evidence(IMAGE, &digest_of("app"), Some(&twice)),
        "threshold_not_met",
    );
    assert_eq!(v["signatures"][1]["key"], "bob");
}
