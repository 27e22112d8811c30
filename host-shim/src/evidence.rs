//! Fetching evidence documents from image sources.

use anyhow::bail;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::json;

use crate::layout::{self, LayoutSource};

/// Fetches the evidence for `source` and returns it as an evidence JSON document
/// (docs/contracts.md).
///
/// # Errors
/// When the source cannot be read, or is a kind of source this build cannot fetch.
pub fn fetch(source: &str, limits: &ocisig::LimitsDocument) -> anyhow::Result<Vec<u8>> {
    let Some(layout_source) = LayoutSource::parse(source) else {
        bail!(
            "{source:?}: fetching from registries is not available in this build yet; give an \
             OCI layout as oci:DIR[:TAG] (for example `cosign save` output), or an evidence \
             document to `ocisig eval`"
        );
    };
    let found = layout::read(&layout_source, limits)?;
    let blobs: serde_json::Map<String, serde_json::Value> = found
        .blobs
        .iter()
        .map(|(digest, bytes)| (digest.to_string(), BASE64.encode(bytes).into()))
        .collect();
    Ok(serde_json::to_vec(&json!({
        "image": source,
        "digest": found.digest.to_string(),
        "signatureManifest": found.signature_manifest,
        "blobs": blobs,
    }))?)
}
