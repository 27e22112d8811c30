//! Strict JSON: the one parser every document goes through.
//!
//! Two parsers that disagree about a document are a signature bypass waiting to happen. Go's
//! `encoding/json`, which cosign uses, keeps the *last* of two duplicate keys and matches struct
//! fields case-insensitively, so `{"critical":…,"Critical":…}` means something to cosign that
//! it would not mean to a naive Rust reader. We refuse every object in which two keys are equal
//! after case folding, at every depth. serde_json supplies the rest: UTF-8 validation, lone
//! surrogate rejection, no trailing data, and a nesting limit of 128 that turns a 100 000-deep
//! document into an error instead of a stack overflow.

use alloc::collections::BTreeSet;
use alloc::string::String;
use core::fmt;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses `bytes` as one strict JSON value.
///
/// # Errors
/// Returns serde_json's message, with line and column, for malformed JSON, duplicate keys or
/// nesting deeper than 128.
pub fn parse_value(bytes: &[u8]) -> Result<Value, String> {
    serde_json::from_slice::<StrictValue>(bytes)
        .map(|strict| strict.0)
        .map_err(|err| err.to_string())
}

/// Parses `bytes` strictly, then reads it as a `T`.
///
/// # Errors
/// As [`parse_value`], plus serde's message when the value does not have `T`'s shape.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let value = parse_value(bytes)?;
    T::deserialize(value).map_err(|err| err.to_string())
}

/// Folds a key the way Go's case-insensitive field match would (upper then lower, so that
/// `ſ` and `K` fold with `s` and `k`). Folding more than Go does only makes us stricter.
fn fold_case(key: &str) -> String {
    key.chars()
        .flat_map(char::to_uppercase)
        .flat_map(char::to_lowercase)
        .collect()
}

struct StrictValue(Value);

impl<'de> de::Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Number(v.into())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<StrictValue, E> {
        Number::from_f64(v)
            .map(|n| StrictValue(Value::Number(n)))
            .ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v.into())))
    }

    fn visit_string<E>(self, v: String) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }

    fn visit_none<E>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
        let mut items = alloc::vec::Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(StrictValue(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StrictValue, A::Error> {
        let mut map = Map::new();
        let mut seen = BTreeSet::new();
        while let Some(key) = access.next_key::<String>()? {
            if !seen.insert(fold_case(&key)) {
                return Err(de::Error::custom(format_args!(
                    "duplicate object key {key:?} (keys must differ by more than letter case)"
                )));
            }
            let StrictValue(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(StrictValue(Value::Object(map)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_exact_duplicate_keys() {
        let err = parse_value(br#"{"a":1,"a":2}"#).unwrap_err();
        assert!(err.contains("duplicate object key"), "{err}");
    }

    #[test]
    fn rejects_keys_that_differ_only_in_case_at_depth() {
        let doc = br#"{"critical":{"image":{"docker-manifest-digest":"x","Docker-manifest-digest":"y"}}}"#;
        assert!(parse_value(doc).is_err());
        assert!(
            parse_value(br#"{"s":1,"\u017f":2}"#).is_err(),
            "long s folds to s"
        );
        assert!(
            parse_value(br#"{"k":1,"\u212a":2}"#).is_err(),
            "Kelvin sign folds to k"
        );
    }

    #[test]
    fn rejects_invalid_utf8_trailing_data_and_lone_surrogates() {
        assert!(parse_value(b"{\"a\":\"\xff\"}").is_err());
        assert!(parse_value(b"{} {}").is_err());
        assert!(parse_value(br#""\ud800""#).is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let depth = 100_000;
        let mut doc = "[".repeat(depth).into_bytes();
        doc.extend(core::iter::repeat_n(b']', depth));
        let err = parse_value(&doc).unwrap_err();
        assert!(err.contains("recursion limit"), "{err}");
    }

    #[test]
    fn accepts_ordinary_json() {
        let v = parse_value(br#"{"a":[1,-2,3.5,true,null,"x"],"b":{}}"#).unwrap();
        assert_eq!(v["a"][2], 3.5);
    }
}
