//! Gatekeeper's external data protocol: a ProviderRequest lists image keys, the
//! ProviderResponse answers each with the verified digest or an error naming the reason code.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::State;
use super::checker::{Checked, Failure};

/// The protocol versions read; the answer uses the request's.
const API_VERSIONS: [&str; 2] = [
    "externaldata.gatekeeper.sh/v1beta1",
    "externaldata.gatekeeper.sh/v1alpha1",
];

/// The most keys one request may list.
pub const MAX_KEYS: usize = 1000;

fn response(api_version: &str, items: Vec<Value>, system_error: Option<String>) -> Value {
    let mut body = json!({"idempotent": true, "items": items});
    if let Some(error) = system_error {
        body["systemError"] = json!(error);
    }
    json!({"apiVersion": api_version, "kind": "ProviderResponse", "response": body})
}

/// What a verified key is answered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `/gatekeeper/verify`: the verified digest alone, for a constraint to compare.
    Digest,
    /// `/gatekeeper/mutate`: the whole pinned reference (`repo:tag@sha256:…`, as the resolve
    /// webhook writes it), which Gatekeeper's `Assign` puts in place of the image field.
    PinnedReference,
}

/// Answers one ProviderRequest: `Ok` with the response, or `Err` with a response that has
/// only a `systemError` (for a request that is not a ProviderRequest; sent with 400).
///
/// # Errors
/// The `systemError` response for a malformed request.
pub async fn handle(state: &Arc<State>, body: &[u8], answer: Answer) -> Result<Value, Value> {
    let bad = |what: String| response(API_VERSIONS[0], Vec::new(), Some(what));
    let request = ocisig::encoding::json::parse_value(body)
        .map_err(|err| bad(format!("not a ProviderRequest: {err}")))?;
    let api_version = request
        .get("apiVersion")
        .and_then(Value::as_str)
        .filter(|version| API_VERSIONS.contains(version))
        .ok_or_else(|| bad(format!("apiVersion must be {}", API_VERSIONS[0])))?
        .to_string();
    if request.get("kind").and_then(Value::as_str) != Some("ProviderRequest") {
        return Err(bad("kind must be ProviderRequest".into()));
    }
    let keys = request
        .pointer("/request/keys")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("request.keys must be a list of image references".into()))?;
    if keys.len() > MAX_KEYS {
        return Err(bad(format!(
            "{} keys; at most {MAX_KEYS} are read in one request",
            keys.len()
        )));
    }
    let keys: Vec<String> = keys
        .iter()
        .map(|key| key.as_str().map(str::to_string))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("every key must be a string".into()))?;
    let deadline = Instant::now() + state.options.gatekeeper_timeout;
    // Gatekeeper's keys are what the pod spec says, tags included.
    let checks = state
        .each_image(&keys, move |state, policy, key| async move {
            // Gatekeeper tells the provider the image alone: a rule that would apply to it by
            // namespace or resource cannot be decided here, and is refused rather than
            // applied everywhere or nowhere (docs/gatekeeper.md).
            let scoped = policy.scoped_rules_for(&key);
            if !scoped.is_empty() {
                let named: Vec<String> = scoped
                    .iter()
                    .map(|(name, what)| format!("rule {name:?} selects by {what}"))
                    .collect();
                return Checked::Failed {
                    failure: Failure::Unscoped,
                    message: format!(
                        "{}, which Gatekeeper's provider is not told; decide this image with \
                         the Lakom webhooks or the Kubewarden policy, or drop those conditions",
                        named.join("; ")
                    ),
                };
            }
            let admitted = ocisig::host::workload::Admitted::default();
            state
                .checker
                .check(&key, &admitted, &policy, true, deadline)
                .await
        })
        .await;
    let items = keys
        .into_iter()
        .zip(checks)
        .map(|(key, checked)| match checked {
            // Gatekeeper has no warnings channel: a set's failing warn rules admit here with
            // the digest, and are only logged (docs/gatekeeper.md).
            Ok(Checked::Verified { digest, warnings }) => {
                for warning in &warnings {
                    super::log(&format!("admitted with a warning: {key}: {warning}"));
                }
                let value = match answer {
                    Answer::Digest => digest.to_string(),
                    Answer::PinnedReference => {
                        super::admission::pinned_reference(state, &key, &digest)
                            .unwrap_or_else(|| key.clone())
                    }
                };
                json!({"key": key, "value": value})
            }
            Ok(other) | Err(other) => {
                json!({"key": key, "error": format!("{}: {}", other.code(), other.message())})
            }
        })
        .collect();
    Ok(response(&api_version, items, None))
}
