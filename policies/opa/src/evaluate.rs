//! What the entrypoints compute, and the data-document edits OPA hosts may ask for. No memory
//! access here: bytes in, bytes out.

use alloc::string::String;
use alloc::vec::Vec;
use serde_json::Value;
use serde_json::value::RawValue;

/// `ocisig/verify`: the verdict object (a set verdict for a policy set).
pub(crate) const VERIFY: u32 = 0;
/// `ocisig/allow`: the verdict's `verified` (a set verdict's `allowed`), as a boolean.
pub(crate) const ALLOW: u32 = 1;

/// The `entrypoints()` document.
pub(crate) const ENTRYPOINTS: &[u8] = br#"{"ocisig/verify":0,"ocisig/allow":1}"#;

/// The result of `entrypoint` for the policy or policy set in `data` and the evidence
/// `input`; `None` for an unknown entrypoint, which hosts see as an undefined (empty) result.
pub(crate) fn result(entrypoint: u32, data: &[u8], input: &[u8]) -> Option<Vec<u8>> {
    let policy = policy_of(data);
    let (passed, verdict) = ocisig::decide_json(policy.as_deref().unwrap_or(data), input);
    match entrypoint {
        VERIFY => Some(verdict.into_bytes()),
        ALLOW => Some(if passed {
            b"true".to_vec()
        } else {
            b"false".to_vec()
        }),
        _ => None,
    }
}

/// The policy (or policy set) inside a data document. Hosts that hand over their whole data
/// tree (OPA with a bundle) keep it at `data.ocisig.policy`; hosts that set the policy as the
/// data (the SDKs' `setData`) give it directly. Neither a policy nor a set has an `ocisig`
/// member, so the two cannot be confused. `None` means "the data is the policy".
fn policy_of(data: &[u8]) -> Option<Vec<u8>> {
    // The policy's exact bytes go to the core, whose strict reader then sees duplicate keys
    // and everything else a re-serialization would hide.
    #[derive(serde::Deserialize)]
    struct Root<'a> {
        #[serde(borrow, default)]
        ocisig: Option<Holder<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Holder<'a> {
        #[serde(borrow, default)]
        policy: Option<&'a RawValue>,
    }
    let root: Root<'_> = serde_json::from_slice(data).ok()?;
    let holder = root.ocisig?;
    // A missing policy becomes `null`, which the core refuses as an invalid policy.
    Some(
        holder
            .policy
            .map_or(b"null".to_vec(), |raw| raw.get().as_bytes().to_vec()),
    )
}

/// A result set as JSON (`[{"result":X}]`) or as a Rego value (`{{"result":X}}`).
pub(crate) fn result_set(result: Option<&[u8]>, rego: bool) -> Vec<u8> {
    let (open, close): (&[u8], &[u8]) = if rego { (b"{", b"}") } else { (b"[", b"]") };
    let mut text = open.to_vec();
    if let Some(result) = result {
        text.extend_from_slice(br#"{"result":"#);
        text.extend_from_slice(result);
        text.push(b'}');
    }
    text.extend_from_slice(close);
    text
}

/// Whether `bytes` are one JSON document.
pub(crate) fn is_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
}

/// OPA's error codes for the path functions.
pub(crate) const ERR_OK: i32 = 0;
pub(crate) const ERR_INTERNAL: i32 = 1;
pub(crate) const ERR_INVALID_TYPE: i32 = 2;
pub(crate) const ERR_INVALID_PATH: i32 = 3;

fn path_segments(path: &[u8]) -> Result<Vec<String>, i32> {
    let path: Value = serde_json::from_slice(path).map_err(|_| ERR_INVALID_TYPE)?;
    let Value::Array(items) = path else {
        return Err(ERR_INVALID_TYPE);
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(segment) => Ok(segment),
            _ => Err(ERR_INVALID_PATH),
        })
        .collect()
}

/// `base` with `value` set at `path`, creating objects on the way (`opa_value_add_path`).
pub(crate) fn add_path(base: &[u8], path: &[u8], value: &[u8]) -> Result<Vec<u8>, i32> {
    let mut document: Value = serde_json::from_slice(base).map_err(|_| ERR_INVALID_TYPE)?;
    let value: Value = serde_json::from_slice(value).map_err(|_| ERR_INVALID_TYPE)?;
    let segments = path_segments(path)?;
    let Some((last, parents)) = segments.split_last() else {
        return Err(ERR_INVALID_PATH);
    };
    let mut node = &mut document;
    for segment in parents {
        let Value::Object(map) = node else {
            return Err(ERR_INVALID_PATH);
        };
        node = map
            .entry(segment.clone())
            .or_insert_with(|| Value::Object(Default::default()));
    }
    let Value::Object(map) = node else {
        return Err(ERR_INVALID_PATH);
    };
    map.insert(last.clone(), value);
    serde_json::to_vec(&document).map_err(|_| ERR_INTERNAL)
}

/// `base` without the member at `path` (`opa_value_remove_path`).
pub(crate) fn remove_path(base: &[u8], path: &[u8]) -> Result<Vec<u8>, i32> {
    let mut document: Value = serde_json::from_slice(base).map_err(|_| ERR_INVALID_TYPE)?;
    let segments = path_segments(path)?;
    let Some((last, parents)) = segments.split_last() else {
        return Err(ERR_INVALID_PATH);
    };
    let mut node = &mut document;
    for segment in parents {
        node = node.get_mut(segment.as_str()).ok_or(ERR_INVALID_PATH)?;
    }
    let Value::Object(map) = node else {
        return Err(ERR_INVALID_PATH);
    };
    map.remove(last.as_str());
    serde_json::to_vec(&document).map_err(|_| ERR_INTERNAL)
}
