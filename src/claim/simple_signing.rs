//! The cosign "simple signing" payload, read only after its signature has verified.

use alloc::format;
use alloc::string::String;
use serde_json::{Map, Value};

use crate::encoding::json;

/// The value cosign writes as `critical.type`.
pub const COSIGN_PAYLOAD_TYPE: &str = "cosign container image signature";

sentence_error! {
    /// Why bytes are not a simple-signing payload of cosign's shape.
    PayloadError
}

/// The fields of a simple-signing payload that a policy looks at.
#[derive(Clone, Debug)]
pub struct Payload {
    /// `critical.image.docker-manifest-digest`.
    pub manifest_digest: String,
    /// `critical.identity.docker-reference`, when present.
    pub docker_reference: Option<String>,
    /// `optional`, or empty when it is `null` or absent.
    pub optional: Map<String, Value>,
}

/// Reads `bytes` as a strict simple-signing payload.
///
/// # Errors
/// A [`PayloadError`] naming the field that is missing or of the wrong type, or the JSON error.
pub fn parse(bytes: &[u8]) -> Result<Payload, PayloadError> {
    read(bytes).map_err(PayloadError)
}

fn read(bytes: &[u8]) -> Result<Payload, String> {
    let root = json::parse(bytes)?;
    let critical = field(&root, "critical")?
        .as_object()
        .ok_or("critical is not an object")?;
    let kind = string_at(critical, "type", "critical.type")?;
    if kind != COSIGN_PAYLOAD_TYPE {
        return Err(format!(
            "critical.type is {kind:?}, not {COSIGN_PAYLOAD_TYPE:?}"
        ));
    }
    let image = critical
        .get("image")
        .and_then(Value::as_object)
        .ok_or("critical.image is missing or not an object")?;
    let manifest_digest = string_at(
        image,
        "docker-manifest-digest",
        "critical.image.docker-manifest-digest",
    )?;
    let docker_reference = match critical.get("identity") {
        None | Some(Value::Null) => None,
        Some(Value::Object(identity)) => match identity.get("docker-reference") {
            None | Some(Value::Null) => None,
            Some(Value::String(reference)) => Some(reference.clone()),
            Some(_) => return Err("critical.identity.docker-reference is not a string".into()),
        },
        Some(_) => return Err("critical.identity is not an object".into()),
    };
    let optional = match root.get("optional") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => return Err("optional is neither null nor an object".into()),
    };
    Ok(Payload {
        manifest_digest: manifest_digest.into(),
        docker_reference,
        optional,
    })
}

fn field<'a>(value: &'a Value, name: &str) -> Result<&'a Value, String> {
    value
        .as_object()
        .ok_or_else(|| String::from("the payload is not a JSON object"))?
        .get(name)
        .ok_or_else(|| format!("{name} is missing"))
}

fn string_at<'a>(object: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a str, String> {
    object
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{path} is missing or not a string"))
}
