//! The last policy this instance parsed, kept with its keys' precomputed tables
//! ([`ocisig::host::memo`]). A host that reuses one instance for many images with one policy (the
//! `ocisig` binary does) parses the policy once; a different policy simply replaces it.

use std::rc::Rc;

use ocisig::host::memo::LastParsed;
use ocisig::{Policy, Verdict};

thread_local! {
    static LAST: LastParsed<Policy> = const { LastParsed::new() };
}

/// The parsed policy for `bytes`, from the cache or freshly parsed (and then cached); the
/// denial when it does not parse (never cached).
#[allow(clippy::result_large_err)]
pub(crate) fn policy(bytes: &[u8]) -> Result<Rc<Policy>, Verdict> {
    LAST.with(|last| last.get_or_parse(bytes, ocisig::policy_from_json))
}
