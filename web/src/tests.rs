//! The JavaScript API, run under Node by wasm-bindgen-test (`make test-web`), over the bundled
//! cosign-made examples. Unit tests of the library rather than an integration test, so that
//! the crate is only a cdylib: with an rlib beside it, rustc skips the link-time optimization
//! and the module grows by 15 KB gzipped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use js_sys::{Array, JSON, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

const SIGNED_POLICY: &str = include_str!("../../examples/signed/policy.json");
const SIGNED_EVIDENCE: &str = include_str!("../../examples/signed/evidence.json");
const OTHER_IMAGE_EVIDENCE: &str = include_str!("../../examples/other-image/evidence.json");
const OTHER_IMAGE_POLICY: &str = include_str!("../../examples/other-image/policy.json");
const ALICE: &str = include_str!("../../examples/keys/alice.pub");

fn get(value: &JsValue, path: &str) -> JsValue {
    path.split('.')
        .fold(value.clone(), |value, key| match key.parse::<u32>() {
            Ok(index) => Array::from(&value).get(index),
            Err(_) => Reflect::get(&value, &JsValue::from_str(key)).unwrap(),
        })
}

fn text(value: &JsValue, path: &str) -> String {
    get(value, path)
        .as_string()
        .unwrap_or_else(|| panic!("{path} is not a string"))
}

#[wasm_bindgen_test]
fn verify_takes_json_text_and_returns_the_verdict_object() {
    let verdict = crate::verify(&SIGNED_POLICY.into(), &SIGNED_EVIDENCE.into());
    assert_eq!(get(&verdict, "verified"), JsValue::TRUE);
    assert_eq!(text(&verdict, "reason"), "verified");
    assert_eq!(text(&verdict, "signatures.0.key"), "alice");
}

#[wasm_bindgen_test]
fn verify_takes_objects_too_and_matches_the_native_core_byte_for_byte() {
    let policy = JSON::parse(SIGNED_POLICY).unwrap();
    let evidence = JSON::parse(OTHER_IMAGE_EVIDENCE).unwrap();
    let verdict = crate::verify(&policy, &evidence);
    assert_eq!(text(&verdict, "reason"), "claim_digest_mismatch");
    let native = ocisig::verify_json(
        OTHER_IMAGE_POLICY.as_bytes(),
        OTHER_IMAGE_EVIDENCE.as_bytes(),
    );
    assert_eq!(
        JSON::stringify(&verdict).unwrap().as_string().unwrap(),
        native.to_json()
    );
}

#[wasm_bindgen_test]
fn unreadable_input_is_a_denial_not_an_exception() {
    let verdict = crate::verify(&"{not json".into(), &SIGNED_EVIDENCE.into());
    assert_eq!(text(&verdict, "reason"), "invalid_policy");
    let verdict = crate::verify(&SIGNED_POLICY.into(), &JsValue::UNDEFINED);
    assert_eq!(text(&verdict, "reason"), "invalid_evidence");
    assert_eq!(get(&verdict, "verified"), JsValue::FALSE);
}

#[wasm_bindgen_test]
fn inspect_key_names_the_type_and_fingerprint() {
    let key = crate::inspect_key(ALICE).unwrap();
    assert_eq!(text(&key, "kind"), "ECDSA P-256");
    assert_eq!(text(&key, "algorithm"), "ecdsa-p256");
    let fingerprint = text(&key, "fingerprint");
    assert!(
        fingerprint.starts_with("sha256:") && fingerprint.len() == 71,
        "{fingerprint}"
    );
    assert!(
        crate::inspect_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").is_err()
    );
}

#[wasm_bindgen_test]
fn inspect_evidence_shows_layers_payloads_and_the_claim() {
    let summary = crate::inspect_evidence(&SIGNED_EVIDENCE.into()).unwrap();
    assert_eq!(Array::from(&get(&summary, "layers")).length(), 1);
    let digest = text(&summary, "digest");
    assert_eq!(text(&summary, "layers.0.payload.claimedDigest"), digest);
    assert_eq!(
        get(&summary, "layers.0.payload.claimMatchesImage"),
        JsValue::TRUE
    );
    assert_eq!(
        get(&summary, "layers.0.payload.digestMatches"),
        JsValue::TRUE
    );
    assert!(text(&summary, "layers.0.signature").len() > 40);
    let other = crate::inspect_evidence(&OTHER_IMAGE_EVIDENCE.into()).unwrap();
    assert_eq!(
        get(&other, "layers.0.payload.claimMatchesImage"),
        JsValue::FALSE
    );
    assert!(crate::inspect_evidence(&"{}".into()).is_err());
}

#[wasm_bindgen_test]
fn layer_checks_list_the_core_order() {
    let checks = Array::from(&crate::layer_checks());
    assert_eq!(checks.length(), 13);
    assert_eq!(text(&checks.get(0), "status"), "wrong_media_type");
    assert_eq!(text(&checks.get(6), "status"), "no_matching_signature");
    assert_eq!(text(&checks.get(12), "status"), "annotation_mismatch");
}

#[wasm_bindgen_test]
fn evidence_built_from_parts_verifies_like_the_fetched_document() {
    let fetched = JSON::parse(SIGNED_EVIDENCE).unwrap();
    let blobs = get(&fetched, "blobs");
    let payloads: Vec<String> = js_sys::Object::values(&blobs.into())
        .iter()
        .map(|b64| {
            let decoded = js_sys::global();
            let atob = Reflect::get(&decoded, &"atob".into()).unwrap();
            let atob = js_sys::Function::from(atob);
            atob.call1(&JsValue::NULL, &b64)
                .unwrap()
                .as_string()
                .unwrap()
        })
        .collect();
    let built = crate::build_evidence(
        &text(&fetched, "image"),
        &text(&fetched, "digest"),
        &text(&fetched, "signatureManifest"),
        payloads,
    )
    .unwrap();
    let verdict = crate::verify(&SIGNED_POLICY.into(), &built.into());
    assert_eq!(text(&verdict, "reason"), "verified");
    assert!(crate::build_evidence("img", "sha256:zz", "", vec![]).is_err());
}
