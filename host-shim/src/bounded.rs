//! Bounded reads: the one way the shim reads a body or a file whose size it does not control.

use std::io::{self, Read};

/// Reads at most `limit` bytes, and stops there: what lies beyond is never read.
///
/// # Errors
/// The reader's I/O error.
pub fn read_up_to(reader: impl Read, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads all of a source that must hold at most `limit` bytes; `Ok(None)` when it holds more,
/// found by reading one byte past the limit and no further.
///
/// # Errors
/// The reader's I/O error.
pub fn read_within(reader: impl Read, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let bytes = read_up_to(reader, limit.saturating_add(1))?;
    Ok((u64::try_from(bytes.len()).unwrap_or(u64::MAX) <= limit).then_some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_reads_past_the_limit() {
        let mut source: &[u8] = b"abcdef";
        assert_eq!(read_up_to(&mut source, 4).unwrap(), b"abcd");
        assert_eq!(source, b"ef", "the rest stays unread");
        let mut source: &[u8] = b"abcdef";
        assert_eq!(read_within(&mut source, 4).unwrap(), None);
        assert_eq!(source, b"f", "one byte past the limit, no more");
        assert_eq!(read_within(&b"abc"[..], 4).unwrap(), Some(b"abc".to_vec()));
        assert_eq!(
            read_within(&b"abcd"[..], 4).unwrap(),
            Some(b"abcd".to_vec())
        );
    }
}
