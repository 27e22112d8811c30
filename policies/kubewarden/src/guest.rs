//! The waPC glue: registers the three functions Kubewarden calls and routes host capabilities.

use wapc_guest::{CallResult, host_call, register_function};

use crate::admission::{self, Host, HostError};

/// Called by the waPC host once, after instantiation.
// SAFETY: `no_mangle` exports the symbol under the name waPC hosts call; no other symbol in the
// module has this name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function("protocol_version", protocol_version);
}

/// Kubewarden's OCI capabilities, over `host_call`.
struct KubewardenHost;

impl KubewardenHost {
    fn call(operation: &str, image: &str) -> Result<Vec<u8>, HostError> {
        let error = |message: String| HostError { message };
        let request = serde_json::to_vec(image).map_err(|err| error(err.to_string()))?;
        host_call("kubewarden", "oci", operation, &request).map_err(|err| error(err.to_string()))
    }
}

impl Host for KubewardenHost {
    fn manifest_digest(&self, image: &str) -> Result<String, HostError> {
        let bytes = Self::call("v1/manifest_digest", image)?;
        String::from_utf8(bytes).map_err(|_| HostError {
            message: "the response is not UTF-8".into(),
        })
    }

    fn oci_manifest(&self, image: &str) -> Result<Vec<u8>, HostError> {
        Self::call("v1/oci_manifest", image)
    }
}

fn validate(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&admission::validate(
        payload,
        &KubewardenHost,
    ))?)
}

fn validate_settings(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&crate::validate_settings(payload))?)
}

fn protocol_version(_payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(crate::PROTOCOL_VERSION)?)
}
