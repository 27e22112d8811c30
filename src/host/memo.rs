//! Parse once, use many times: the last document a host parsed, kept by its exact bytes.
//!
//! Hosts hand an adapter the same policy (or Kubewarden settings) document again and again.
//! Parsing it (PEM keys, every rule) costs more than most verifications, and a parsed policy
//! carries its keys' precomputed tables, so adapters keep the last one. The key is the exact
//! bytes, so a kept value is only ever used for the very document it was parsed from; a
//! different document replaces it, and one that does not parse is never kept.

use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;

/// The last value parsed, with the bytes it was parsed from.
#[derive(Debug, Default)]
pub struct LastParsed<T> {
    last: RefCell<Option<(Vec<u8>, Rc<T>)>>,
}

impl<T> LastParsed<T> {
    /// Empty.
    pub const fn new() -> Self {
        Self {
            last: RefCell::new(None),
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
        let kept = self
            .last
            .borrow()
            .as_ref()
            .filter(|(kept_bytes, _)| kept_bytes.as_slice() == bytes)
            .map(|(_, value)| Rc::clone(value));
        if let Some(value) = kept {
            return Ok(value);
        }
        let value = Rc::new(parse(bytes)?);
        *self.last.borrow_mut() = Some((bytes.to_vec(), Rc::clone(&value)));
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
}
