//! The encodings the evidence arrives in, read strictly: JSON (duplicate keys, invalid UTF-8
//! and trailing data refused), base64 (standard, padded, canonical), DER (the shortest forms
//! only) and PEM, and times (RFC 3339, and the validity windows of trust material).

pub mod base64;
pub(crate) mod der;
pub mod json;
pub(crate) mod time;
