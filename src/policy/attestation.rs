//! Attestations: in-toto statements about the image (SLSA provenance, SBOMs, vulnerability
//! scans), signed like signatures and stored in either format cosign writes:
//! - **legacy**: the tag `sha256-<hex>.att`, whose layers are DSSE envelopes
//!   (`application/vnd.dsse.envelope.v1+json`) with a `predicateType` annotation;
//! - **cosign v3**: Sigstore bundles attached as OCI referrers, exactly as signatures are, told
//!   apart only by the statement's predicate type.
//!
//! A policy's attestation rules say which predicate type, signed by whom, and what the predicate
//! must say (a few declarative [`Condition`]s). This module holds the rules and the checks on a
//! statement whose signature has verified; `crate::verify::image` finds the candidates and checks
//! their signatures with the same code as signatures.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde_json::Value;

use crate::claim::in_toto::COSIGN_SIGN_PREDICATE_TYPE;
use crate::limits::{MAX_CONDITION_VALUES, MAX_VERDICT_PREDICATE_BYTES};

sentence_error! {
    /// Why an attestation rule's predicate type or condition cannot be read, or a condition
    /// does not hold.
    ConditionError
}

/// The media type of a legacy `.att` layer: a DSSE envelope.
pub const DSSE_ENVELOPE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The layer annotation in which cosign repeats an `.att` layer's predicate type (unsigned).
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";

/// cosign's short names for predicate types (`cosign attest --type`), and the URIs they stand
/// for. Any other value must be a URI and is taken as it is.
pub const PREDICATE_TYPE_NAMES: [(&str, &str); 10] = [
    ("slsaprovenance", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance02", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
    ("spdx", "https://spdx.dev/Document"),
    ("spdxjson", "https://spdx.dev/Document"),
    ("cyclonedx", "https://cyclonedx.org/bom"),
    ("link", "https://in-toto.io/Link/v1"),
    ("vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"),
    ("openvex", "https://openvex.dev/ns"),
    ("custom", "https://cosign.sigstore.dev/attestation/v1"),
];

/// The predicate type URI that `name` (a cosign short name or a URI) stands for.
///
/// # Errors
/// When `name` is neither a short name nor a URI (a typo would otherwise become a type that
/// nothing ever matches), or is cosign's signature type, which is never an attestation.
pub fn predicate_type_uri(name: &str) -> Result<String, ConditionError> {
    resolve_predicate_type(name).map_err(ConditionError)
}

fn resolve_predicate_type(name: &str) -> Result<String, String> {
    if let Some((_, uri)) = PREDICATE_TYPE_NAMES
        .iter()
        .find(|(short, _)| *short == name)
    {
        return Ok((*uri).into());
    }
    if name == COSIGN_SIGN_PREDICATE_TYPE {
        return Err(format!(
            "{name} is cosign's image signature, not an attestation; list the signer under keys \
             or identities instead"
        ));
    }
    let is_uri = name.split_once(':').is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && !rest.is_empty()
    });
    if !is_uri
        || name.len() > crate::limits::MAX_IDENTITY_BYTES
        || name.contains(char::is_whitespace)
    {
        let names: Vec<&str> = PREDICATE_TYPE_NAMES
            .iter()
            .map(|(short, _)| *short)
            .collect();
        return Err(format!(
            "{name:?} is neither one of cosign's names ({}) nor a URI",
            names.join(", ")
        ));
    }
    Ok(name.into())
}

/// What a [`Condition`] asks of the value at its pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Test {
    /// The value equals this JSON value exactly.
    Equals(Value),
    /// The value equals one of these.
    OneOf(Vec<Value>),
    /// The value is a string that starts with this one.
    Prefix(String),
}

/// One condition on a verified predicate: the value at a JSON pointer (RFC 6901, relative to
/// the predicate) passes a [`Test`]. A pointer that leads nowhere fails every test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// The JSON pointer, `""` for the whole predicate.
    pub pointer: String,
    /// The test.
    pub test: Test,
}

impl Condition {
    /// Reads `{"equals": V}`, `{"oneOf": [V, …]}` or `{"prefix": "S"}` for `pointer`.
    ///
    /// # Errors
    /// A sentence saying what is wrong.
    pub fn parse(pointer: &str, test: &Value) -> Result<Self, ConditionError> {
        Self::read(pointer, test).map_err(ConditionError)
    }

    fn read(pointer: &str, test: &Value) -> Result<Self, String> {
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            return Err("a JSON pointer is empty or starts with '/'".into());
        }
        if pointer.len() > crate::limits::MAX_IDENTITY_BYTES {
            return Err("the pointer is longer than 1024 bytes".into());
        }
        let Some(object) = test.as_object() else {
            return Err(
                "a condition is an object: {\"equals\": …}, {\"oneOf\": […]} or \
                        {\"prefix\": \"…\"}"
                    .into(),
            );
        };
        let (operator, operand) = match object.iter().next() {
            Some(only) if object.len() == 1 => only,
            _ => return Err("a condition has exactly one of equals, oneOf and prefix".into()),
        };
        let test = match (operator.as_str(), operand) {
            ("equals", value) => Test::Equals(value.clone()),
            ("oneOf", Value::Array(values))
                if !values.is_empty() && values.len() <= MAX_CONDITION_VALUES =>
            {
                Test::OneOf(values.clone())
            }
            ("oneOf", _) => {
                return Err(format!(
                    "oneOf takes a list of 1 to {MAX_CONDITION_VALUES} values"
                ));
            }
            ("prefix", Value::String(prefix)) => Test::Prefix(prefix.clone()),
            ("prefix", _) => return Err("prefix takes a string".into()),
            (other, _) => {
                return Err(format!(
                    "{other:?} is not a test; use equals, oneOf or prefix"
                ));
            }
        };
        Ok(Self {
            pointer: pointer.into(),
            test,
        })
    }

    /// Whether `predicate` passes.
    ///
    /// # Errors
    /// A sentence naming the pointer, what it found and what was wanted.
    pub fn check(&self, predicate: &Value) -> Result<(), ConditionError> {
        self.holds(predicate).map_err(ConditionError)
    }

    fn holds(&self, predicate: &Value) -> Result<(), String> {
        let found = predicate.pointer(&self.pointer);
        let holds = match (&self.test, found) {
            (_, None) => false,
            (Test::Equals(wanted), Some(value)) => value == wanted,
            (Test::OneOf(wanted), Some(value)) => wanted.contains(value),
            (Test::Prefix(prefix), Some(Value::String(text))) => text.starts_with(prefix.as_str()),
            (Test::Prefix(_), Some(_)) => false,
        };
        if holds {
            return Ok(());
        }
        let found = found.map_or_else(|| "nothing".to_string(), ToString::to_string);
        let wanted = match &self.test {
            Test::Equals(value) => format!("{value}"),
            Test::OneOf(values) => format!("one of {}", Value::Array(values.clone())),
            Test::Prefix(prefix) => format!("a string starting with {prefix:?}"),
        };
        Err(format!(
            "the predicate has {found} at {:?}, the rule wants {wanted}",
            self.pointer
        ))
    }

    /// The canonical JSON form, for the policy digest.
    pub(crate) fn canonical(&self) -> Value {
        match &self.test {
            Test::Equals(value) => serde_json::json!({ "equals": value }),
            Test::OneOf(values) => serde_json::json!({ "oneOf": values }),
            Test::Prefix(prefix) => serde_json::json!({ "prefix": prefix }),
        }
    }
}

/// The predicate as the verdict carries it: itself when its compact JSON is at most
/// [`MAX_VERDICT_PREDICATE_BYTES`], otherwise nothing.
pub(crate) fn predicate_for_verdict(predicate: &Value) -> Option<Value> {
    let size = serde_json::to_string(predicate).map_or(usize::MAX, |text| text.len());
    (size <= MAX_VERDICT_PREDICATE_BYTES).then(|| predicate.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_map_as_cosign_maps_them_and_uris_pass() {
        assert_eq!(
            predicate_type_uri("slsaprovenance1").as_deref(),
            Ok("https://slsa.dev/provenance/v1")
        );
        assert_eq!(
            predicate_type_uri("https://example.com/x/v1").as_deref(),
            Ok("https://example.com/x/v1")
        );
        assert!(predicate_type_uri("slsaprovenance2").is_err());
        assert!(predicate_type_uri("").is_err());
        assert!(predicate_type_uri("https://sigstore.dev/cosign/sign/v1").is_err());
        assert!(predicate_type_uri("https://a b").is_err());
    }

    #[test]
    fn conditions_parse_strictly_and_test_what_they_say() {
        let predicate = serde_json::json!({
            "buildDefinition": {"buildType": "https://example.com/build/v1"},
            "runDetails": {"builder": {"id": "https://github.com/org/builder@v1"}},
            "n": 3
        });
        let condition = |pointer: &str, test: Value| {
            Condition::parse(pointer, &test).unwrap_or_else(|e| unreachable!("{e}"))
        };
        let holds = |pointer: &str, test: Value| condition(pointer, test).check(&predicate);
        assert!(
            holds(
                "/buildDefinition/buildType",
                serde_json::json!({"equals": "https://example.com/build/v1"})
            )
            .is_ok()
        );
        assert!(holds("/n", serde_json::json!({"equals": 3})).is_ok());
        assert!(holds("/n", serde_json::json!({"equals": "3"})).is_err());
        assert!(
            holds(
                "/runDetails/builder/id",
                serde_json::json!({"prefix": "https://github.com/org/"})
            )
            .is_ok()
        );
        assert!(holds("/n", serde_json::json!({"prefix": "3"})).is_err());
        assert!(holds("/n", serde_json::json!({"oneOf": [1, 2, 3]})).is_ok());
        assert!(holds("/missing", serde_json::json!({"oneOf": [null]})).is_err());
        let err = holds(
            "/runDetails/builder/id",
            serde_json::json!({"equals": "https://evil"}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("builder@v1") && err.contains("https://evil"),
            "{err}"
        );
        for (pointer, bad) in [
            ("x", serde_json::json!({"equals": 1})),
            ("/x", serde_json::json!({"equals": 1, "prefix": "a"})),
            ("/x", serde_json::json!({})),
            ("/x", serde_json::json!({"matches": "a"})),
            ("/x", serde_json::json!({"prefix": 1})),
            ("/x", serde_json::json!({"oneOf": []})),
            ("/x", serde_json::json!("a")),
        ] {
            assert!(Condition::parse(pointer, &bad).is_err(), "{pointer} {bad}");
        }
    }

    #[test]
    fn a_large_predicate_is_left_out_of_the_verdict() {
        let small = serde_json::json!({"a": 1});
        assert_eq!(predicate_for_verdict(&small), Some(small));
        let large = Value::String("x".repeat(MAX_VERDICT_PREDICATE_BYTES));
        assert_eq!(predicate_for_verdict(&large), None);
    }
}
