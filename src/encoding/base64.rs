//! Standard base64 (RFC 4648 §4), strictly: the standard alphabet, padding required, no
//! whitespace, and no set bits after the last byte, so that one byte string has one spelling.
//! What the `base64` crate's `STANDARD` engine accepts and refuses, with its error words, in
//! about a tenth of the code: a test compares the two on every spelling of short inputs, and
//! the `parsers` fuzz target on whatever it finds.

use alloc::string::String;
use alloc::vec::Vec;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Why text is not strict standard base64, in the `base64` crate's terms (its messages are the
/// `Display`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Base64Error {
    /// A byte outside the alphabet (or padding in the middle), at its offset.
    InvalidByte(usize, u8),
    /// A length that no padded encoding has.
    InvalidLength(usize),
    /// The last symbol has bits set past the end of the data.
    InvalidLastSymbol(usize, u8),
    /// Padding missing, or more than the data needs.
    InvalidPadding,
}

impl core::fmt::Display for Base64Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::InvalidByte(offset, byte) => write!(f, "Invalid symbol {byte}, offset {offset}."),
            Self::InvalidLength(length) => write!(f, "Invalid input length: {length}"),
            Self::InvalidLastSymbol(offset, byte) => {
                write!(f, "Invalid last symbol {byte}, offset {offset}.")
            }
            Self::InvalidPadding => f.write_str("Invalid padding"),
        }
    }
}

impl core::error::Error for Base64Error {}

/// What each byte stands for: its six bits, or [`INVALID`].
const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};
const INVALID: u8 = 0xff;

/// The six bits a symbol stands for.
fn value(symbol: u8) -> Option<u8> {
    match DECODE[usize::from(symbol)] {
        INVALID => None,
        six => Some(six),
    }
}

/// The standard engine, for call sites written as `STANDARD.decode(…)` and `STANDARD.encode(…)`.
#[derive(Clone, Copy, Debug)]
pub struct Standard;

/// Strict standard base64, padded: [`decode`] and [`encode`].
pub const STANDARD: Standard = Standard;

impl Standard {
    /// [`decode`].
    ///
    /// # Errors
    /// As [`decode`].
    pub fn decode(self, text: impl AsRef<[u8]>) -> Result<Vec<u8>, Base64Error> {
        decode(text)
    }

    /// [`encode`].
    pub fn encode(self, bytes: impl AsRef<[u8]>) -> String {
        encode(bytes)
    }
}

/// Decodes strict standard base64.
///
/// # Errors
/// The [`Base64Error`] the `base64` crate's `STANDARD` engine gives for the same text: checked
/// in its order, so that the first fault it names is the one named here.
pub fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, Base64Error> {
    let text = text.as_ref();
    let rem = text.len() % 4;
    // A lone symbol after the whole quads is looked at first.
    if rem == 1
        && let Some(&last) = text.last()
        && last != b'='
        && value(last).is_none()
    {
        return Err(Base64Error::InvalidByte(text.len() - 1, last));
    }
    // Every quad but the last, which may be padded, is four symbols.
    let whole = text
        .len()
        .saturating_sub(rem)
        .saturating_sub(if rem == 0 { 4 } else { 0 });
    // Written in place, three bytes a quad (a call per quad to extend the vector costs more
    // than the decoding in wasm).
    let mut out = alloc::vec![0u8; whole / 4 * 3 + 3];
    let mut at = 0;
    for (q, quad) in text[..whole].chunks_exact(4).enumerate() {
        let sixes = [
            DECODE[usize::from(quad[0])],
            DECODE[usize::from(quad[1])],
            DECODE[usize::from(quad[2])],
            DECODE[usize::from(quad[3])],
        ];
        // One test for the quad; the offset of a bad symbol only when there is one.
        if (sixes[0] | sixes[1] | sixes[2] | sixes[3]) & 0xc0 != 0 {
            let i = sixes.iter().position(|six| *six == INVALID).unwrap_or(0);
            return Err(Base64Error::InvalidByte(q * 4 + i, quad[i]));
        }
        let n = u32::from(sixes[0]) << 18
            | u32::from(sixes[1]) << 12
            | u32::from(sixes[2]) << 6
            | u32::from(sixes[3]);
        if let Some(slot) = out.get_mut(at..at + 3) {
            slot.copy_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
        }
        at += 3;
    }
    out.truncate(at);
    // The last (up to four) symbols and their padding.
    let suffix = &text[whole..];
    let mut morsels = [0u8; 4];
    let (mut count, mut padding, mut first_padding, mut last) = (0usize, 0usize, 0usize, 0u8);
    for (i, &symbol) in suffix.iter().enumerate() {
        if symbol == b'=' {
            if i < 2 {
                return Err(Base64Error::InvalidByte(whole + i, symbol));
            }
            if padding == 0 {
                first_padding = i;
            }
            padding += 1;
            continue;
        }
        if padding > 0 {
            return Err(Base64Error::InvalidByte(whole + first_padding, b'='));
        }
        last = symbol;
        morsels[count] = value(symbol).ok_or(Base64Error::InvalidByte(whole + i, symbol))?;
        count += 1;
    }
    if !text.is_empty() && count < 2 {
        return Err(Base64Error::InvalidLength(whole + count));
    }
    if (padding + count) % 4 != 0 {
        return Err(Base64Error::InvalidPadding);
    }
    let bytes = count * 6 / 8;
    let n = u32::from(morsels[0]) << 26
        | u32::from(morsels[1]) << 20
        | u32::from(morsels[2]) << 14
        | u32::from(morsels[3]) << 8;
    // Bits set past the last byte would give another spelling of the same bytes.
    if n & (u32::MAX >> (bytes * 8)) != 0 {
        return Err(Base64Error::InvalidLastSymbol(whole + count - 1, last));
    }
    out.extend_from_slice(&n.to_be_bytes()[..bytes]);
    Ok(out)
}

/// Encodes as padded standard base64.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    let bytes = bytes.as_ref();
    // Written in place, four symbols a chunk, like `decode`.
    let mut out = alloc::vec![b'='; bytes.len().div_ceil(3) * 4];
    for (chunk, quad) in bytes.chunks(3).zip(out.chunks_exact_mut(4)) {
        let mut n = [0u8; 3];
        n[..chunk.len()].copy_from_slice(chunk);
        let n = u32::from(n[0]) << 16 | u32::from(n[1]) << 8 | u32::from(n[2]);
        for (i, symbol) in quad.iter_mut().enumerate().take(chunk.len() + 1) {
            *symbol = ALPHABET[(n >> (18 - 6 * i) & 63) as usize];
        }
    }
    // Every byte is from the alphabet or `=`, so this never falls back.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use base64::Engine as _;

    /// Every spelling of up to six symbols from an alphabet with each kind of case in it (the
    /// symbols, padding, whitespace, the URL-safe ones, bits past the end): the same bytes or
    /// the same error as the `base64` crate's `STANDARD` engine.
    #[test]
    fn decodes_and_refuses_as_the_base64_crate_does() {
        let symbols = b"AQgw+/=_- \nz9";
        let mut text: Vec<u8> = Vec::new();
        let mut compared = 0usize;
        for length in 0..=6u32 {
            let count = symbols.len().pow(length);
            for mut index in 0..count {
                text.clear();
                for _ in 0..length {
                    text.push(symbols[index % symbols.len()]);
                    index /= symbols.len();
                }
                let theirs = base64::engine::general_purpose::STANDARD.decode(&text);
                let ours = decode(&text);
                match (&ours, &theirs) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "{text:?}"),
                    (Err(a), Err(b)) => {
                        assert_eq!(
                            a.to_string(),
                            b.to_string(),
                            "{:?}",
                            core::str::from_utf8(&text)
                        );
                    }
                    _ => unreachable!(
                        "{:?}: ours {ours:?}, theirs {theirs:?}",
                        core::str::from_utf8(&text)
                    ),
                }
                compared += 1;
            }
        }
        assert!(compared > 5_000_000, "{compared}");
    }

    #[test]
    fn encodes_as_the_base64_crate_does_and_reads_back() {
        let mut bytes = vec![];
        for n in 0u32..600 {
            bytes.push(u8::try_from(n.wrapping_mul(2_654_435_761) >> 24).unwrap_or(0));
            let ours = encode(&bytes);
            assert_eq!(
                ours,
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            );
            assert_eq!(decode(&ours), Ok(bytes.clone()));
        }
    }
}
