//! The ocisig verifier for JavaScript, through wasm-bindgen. The same core and contracts as
//! every other host: policy and evidence JSON in, the verdict out (`verify`; `decide` for a
//! policy set too), plus read-only views for a page to show (`inspectKey`, `inspectEvidence`,
//! `layerChecks`).
//!
//! Documents may be passed as JSON text or as plain JavaScript objects; results are plain
//! objects. `verify` never throws: unreadable input is a denial with a reason, as everywhere.

use std::collections::BTreeMap;

use js_sys::JSON;
use ocisig::{Evidence, Sha256Digest};
use wasm_bindgen::prelude::*;

/// The bytes of a document given as JSON text or as an object.
fn document_bytes(value: &JsValue) -> Result<Vec<u8>, String> {
    if let Some(text) = value.as_string() {
        return Ok(text.into_bytes());
    }
    JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .map(String::into_bytes)
        .ok_or_else(|| "not JSON text and not an object JSON.stringify accepts".into())
}

/// JSON text (always produced by serde here) as a JavaScript value.
fn to_js(json: &str) -> JsValue {
    JSON::parse(json).unwrap_or_else(|_| JsValue::from_str(json))
}

/// Verifies `evidence` against `policy` and returns the verdict object
/// (`docs/contracts.md`).
#[wasm_bindgen]
pub fn verify(policy: &JsValue, evidence: &JsValue) -> JsValue {
    let verdict = match (document_bytes(policy), document_bytes(evidence)) {
        (Ok(policy), Ok(evidence)) => ocisig::verify_json(&policy, &evidence),
        (Err(why), _) => {
            ocisig::Verdict::denied(ocisig::Reason::InvalidPolicy, format!("policy: {why}"))
        }
        (_, Err(why)) => {
            ocisig::Verdict::denied(ocisig::Reason::InvalidEvidence, format!("evidence: {why}"))
        }
    };
    to_js(&verdict.to_json())
}

/// Decides `evidence` under `document`, a policy or a policy set (`docs/policy-sets.md`): the
/// verdict object for a policy, the set verdict (`allowed`, each matching rule with its
/// verdict, warnings) for a set. Never throws.
#[wasm_bindgen]
pub fn decide(document: &JsValue, evidence: &JsValue) -> JsValue {
    match (document_bytes(document), document_bytes(evidence)) {
        (Ok(document), Ok(evidence)) => to_js(&ocisig::decide_json(&document, &evidence).1),
        (Err(why), _) => to_js(
            &ocisig::Verdict::denied(ocisig::Reason::InvalidPolicy, format!("policy: {why}"))
                .to_json(),
        ),
        (_, Err(why)) => to_js(
            &ocisig::Verdict::denied(ocisig::Reason::InvalidEvidence, format!("evidence: {why}"))
                .to_json(),
        ),
    }
}

/// Describes a PEM public key: `{kind, algorithm, fingerprint}`.
///
/// # Errors
/// Throws when it is not a supported public key, saying why.
#[wasm_bindgen(js_name = inspectKey)]
pub fn inspect_key(pem: &str) -> Result<JsValue, JsError> {
    let description =
        ocisig::host::inspect::describe_key(pem).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(to_js(&serialize(&description)))
}

/// Lays out an evidence document for display: its layers, digests, annotations and decoded
/// (unverified) payloads.
///
/// # Errors
/// Throws when the document is not valid evidence, naming the field.
#[wasm_bindgen(js_name = inspectEvidence)]
pub fn inspect_evidence(evidence: &JsValue) -> Result<JsValue, JsError> {
    let bytes = document_bytes(evidence).map_err(|e| JsError::new(&e))?;
    let evidence = Evidence::from_json(&bytes).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(to_js(&serialize(
        &ocisig::host::inspect::summarize_evidence(&evidence),
    )))
}

/// The per-layer checks in the order they run: `[{status, check, failure}]`.
#[wasm_bindgen(js_name = layerChecks)]
pub fn layer_checks() -> JsValue {
    to_js(&serialize(&ocisig::host::inspect::LAYER_CHECKS))
}

/// The certificate checks of a keyless signature in the order they run:
/// `[{status, check, failure}]`.
#[wasm_bindgen(js_name = keylessChecks)]
pub fn keyless_checks() -> JsValue {
    to_js(&serialize(&ocisig::host::inspect::KEYLESS_CHECKS))
}

/// Builds an evidence document (as JSON text) from its parts: the image reference, its
/// digest, the `.sig` manifest text (empty for none) and the payloads, each keyed by its own
/// sha256.
///
/// # Errors
/// Throws when the digest is not `sha256:<64 hex>`.
#[wasm_bindgen(js_name = buildEvidence)]
pub fn build_evidence(
    image: &str,
    digest: &str,
    signature_manifest: &str,
    payloads: Vec<String>,
) -> Result<String, JsError> {
    let digest =
        Sha256Digest::parse(digest.trim()).map_err(|e| JsError::new(&format!("digest: {e}")))?;
    let blobs: BTreeMap<Sha256Digest, Vec<u8>> = payloads
        .into_iter()
        .map(String::into_bytes)
        .map(|bytes| (Sha256Digest::of(&bytes), bytes))
        .collect();
    let manifest = Some(signature_manifest.to_string()).filter(|m| !m.trim().is_empty());
    Ok(Evidence::new(image.trim().to_string(), digest, manifest, blobs).to_json())
}

fn serialize(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests;
