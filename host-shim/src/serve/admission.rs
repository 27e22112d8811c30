//! Lakom's two admission webhooks, AdmissionReview v1 in and out:
//! - `resolve-tag-to-digest` (mutating) pins every image written with a tag to the digest the
//!   tag names now, as a JSONPatch;
//! - `verify-cosign-signature` (validating) admits only when every image verifies.

use std::sync::Arc;

use base64::Engine as _;
use ocisig::host::workload::{self, Admitted};
use ocisig::{Reference, Sha256Digest};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::State;
use super::checker::{Checked, Failure};

/// The AdmissionReview version served (Lakom's, and the only one Kubernetes still sends).
const API_VERSION: &str = "admission.k8s.io/v1";

/// Which webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    /// `POST /lakom/resolve-tag-to-digest`.
    Resolve,
    /// `POST /lakom/verify-cosign-signature`.
    Verify,
}

/// A request that is not an AdmissionReview: answered with 400 and this text.
#[derive(Debug)]
pub struct BadReview(pub String);

/// What the handler reads of a review.
struct Review {
    uid: String,
    kind: String,
    object: Value,
    /// Where the object is: what a policy set's namespaces and `match` read.
    admitted: Admitted,
}

fn parse(body: &[u8]) -> Result<Review, BadReview> {
    let bad = |what: &str| BadReview(format!("not an AdmissionReview {API_VERSION}: {what}"));
    let review = ocisig::encoding::json::parse_value(body).map_err(|err| bad(&err.to_string()))?;
    if review.get("apiVersion").and_then(Value::as_str) != Some(API_VERSION)
        || review.get("kind").and_then(Value::as_str) != Some("AdmissionReview")
    {
        return Err(bad(
            "apiVersion and kind must be admission.k8s.io/v1 AdmissionReview",
        ));
    }
    let request = review
        .get("request")
        .filter(|request| request.is_object())
        .ok_or_else(|| bad("it has no request"))?;
    let uid = request
        .get("uid")
        .and_then(Value::as_str)
        .filter(|uid| !uid.is_empty())
        .ok_or_else(|| bad("request.uid is missing"))?;
    let kind = request
        .pointer("/kind/kind")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("request.kind.kind is missing"))?;
    Ok(Review {
        uid: uid.to_string(),
        kind: kind.to_string(),
        object: request.get("object").cloned().unwrap_or(Value::Null),
        admitted: Admitted::of_request(request),
    })
}

/// The AdmissionReview answering `uid`.
fn review(uid: &str, response: Value) -> Value {
    let mut response = response;
    response["uid"] = json!(uid);
    json!({"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": response})
}

fn denied(code: u16, message: &str) -> Value {
    json!({"allowed": false, "status": {"code": code, "message": message}})
}

/// Handles one review.
///
/// # Errors
/// [`BadReview`] when the body is not an AdmissionReview v1 with a request.
pub async fn handle(state: &Arc<State>, hook: Hook, body: &[u8]) -> Result<Value, BadReview> {
    let request = parse(body)?;
    let Some(spec) = workload::pod_spec_pointer(&request.kind) else {
        // A kind that holds no images (or one the webhook configuration should not send).
        return Ok(review(&request.uid, json!({"allowed": true})));
    };
    let sites = match workload::images(&request.object, spec) {
        Ok(sites) => sites,
        Err(err) => {
            let message = format!("{}: {err}", request.kind);
            return Ok(review(&request.uid, denied(400, &message)));
        }
    };
    let response = match hook {
        Hook::Resolve => resolve(state, &sites).await,
        Hook::Verify => verify(state, &sites, request.admitted).await,
    };
    Ok(review(&request.uid, response))
}

/// Each image once, in the order first written.
fn distinct<'a>(sites: impl Iterator<Item = &'a workload::ImageSite>) -> Vec<String> {
    let mut images: Vec<String> = Vec::new();
    for site in sites {
        if !images.contains(&site.image) {
            images.push(site.image.clone());
        }
    }
    images
}

/// The answer for failures: a denial naming each image and its reason, or in warn mode an
/// admission carrying each as a warning, after the `warnings` already due.
fn refuse(
    state: &State,
    failures: &[(String, Checked)],
    patch: Option<Value>,
    mut warnings: Vec<String>,
) -> Value {
    let listed: Vec<(&str, &str, String)> = failures
        .iter()
        .map(|(image, checked)| (image.as_str(), checked.code(), checked.message()))
        .collect();
    let outcome = if state.options.warn_only {
        "admitted with a warning (--warn-only)"
    } else {
        "denied"
    };
    for (image, code, message) in &listed {
        super::log(&format!("{outcome}: {image}: {code}: {message}"));
    }
    if state.options.warn_only {
        warnings.extend(listed.iter().map(|(image, code, message)| {
            format!("ocisig: {image} not verified: {code}: {}", clip(message))
        }));
        let mut response = json!({"allowed": true, "warnings": warnings});
        if let Some(patch) = patch {
            with_patch(&mut response, &patch);
        }
        return response;
    }
    let borrowed: Vec<(&str, &str, &str)> = listed
        .iter()
        .map(|(image, code, message)| (*image, *code, message.as_str()))
        .collect();
    denied(403, &workload::rejection(&borrowed))
}

/// A warning short enough for `kubectl` to show whole.
fn clip(message: &str) -> String {
    const MAX: usize = 200;
    if message.len() <= MAX {
        return message.to_string();
    }
    let mut end = MAX;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

fn with_patch(response: &mut Value, patch: &Value) {
    response["patchType"] = json!("JSONPatch");
    response["patch"] =
        json!(base64::engine::general_purpose::STANDARD.encode(patch.to_string().as_bytes()));
}

async fn verify(state: &Arc<State>, sites: &[workload::ImageSite], admitted: Admitted) -> Value {
    let images = distinct(sites.iter());
    let deadline = Instant::now() + state.options.timeout;
    let admitted = Arc::new(admitted);
    let checks = state
        .each_image(&images, move |state, policy, image| {
            let admitted = Arc::clone(&admitted);
            async move {
                let allow_tags = state.options.allow_tags;
                state
                    .checker
                    .check(&image, &admitted, &policy, allow_tags, deadline)
                    .await
            }
        })
        .await;
    let mut warnings: Vec<String> = Vec::new();
    let failures: Vec<(String, Checked)> = images
        .into_iter()
        .zip(checks)
        .filter_map(|(image, checked)| match checked {
            Ok(Checked::Verified {
                warnings: warned, ..
            }) => {
                // A policy set's failing warn rules: admitted, and said so.
                for warning in warned {
                    super::log(&format!("admitted with a warning: {image}: {warning}"));
                    warnings.push(format!("ocisig: {image} not verified: {}", clip(&warning)));
                }
                None
            }
            Ok(other) | Err(other) => Some((image, other)),
        })
        .collect();
    if !failures.is_empty() {
        return refuse(state, &failures, None, warnings);
    }
    if warnings.is_empty() {
        json!({"allowed": true})
    } else {
        json!({"allowed": true, "warnings": warnings})
    }
}

async fn resolve(state: &Arc<State>, sites: &[workload::ImageSite]) -> Value {
    let deadline = Instant::now() + state.options.timeout;
    let tagged = distinct(sites.iter().filter(|site| !site.image.contains('@')));
    let lookups = state
        .each_image(&tagged, move |state, policy, image| async move {
            let reference = Reference::parse(&image).map_err(|err| Checked::Failed {
                failure: Failure::InvalidReference,
                message: err.to_string(),
            })?;
            state
                .checker
                .resolve(&reference, &policy, deadline)
                .await
                .map_err(|(failure, message)| Checked::Failed { failure, message })
        })
        .await;
    let mut pinned: Vec<(String, Sha256Digest)> = Vec::new();
    let mut failures = Vec::new();
    for (image, lookup) in tagged.into_iter().zip(lookups) {
        match lookup.and_then(|resolved| resolved) {
            Ok(digest) => pinned.push((image, digest)),
            Err(checked) => failures.push((image, checked)),
        }
    }
    let operations: Vec<Value> = sites
        .iter()
        .filter_map(|site| {
            let (_, digest) = pinned.iter().find(|(image, _)| *image == site.image)?;
            let value = pinned_reference(state, &site.image, digest)?;
            Some(json!({"op": "replace", "path": site.pointer, "value": value}))
        })
        .collect();
    let patch = (!operations.is_empty()).then_some(Value::Array(operations));
    if !failures.is_empty() {
        return refuse(state, &failures, patch, Vec::new());
    }
    let mut response = json!({"allowed": true});
    if let Some(patch) = patch {
        with_patch(&mut response, &patch);
    }
    response
}

/// `image` (written with a tag) pinned to `digest` as the resolve webhook writes it:
/// `repo:tag@sha256:…`, or `repo@sha256:…` with `--pin-digest-only`; `None` when it already
/// names a digest.
pub(super) fn pinned_reference(
    state: &State,
    image: &str,
    digest: &Sha256Digest,
) -> Option<String> {
    let written = if state.options.keep_tag {
        image
    } else {
        without_tag(image)
    };
    workload::pin(written, digest)
}

/// `repo` of `repo:tag`, as the core splits a reference ([`ocisig::oci::reference::split`]).
fn without_tag(image: &str) -> &str {
    ocisig::oci::reference::split(image).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_a_tag_but_never_a_port() {
        assert_eq!(without_tag("nginx:1.27"), "nginx");
        assert_eq!(without_tag("localhost:5000/app:v1"), "localhost:5000/app");
        assert_eq!(without_tag("localhost:5000/app"), "localhost:5000/app");
        assert_eq!(without_tag("busybox"), "busybox");
    }

    #[test]
    fn reads_only_admission_reviews_v1() {
        let ok = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},"object":{}}}"#;
        let review = parse(ok).unwrap();
        assert_eq!((review.uid.as_str(), review.kind.as_str()), ("u1", "Pod"));
        for bad in [
            &br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"}}}"#[..],
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#,
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"kind":{"kind":"Pod"}}}"#,
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","uid":"v","kind":{"kind":"Pod"}}}"#,
            b"[]",
            b"not json",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
