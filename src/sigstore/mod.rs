//! Sigstore's trust: bundles, Rekor entries and their proofs, trusted roots, and keyless
//! identities.

pub mod bundle;
pub mod fulcio;
pub mod identity;
pub mod referrer;
pub mod rekor;
pub mod tlog;
pub mod trusted_root;
