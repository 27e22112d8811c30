//! The last policy this instance parsed, kept with its keys' precomputed tables. A host that
//! reuses one instance for many images with one policy (the `ocisig` binary does) parses the
//! policy once; a different policy simply replaces it. The key is the exact policy bytes, so a
//! cached policy is only ever used for the very document it was parsed from.

use std::cell::RefCell;
use std::rc::Rc;

use ocisig::{Policy, Verdict};

thread_local! {
    static LAST: RefCell<Option<(Vec<u8>, Rc<Policy>)>> = const { RefCell::new(None) };
}

/// The parsed policy for `bytes`, from the cache or freshly parsed (and then cached); the
/// denial when it does not parse (never cached).
#[allow(clippy::result_large_err)]
pub(crate) fn policy(bytes: &[u8]) -> Result<Rc<Policy>, Verdict> {
    if let Some(policy) = LAST.with_borrow(|last| {
        last.as_ref()
            .filter(|(cached, _)| cached.as_slice() == bytes)
            .map(|(_, policy)| Rc::clone(policy))
    }) {
        return Ok(policy);
    }
    let policy = Rc::new(ocisig::policy_from_json(bytes)?);
    LAST.set(Some((bytes.to_vec(), Rc::clone(&policy))));
    Ok(policy)
}
