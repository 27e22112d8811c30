//! `sha256:<hex>` digests: parsing, computing and printing.

use alloc::string::String;
use core::fmt;
use sha2::{Digest as _, Sha256};

/// A SHA-256 digest in the OCI form `sha256:<64 lowercase hex>`.
///
/// Only the canonical spelling parses: upper-case hex or another algorithm is an error, so two
/// spellings of one digest can never compare unequal.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Digest([u8; 32]);

const PREFIX: &str = "sha256:";

/// A text that is not `sha256:<64 lowercase hex>`, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DigestError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub problem: DigestProblem,
}

/// What is wrong with a digest's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DigestProblem {
    /// It does not start with `sha256:`.
    Form,
    /// It does not have 64 digits.
    Length,
    /// A digit is not lowercase hex.
    NotHex,
}

impl core::fmt::Display for DigestError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let text = &self.text;
        match self.problem {
            DigestProblem::Form => {
                write!(f, "{text:?} is not of the form sha256:<64 lowercase hex>")
            }
            DigestProblem::Length => write!(f, "{text:?} does not have 64 hex digits"),
            DigestProblem::NotHex => {
                write!(f, "{text:?} has a character that is not lowercase hex")
            }
        }
    }
}

impl core::error::Error for DigestError {}

impl From<DigestError> for String {
    fn from(error: DigestError) -> Self {
        alloc::string::ToString::to_string(&error)
    }
}

impl Sha256Digest {
    /// Hashes `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Parses `sha256:<64 lowercase hex>`.
    ///
    /// # Errors
    /// A [`DigestError`] saying what is wrong when `text` is not in that exact form.
    pub fn parse(text: &str) -> Result<Self, DigestError> {
        let error = |problem| DigestError {
            text: text.into(),
            problem,
        };
        let hex = text
            .strip_prefix(PREFIX)
            .ok_or(error(DigestProblem::Form))?;
        if hex.len() != 64 {
            return Err(error(DigestProblem::Length));
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            let (Some(high), Some(low)) = (hex_value(pair[0]), hex_value(pair[1])) else {
                return Err(error(DigestProblem::NotHex));
            };
            *byte = (high << 4) | low;
        }
        Ok(Self(out))
    }

    /// A digest given as its 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hex digits, without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        to_hex(&self.0)
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", self.hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn round_trips_the_canonical_form() {
        let d = Sha256Digest::of(b"abc");
        assert_eq!(
            d.to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256Digest::parse(&d.to_string()), Ok(d));
    }

    #[test]
    fn rejects_other_spellings() {
        let upper = "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
        assert!(Sha256Digest::parse(upper).is_err());
        assert!(Sha256Digest::parse("sha512:ba78").is_err());
        assert!(Sha256Digest::parse("sha256:ba78").is_err());
        assert!(Sha256Digest::parse("").is_err());
    }
}
