//! Strict JSON: the one parser every document goes through.
//!
//! Two parsers that disagree about a document are a signature bypass waiting to happen. Go's
//! `encoding/json`, which cosign uses, keeps the *last* of two duplicate keys and matches struct
//! fields case-insensitively, so `{"critical":…,"Critical":…}` means something to cosign that
//! it would not mean to a naive Rust reader. We refuse every object in which two keys are equal
//! after case folding, at every depth. serde_json supplies the rest: UTF-8 validation, lone
//! surrogate rejection, no trailing data, and a nesting limit of 128 that turns a 100 000-deep
//! document into an error instead of a stack overflow.
//!
//! Documents are then read from the value by hand, with `Fields`, never with derived serde
//! readers (see there why).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::string::ToString as _;
use alloc::vec::Vec;
use core::fmt;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Parses `bytes` as one strict JSON value.
///
/// # Errors
/// A [`JsonError`] for malformed JSON, duplicate keys or nesting deeper than 128.
pub fn parse_value(bytes: &[u8]) -> Result<Value, JsonError> {
    serde_json::from_slice::<StrictValue>(bytes)
        .map(|strict| strict.0)
        .map_err(JsonError)
}

/// [`parse_value`], its error as words, for the crate's document readers (whose errors are
/// the words of the field at fault).
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, String> {
    parse_value(bytes).map_err(|err| err.to_string())
}

/// Why a document is not strict JSON: serde_json's error, which says where (line and column).
#[derive(Debug)]
pub struct JsonError(serde_json::Error);

impl JsonError {
    /// The line the error is on (1-based; 0 when it is not about a place in the text).
    pub fn line(&self) -> usize {
        self.0.line()
    }

    /// The column the error is at (1-based; 0 when it is not about a place in the text).
    pub fn column(&self) -> usize {
        self.0.column()
    }
}

impl core::fmt::Display for JsonError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

impl core::error::Error for JsonError {}

impl From<JsonError> for String {
    fn from(error: JsonError) -> Self {
        error.to_string()
    }
}

/// Folds a key the way Go's encoding/json matches a key to a field, as far as that can make
/// two keys one field. Go folds each character as `ToUpper(ToLower(c))`, and every field name
/// Go or we read is ASCII; the only other characters Go folds into ASCII letters are `ſ` (to
/// S), `ı` and `İ` (to I) and the Kelvin sign `K` (to K). Keys that differ elsewhere name no
/// field for either parser. (Folding with the full Unicode case tables, as this did before,
/// missed `İ`, whose full lowercase is `i` plus a combining dot, and cost 26 KB of tables.)
fn fold_case(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            '\u{17F}' => 's',
            '\u{131}' | '\u{130}' => 'i',
            '\u{212A}' => 'k',
            c => c.to_ascii_lowercase(),
        })
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

/// Reading a strictly parsed value into a document by hand, field by field.
///
/// Deriving `Deserialize` for each document read from a [`Value`] costs the WebAssembly modules
/// a copy of serde's machinery per document type (over 100 KB in all); these few functions
/// read every document instead. Missing and `null` fields are alike for optional ones; every
/// error names the field, nested errors name the path (`tlogEntries[0]: logId: keyId: …`).
pub(crate) struct Fields<'v> {
    map: &'v Map<String, Value>,
}

/// What a JSON value is, for error messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn expected(what: &str, value: &Value) -> String {
    format!("expected {what}, found {}", kind(value))
}

/// The value as a string.
///
/// # Errors
/// When it is not one.
pub(crate) fn string(value: &Value) -> Result<String, String> {
    value
        .as_str()
        .map(String::from)
        .ok_or_else(|| expected("a string", value))
}

/// The value as an object of strings.
///
/// # Errors
/// When it is not one.
pub(crate) fn string_map(value: &Value) -> Result<BTreeMap<String, String>, String> {
    let Value::Object(map) = value else {
        return Err(expected("an object", value));
    };
    let mut out = BTreeMap::new();
    for (key, value) in map {
        out.insert(
            key.clone(),
            string(value).map_err(|e| format!("{key}: {e}"))?,
        );
    }
    Ok(out)
}

/// The value as an unsigned integer that fits `T`.
///
/// # Errors
/// When it is not one.
pub(crate) fn unsigned<T: TryFrom<u64>>(value: &Value) -> Result<T, String> {
    value
        .as_u64()
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| match value {
            Value::Number(n) => format!("{n} is out of range"),
            other => expected("a non-negative integer", other),
        })
}

/// The value as a signed 64-bit integer.
///
/// # Errors
/// When it is not one.
pub(crate) fn signed(value: &Value) -> Result<i64, String> {
    value.as_i64().ok_or_else(|| match value {
        Value::Number(n) => format!("{n} is not a 64-bit integer"),
        other => expected("an integer", other),
    })
}

impl<'v> Fields<'v> {
    /// The fields of `value`, which must be an object.
    ///
    /// # Errors
    /// When it is not one.
    pub(crate) fn of(value: &'v Value) -> Result<Self, String> {
        match value {
            Value::Object(map) => Ok(Self { map }),
            other => Err(expected("an object", other)),
        }
    }

    /// Refuses any field not in `known`.
    ///
    /// # Errors
    /// Naming the first unknown field and the known ones.
    pub(crate) fn only(self, known: &[&str]) -> Result<Self, String> {
        match self.map.keys().find(|key| !known.contains(&key.as_str())) {
            Some(unknown) => Err(format!(
                "unknown field `{unknown}`, expected one of {}",
                known.join(", ")
            )),
            None => Ok(self),
        }
    }

    /// A field that may be missing or `null`, read by `read`.
    ///
    /// # Errors
    /// `read`'s, after the field's name.
    pub(crate) fn opt<T>(
        &self,
        key: &str,
        read: impl FnOnce(&'v Value) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => read(value).map(Some).map_err(|e| format!("{key}: {e}")),
        }
    }

    /// A field that must be there, read by `read`.
    ///
    /// # Errors
    /// When it is missing, or `read`'s, after the field's name.
    pub(crate) fn req<T>(
        &self,
        key: &str,
        read: impl FnOnce(&'v Value) -> Result<T, String>,
    ) -> Result<T, String> {
        match self.map.get(key) {
            None => Err(format!("missing field `{key}`")),
            Some(value) => read(value).map_err(|e| format!("{key}: {e}")),
        }
    }

    /// A required string field.
    ///
    /// # Errors
    /// When it is missing or not a string.
    pub(crate) fn string(&self, key: &str) -> Result<String, String> {
        self.req(key, string)
    }

    /// An optional string field.
    ///
    /// # Errors
    /// When it is there and not a string.
    pub(crate) fn opt_string(&self, key: &str) -> Result<Option<String>, String> {
        self.opt(key, string)
    }

    /// A list field, each item read by `read`; a missing one is empty.
    ///
    /// # Errors
    /// When it is not a list, or `read`'s, after the item's place.
    pub(crate) fn list<T>(
        &self,
        key: &str,
        mut read: impl FnMut(&'v Value) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        // A loop, not `collect::<Result<Vec<_>, _>>()`: this is instantiated once per document
        // type, and the iterator adapters cost the modules about a kilobyte each time.
        match self.map.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    out.push(read(item).map_err(|e| format!("{key}[{i}]: {e}"))?);
                }
                Ok(out)
            }
            Some(other) => Err(format!("{key}: {}", expected("a list", other))),
        }
    }

    /// A field's value as it is (`None` when missing; `null` is a value here).
    pub(crate) fn value(&self, key: &str) -> Option<&'v Value> {
        self.map.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_exact_duplicate_keys() {
        let err = parse(br#"{"a":1,"a":2}"#).unwrap_err();
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
        assert!(
            parse_value(br#"{"digest":1,"D\u0130GEST":2}"#).is_err(),
            "dotted capital I folds to i"
        );
        assert!(
            parse_value(br#"{"digest":1,"d\u0131gest":2}"#).is_err(),
            "dotless i folds to i"
        );
        // Go folds these to each other, but into no ASCII name: no field for either parser.
        assert!(parse_value(br#"{"\u00e9":1,"\u00c9":2}"#).is_ok());
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
        let err = parse(&doc).unwrap_err();
        assert!(err.contains("recursion limit"), "{err}");
    }

    #[test]
    fn accepts_ordinary_json() {
        let v = parse_value(br#"{"a":[1,-2,3.5,true,null,"x"],"b":{}}"#).unwrap();
        assert_eq!(v["a"][2], 3.5);
    }
}
