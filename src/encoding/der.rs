//! A small, strict DER reader: what X.509 certificates, CMS timestamps and RFC 6962
//! precertificates need, and nothing more. It reads slices in place, so what a signature
//! covers is exactly the bytes that were read.
//!
//! Strict means DER, not BER: one-byte tags, definite lengths in their shortest form (up to
//! four length bytes), and no element running past its parent.

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

/// One DER TLV at the start of `bytes`: its tag, the length of the whole element, and the range
/// of its content. `None` for anything that is not one well-formed DER header with its content.
pub(crate) fn tlv(bytes: &[u8]) -> Option<(u8, usize, Range<usize>)> {
    let tag = *bytes.first()?;
    // High tag numbers (a continuation byte after 0x1f) are not used by anything read here.
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *bytes.get(1)?;
    let (length, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let digits = bytes.get(2..2 + count)?;
        // The shortest form only: no leading zero byte, and no long form below 128.
        if digits[0] == 0 {
            return None;
        }
        let mut length = 0usize;
        for byte in digits {
            length = (length << 8) | usize::from(*byte);
        }
        if length < 0x80 {
            return None;
        }
        (length, 2 + count)
    };
    let end = header.checked_add(length)?;
    (end <= bytes.len()).then_some((tag, end, header..end))
}

/// The DER header of an element with `tag` and `length` bytes of content.
pub(crate) fn der_header(tag: u8, length: usize) -> Vec<u8> {
    let mut out = alloc::vec![tag];
    if length < 0x80 {
        out.push(u8::try_from(length).unwrap_or(0));
    } else {
        let bytes = length.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap_or(0));
        out.extend_from_slice(&bytes[skip..]);
    }
    out
}

pub(crate) const BOOLEAN: u8 = 0x01;
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const OID: u8 = 0x06;
pub(crate) const UTF8_STRING: u8 = 0x0c;
pub(crate) const UTC_TIME: u8 = 0x17;
pub(crate) const GENERALIZED_TIME: u8 = 0x18;
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;

/// One element: its tag, its content, and the whole element.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Element<'a> {
    pub(crate) tag: u8,
    pub(crate) content: &'a [u8],
    pub(crate) whole: &'a [u8],
}

/// A cursor over consecutive DER elements (the content of a constructed element). Each error
/// is the `what` the caller gave: what was expected there.
pub(crate) struct Elements<'a> {
    rest: &'a [u8],
}

impl<'a> Elements<'a> {
    pub(crate) fn of(content: &'a [u8]) -> Self {
        Self { rest: content }
    }

    /// The next element's tag, if there is one.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    pub(crate) fn next(&mut self, what: &'static str) -> Result<Element<'a>, &'static str> {
        let (tag, end, content) = tlv(self.rest).ok_or(what)?;
        let element = Element {
            tag,
            content: &self.rest[content],
            whole: &self.rest[..end],
        };
        self.rest = &self.rest[end..];
        Ok(element)
    }

    pub(crate) fn expect(
        &mut self,
        tag: u8,
        what: &'static str,
    ) -> Result<Element<'a>, &'static str> {
        let element = self.next(what)?;
        if element.tag == tag {
            Ok(element)
        } else {
            Err(what)
        }
    }

    /// The next element if it has `tag`; nothing is consumed otherwise.
    pub(crate) fn optional(
        &mut self,
        tag: u8,
        what: &'static str,
    ) -> Result<Option<Element<'a>>, &'static str> {
        if self.peek() == Some(tag) {
            self.next(what).map(Some)
        } else {
            Ok(None)
        }
    }

    pub(crate) fn end(&self, what: &'static str) -> Result<(), &'static str> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(what)
        }
    }
}

/// The one element `bytes` is, with nothing after it.
pub(crate) fn single<'a>(
    bytes: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<Element<'a>, &'static str> {
    let mut elements = Elements::of(bytes);
    let element = elements.expect(tag, what)?;
    elements.end(what)?;
    Ok(element)
}

/// An OBJECT IDENTIFIER's content in dotted form (`1.2.840.10045.2.1`), for messages; its
/// bytes as hex if they are not a well-formed OID.
pub(crate) fn oid_text(content: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value = 0u64;
    for (i, &byte) in content.iter().enumerate() {
        let fresh = i == 0 || content[i - 1] & 0x80 == 0;
        if (fresh && byte == 0x80) || value >> 57 != 0 {
            arcs.clear(); // a padded or overlong arc
            break;
        }
        value = value << 7 | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            arcs.push(value);
            value = 0;
        }
    }
    match arcs.first() {
        Some(&first) if content.last().is_some_and(|&b| b & 0x80 == 0) => {
            let (top, second) = if first < 80 {
                (first / 40, first % 40)
            } else {
                (2, first - 80)
            };
            let mut text = alloc::format!("{top}.{second}");
            for arc in &arcs[1..] {
                text.push_str(&alloc::format!(".{arc}"));
            }
            text
        }
        _ => content.iter().map(|b| alloc::format!("{b:02x}")).collect(),
    }
}

/// One PEM block's label and DER bytes, read as loosely as real files and logs write them
/// (lines of any length, CRLF; Rekor keeps what the client sent): one block, nothing before or
/// after it, the same label at both ends, and base64 in between (so no RFC 1421 headers).
pub(crate) fn pem(pem: &str) -> Option<(String, Vec<u8>)> {
    let rest = pem.trim().strip_prefix("-----BEGIN ")?;
    let (label, rest) = rest.split_once("-----")?;
    let (body, end) = rest.rsplit_once("-----END ")?;
    if end.strip_prefix(label)? != "-----" {
        return None;
    }
    let text: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    crate::encoding::base64::STANDARD
        .decode(text)
        .ok()
        .map(|der| (label.into(), der))
}

/// A UTCTime (`YYMMDDHHMMSSZ`, years 1950 to 2049) or GeneralizedTime
/// (`YYYYMMDDHHMMSS[.fraction]Z`, the fraction dropped) as Unix seconds.
pub(crate) fn time(element: &Element<'_>) -> Option<i64> {
    let text = core::str::from_utf8(element.content).ok()?;
    let (year, rest) = match element.tag {
        UTC_TIME if text.len() == 13 => {
            let yy: u32 = text.get(0..2)?.parse().ok()?;
            let century = if yy < 50 { "20" } else { "19" };
            (alloc::format!("{century}{}", &text[0..2]), text.get(2..)?)
        }
        GENERALIZED_TIME if text.len() >= 15 => (text.get(0..4)?.into(), text.get(4..)?),
        _ => return None,
    };
    let (main, zone) = rest.split_at_checked(10)?;
    let fraction = zone.strip_suffix('Z')?;
    if !(fraction.is_empty()
        || element.tag == GENERALIZED_TIME
            && fraction
                .strip_prefix('.')
                .is_some_and(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit())))
    {
        return None;
    }
    let rfc3339 = alloc::format!(
        "{year}-{}-{}T{}:{}:{}Z",
        main.get(0..2)?,
        main.get(2..4)?,
        main.get(4..6)?,
        main.get(6..8)?,
        main.get(8..10)?
    );
    crate::encoding::time::parse_rfc3339(&rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_read_back_and_what_is_not_der_is_refused() {
        for length in [0usize, 1, 127, 128, 255, 256, 65_535, 65_536] {
            let mut element = der_header(0x30, length);
            let head = element.len();
            element.resize(head + length, 7);
            assert_eq!(
                tlv(&element),
                Some((0x30, head + length, head..head + length))
            );
            if length > 0 {
                assert_eq!(tlv(&element[..element.len() - 1]), None, "{length}");
            }
        }
        // Indefinite, over-long and non-minimal length forms, and high tag numbers.
        assert_eq!(tlv(&[0x30, 0x80, 0, 0]), None);
        assert_eq!(tlv(&[0x30, 0x85, 0, 0, 0, 0, 1, 0]), None);
        assert_eq!(tlv(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0]), None);
        assert_eq!(tlv(&[0x30, 0x82, 0x00, 0x80]), None);
        assert_eq!(tlv(&[0x1f, 0x01, 0x00]), None);
        assert_eq!(tlv(&[]), None);
    }

    #[test]
    fn times_are_unix_seconds() {
        let at = |tag: u8, text: &str| {
            time(&Element {
                tag,
                content: text.as_bytes(),
                whole: &[],
            })
        };
        assert_eq!(at(UTC_TIME, "250612120220Z"), Some(1_749_729_740));
        assert_eq!(at(UTC_TIME, "990101000000Z"), Some(915_148_800));
        assert_eq!(at(GENERALIZED_TIME, "20250612120220Z"), Some(1_749_729_740));
        assert_eq!(
            at(GENERALIZED_TIME, "20250612120220.5Z"),
            Some(1_749_729_740)
        );
        assert_eq!(at(GENERALIZED_TIME, "20250612120220.Z"), None);
        assert_eq!(at(UTC_TIME, "250612120220.5Z"), None);
        assert_eq!(at(GENERALIZED_TIME, "20250612120220+0100"), None);
        assert_eq!(at(UTC_TIME, "2506121202Z"), None);
        assert_eq!(at(OCTET_STRING, "250612120220Z"), None);
    }
}
