//! `POST /v1/verify`: images in, one decision per image out, under the policy (or policy set)
//! in force, through the same checker, cache and singleflight as the webhooks. For callers
//! that are not admission controllers: OPA's `http.send`, Kyverno's `apiCall` service calls,
//! scripts. The shapes are `docs/schema/serve-verify-request.schema.json` and
//! `serve-verify-response.schema.json`.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::State;
use super::checker::Checked;

/// The most images one request may list.
pub const MAX_IMAGES: usize = 1000;

/// Answers one request: `Ok` with the results, or `Err` with why the request is malformed
/// (sent with 400).
///
/// # Errors
/// A sentence naming what is wrong with the request.
pub async fn handle(state: &Arc<State>, body: &[u8]) -> Result<Value, String> {
    let request = ocisig::encoding::json::parse_value(body)
        .map_err(|err| format!("the request is not JSON: {err}"))?;
    let Value::Object(fields) = &request else {
        return Err("the request must be an object: {\"images\": [...]}".into());
    };
    if let Some(unknown) = fields.keys().find(|key| *key != "images") {
        return Err(format!(
            "unknown field {unknown:?}; the request is {{\"images\": [...]}}"
        ));
    }
    let images: Vec<String> = fields
        .get("images")
        .and_then(Value::as_array)
        .ok_or("images must be a list of image references")?
        .iter()
        .map(|image| image.as_str().map(str::to_string))
        .collect::<Option<_>>()
        .ok_or("every image must be a string")?;
    if images.is_empty() || images.len() > MAX_IMAGES {
        return Err(format!(
            "{} images; a request lists 1 to {MAX_IMAGES}",
            images.len()
        ));
    }
    let deadline = Instant::now() + state.options.timeout;
    let checks = state
        .each_image(&images, move |state, policy, image| async move {
            // No scope is known here: rules with namespaces or `match` apply.
            let admitted = ocisig::host::workload::Admitted::default();
            state
                .checker
                .check(&image, &admitted, &policy, true, deadline)
                .await
        })
        .await;
    let results: Vec<Value> = images
        .into_iter()
        .zip(checks)
        .map(|(image, checked)| match checked {
            Ok(Checked::Verified { digest, warnings }) => {
                let mut result = json!({"image": image, "allowed": true, "reason": "verified",
                    "message": format!("verified {digest}"), "digest": digest.to_string()});
                if !warnings.is_empty() {
                    result["warnings"] = json!(warnings);
                }
                result
            }
            Ok(other) | Err(other) => json!({"image": image, "allowed": false,
                "reason": other.code(), "message": other.message()}),
        })
        .collect();
    Ok(json!({ "results": results }))
}
