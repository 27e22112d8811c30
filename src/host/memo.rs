//! Parse once, use many times: the last documents a host parsed, kept by their exact bytes.
//!
//! Hosts hand an adapter the same policy (or Kubewarden settings) document again and again,
//! or, for a policy set, the few policies of the rules an image matches in turn. Parsing one
//! (PEM keys, every rule) costs more than most verifications, and a parsed policy carries its
//! keys' precomputed tables, so adapters keep the last [`KEPT`]. The key is the exact bytes,
//! so a kept value is only ever used for the very document it was parsed from; a new document
//! replaces the one used least recently, and one that does not parse is never kept.

use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;

/// How many parsed documents are kept.
pub const KEPT: usize = 8;

/// The last values parsed, with the bytes each was parsed from, the most recently used first.
#[derive(Debug, Default)]
pub struct LastParsed<T> {
    last: RefCell<Vec<(Vec<u8>, Rc<T>)>>,
}

impl<T> LastParsed<T> {
    /// Empty.
    pub const fn new() -> Self {
        Self {
            last: RefCell::new(Vec::new()),
        }
    }

    /// The value parsed from `bytes`: the kept one when `bytes` are the same, else
    /// `parse(bytes)`, which is then kept.
    ///
    /// # Errors
    /// `parse`'s error, which leaves the kept value as it was.
    pub fn get_or_parse<E>(
        &self,
        bytes: &[u8],
        parse: impl FnOnce(&[u8]) -> Result<T, E>,
    ) -> Result<Rc<T>, E> {
        let mut last = self.last.borrow_mut();
        if let Some(at) = last.iter().position(|(kept, _)| kept.as_slice() == bytes) {
            let entry = last.remove(at);
            let value = Rc::clone(&entry.1);
            last.insert(0, entry);
            return Ok(value);
        }
        // Not borrowed while parsing, which may take long; nothing else runs meanwhile.
        drop(last);
        let value = Rc::new(parse(bytes)?);
        let mut last = self.last.borrow_mut();
        last.truncate(KEPT - 1);
        last.insert(0, (bytes.to_vec(), Rc::clone(&value)));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_once_per_distinct_document_and_never_keeps_a_failure() {
        let memo = LastParsed::new();
        let calls = core::cell::Cell::new(0);
        let parse = |bytes: &[u8]| {
            calls.set(calls.get() + 1);
            if bytes.is_empty() {
                Err("empty")
            } else {
                Ok(bytes.len())
            }
        };
        let first = memo.get_or_parse(b"abc", parse);
        let again = memo.get_or_parse(b"abc", parse);
        assert!(matches!((&first, &again), (Ok(a), Ok(b)) if Rc::ptr_eq(a, b)));
        assert_eq!(calls.get(), 1);
        assert_eq!(memo.get_or_parse(b"", parse), Err("empty"));
        // The failure did not replace the kept value.
        assert_eq!(memo.get_or_parse(b"abc", parse).map(|v| *v), Ok(3));
        assert_eq!(calls.get(), 2);
        assert_eq!(memo.get_or_parse(b"abcd", parse).map(|v| *v), Ok(4));
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn keeps_the_last_few_and_drops_the_least_recently_used() {
        let memo = LastParsed::new();
        let calls = core::cell::Cell::new(0);
        let parse = |bytes: &[u8]| {
            calls.set(calls.get() + 1);
            Ok::<usize, ()>(bytes.len())
        };
        let documents: Vec<Vec<u8>> = (0..=KEPT).map(|n| alloc::vec![0u8; n + 1]).collect();
        for document in &documents[..KEPT] {
            let _ = memo.get_or_parse(document, parse);
        }
        // All kept: the first again parses nothing, and becomes the most recent.
        let _ = memo.get_or_parse(&documents[0], parse);
        assert_eq!(calls.get(), KEPT);
        // One more: the least recently used (the second) goes.
        let _ = memo.get_or_parse(&documents[KEPT], parse);
        let _ = memo.get_or_parse(&documents[0], parse);
        assert_eq!(calls.get(), KEPT + 1);
        let _ = memo.get_or_parse(&documents[1], parse);
        assert_eq!(calls.get(), KEPT + 2);
    }
}
