//! ocisig as a Kubewarden policy: a waPC guest that verifies cosign signatures *inside* the
//! module, admits workloads whose images pass, pins their tags to the verified digests, and
//! rejects the rest naming each failing image and its reason code.
//!
//! The guest asks the host only for what Kubewarden's capabilities give: an image's digest
//! (`kubewarden/oci/v1/manifest_digest`) and the `.sig` manifest (`kubewarden/oci/v1/oci_manifest`).
//! Payload blobs are rebuilt and hash-checked (see [`ocisig::evidence::rebuild`]). A raw-policy request
//! may instead carry a whole evidence document, which is verified with no host calls.
//!
//! The logic is host-independent ([`admission::Host`]); the waPC glue is in `guest`.

pub mod admission;
pub mod settings;

#[cfg(target_family = "wasm")]
mod guest;
#[cfg(target_family = "wasm")]
pub use guest::wapc_init;

use serde::Serialize;

/// Kubewarden's `SettingsValidationResponse`.
#[derive(Debug, Serialize)]
pub struct SettingsValidationResponse {
    /// Whether the settings are usable.
    pub valid: bool,
    /// Why not, naming the field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Handles a `validate_settings` payload (the settings JSON).
pub fn validate_settings(payload: &[u8]) -> SettingsValidationResponse {
    match settings::Settings::from_json(payload) {
        Ok(_) => SettingsValidationResponse {
            valid: true,
            message: None,
        },
        Err(error) => SettingsValidationResponse {
            valid: false,
            message: Some(error.to_string()),
        },
    }
}

/// The waPC protocol version this policy speaks, as `protocol_version` returns it.
pub const PROTOCOL_VERSION: &str = "v1";
