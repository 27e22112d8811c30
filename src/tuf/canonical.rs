//! Canonical JSON as TUF signs it (the OLPC form securesystemslib writes): object keys sorted
//! by code point, no whitespace, strings escaped only where `"` and `\` appear, integers only.
//! A signature covers these bytes of the `signed` value, never the bytes as they came.

use alloc::string::String;
use core::fmt::Write as _;

use serde_json::Value;

/// Why a value has no canonical form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotCanonical(pub String);

/// The canonical bytes of `value`.
///
/// # Errors
/// A number that is not an integer (canonical JSON has no fractions or exponents).
pub fn encode(value: &Value) -> Result<String, NotCanonical> {
    let mut out = String::new();
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut String) -> Result<(), NotCanonical> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                return Err(NotCanonical(alloc::format!(
                    "{n} is not an integer; canonical JSON has only integers"
                )));
            }
        }
        Value::String(s) => string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: alloc::vec::Vec<&String> = map.keys().collect();
            // Code point order; for UTF-8, byte order is the same.
            keys.sort_unstable();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(key, out);
                out.push(':');
                write(&map[key], out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_escapes_only_quote_and_backslash() {
        let value =
            json!({"b": [1, -2, true, null], "a": "q\"\\\n\u{e9}", "A": {"z": 0, "y": "x"}});
        assert_eq!(
            encode(&value).unwrap_or_default(),
            "{\"A\":{\"y\":\"x\",\"z\":0},\"a\":\"q\\\"\\\\\n\u{e9}\",\"b\":[1,-2,true,null]}"
        );
        assert!(encode(&json!({"f": 1.5})).is_err());
    }
}
